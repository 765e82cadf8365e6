/**
 * One call for the server: run the firmware and boot the OS when the VM first runs
 * (QEMU's `cont` after `-S`), and again after every system reset.
 */
import type { GuestView } from '@plugboard/pci-core';
import type { Clock, Timer } from '@plugboard/qdev';
import { FirmwarePanic } from './firmware/regions.js';
import { runFirmware, type FirmwareOptions, type FirmwareResult } from './firmware/seabios.js';
import { LinuxGuest, type LinuxGuestOptions } from './os/linux.js';

/** What attachGuest needs of a machine (PlugboardMachine has all of it). */
export interface MachineLike {
  guestView: GuestView;
  clock: Clock;
  onFirstStart?: (() => void) | undefined;
  /** Machine.onReset, when the machine has one: the guest reboots on system_reset. */
  onReset?(hook: (reason: { guest: boolean; reason: string }) => void): void;
}

export interface AttachOptions extends Omit<LinuxGuestOptions, 'view' | 'clock'> {
  /** Firmware options (RAM size, fw_cfg values); its debug lines go to `firmware.log`. */
  firmware?: FirmwareOptions;
  /**
   * Guest time (ms) between the firmware and the kernel's first line: SeaBIOS, the boot
   * loader and decompression. Scaled by `slow`. Default 1000.
   */
  kernelStartMs?: number;
}

export interface AttachedGuest {
  readonly guest: LinuxGuest;
  /** What the last firmware run found (undefined before the first start). */
  readonly firmware: FirmwareResult | undefined;
  /** The message the firmware halted with at its last run (SeaBIOS panic), if it did. */
  readonly firmwarePanic: string | undefined;
  /** Stops reacting to start and reset (the guest is halted). */
  detach(): void;
}

export const DEFAULT_KERNEL_START_MS = 1000;

export function attachGuest(machine: MachineLike, opts: AttachOptions = {}): AttachedGuest {
  const guest = new LinuxGuest({ ...opts, view: machine.guestView, clock: machine.clock });
  let firmware: FirmwareResult | undefined;
  let attached = true;
  let started = false;
  let kernelStart: Timer | undefined;
  let panicked: string | undefined;
  const power = () => {
    if (!attached) return;
    started = true;
    try {
      firmware = runFirmware(machine.guestView, opts.firmware);
    } catch (e) {
      // The firmware halted (e.g. out of I/O space): the VM runs, nothing boots.
      if (!(e instanceof FirmwarePanic)) throw e;
      firmware = undefined;
      opts.firmware?.log?.(e.message);
      panicked = e.message;
      return;
    }
    panicked = undefined;
    kernelStart = guest.sched.after(opts.kernelStartMs ?? DEFAULT_KERNEL_START_MS, 'kernel-start', () => guest.boot());
  };
  const halt = () => {
    kernelStart?.cancel();
    guest.halt();
  };
  const previous = machine.onFirstStart;
  machine.onFirstStart = () => {
    previous?.();
    power();
  };
  // A reset reruns the firmware from the reset vector: only once the VM has run at all,
  // and from a clock timer so it happens while (and only when) the VM runs.
  machine.onReset?.((reason) => {
    if (!attached || !started || reason.reason === 'cold') return;
    halt();
    guest.sched.defer('reset', power);
  });
  return {
    guest,
    get firmware() {
      return firmware;
    },
    get firmwarePanic() {
      return panicked;
    },
    detach() {
      attached = false;
      halt();
    },
  };
}
