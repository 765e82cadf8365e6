/**
 * One call for the server: run the firmware and boot the OS when the VM first runs
 * (QEMU's `cont` after `-S`), and again after every system reset.
 */
import { FirmwarePanic } from './firmware/regions.js';
import { runFirmware, type FirmwareOptions, type FirmwareResult } from './firmware/seabios.js';
import { LinuxGuest, type LinuxGuestOptions } from './os/linux.js';
import { bindPowerCycle, type MachineLike } from './power-cycle.js';

export type { MachineLike } from './power-cycle.js';

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
  let panicked: string | undefined;
  const detach = bindPowerCycle(machine, guest, () => {
    try {
      firmware = runFirmware(machine.guestView, opts.firmware);
    } catch (e) {
      // The firmware halted (e.g. out of I/O space): the VM runs, nothing boots.
      if (!(e instanceof FirmwarePanic)) throw e;
      firmware = undefined;
      opts.firmware?.log?.(e.message);
      panicked = e.message;
      return undefined;
    }
    panicked = undefined;
    return guest.sched.after(opts.kernelStartMs ?? DEFAULT_KERNEL_START_MS, 'kernel-start', () => guest.boot());
  });
  return {
    guest,
    get firmware() {
      return firmware;
    },
    get firmwarePanic() {
      return panicked;
    },
    detach,
  };
}
