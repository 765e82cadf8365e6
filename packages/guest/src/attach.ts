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

/**
 * Guest time from a reset to SeaBIOS's reboot request when POST has run before: QEMU 7.2 +
 * SeaBIOS send RESET {guest: true, reason: guest-reset} 29-44 ms after a system_reset of a VM
 * that had booted (30.0 ms in fixtures/qemu-7.2-linux/shpchp-pc.json).
 */
export const FIRMWARE_REBOOT_MS = 30;
const PORT_PCI_REBOOT = 0xcf9;

export function attachGuest(machine: MachineLike, opts: AttachOptions = {}): AttachedGuest {
  const guest = new LinuxGuest({ ...opts, view: machine.guestView, clock: machine.clock });
  let firmware: FirmwareResult | undefined;
  let panicked: string | undefined;
  // SeaBIOS's HaveRunPost lives in RAM, which a reset keeps: entered again after a POST, it
  // takes the resume path, finds no resume to do and reboots the machine properly (src/resume.c
  // handle_resume -> tryReboot; src/fw/shadow.c qemu_reboot restores the BIOS image, clearing the
  // flag, then writes 0x02 and 0x06 to the reset control port).
  let haveRunPost = false;
  const detach = bindPowerCycle(machine, guest, () => {
    if (haveRunPost && opts.firmware?.resetControl) {
      return guest.sched.after(FIRMWARE_REBOOT_MS, 'firmware-reboot', () => {
        haveRunPost = false;
        machine.guestView.ioWrite(PORT_PCI_REBOOT, 0x02, 1);
        machine.guestView.ioWrite(PORT_PCI_REBOOT, 0x06, 1);
      });
    }
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
    haveRunPost = true;
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
