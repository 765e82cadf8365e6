/**
 * When an attached guest runs: at the VM's first start (QEMU's `cont` after `-S`) and again after
 * every system reset. Shared by attachGuest (x86) and attachPseriesGuest.
 */
import type { GuestView } from '@plugboard/pci-core';
import type { Clock, Timer } from '@plugboard/qdev';
import type { LinuxGuest } from './os/linux.js';

/** What attachGuest needs of a machine (PlugboardMachine has all of it). */
export interface MachineLike {
  guestView: GuestView;
  clock: Clock;
  onFirstStart?: (() => void) | undefined;
  /** Machine.onReset, when the machine has one: the guest reboots on system_reset. */
  onReset?(hook: (reason: { guest: boolean; reason: string }) => void): void;
}

/**
 * Runs `power` at the first start and after each reset; a reset first halts the guest (cancelling
 * the kernel start `power` returned, then `halt`). Returns detach: stop reacting, halt the guest.
 */
export function bindPowerCycle(machine: MachineLike, guest: LinuxGuest, power: () => Timer | undefined, halt?: () => void): () => void {
  let attached = true;
  let started = false;
  let kernelStart: Timer | undefined;
  const powerOn = () => {
    if (!attached) return;
    started = true;
    kernelStart = power();
  };
  const powerOff = () => {
    kernelStart?.cancel();
    guest.halt();
    halt?.();
  };
  const previous = machine.onFirstStart;
  machine.onFirstStart = () => {
    previous?.();
    powerOn();
  };
  // A reset reruns the firmware from the reset vector: only once the VM has run at all,
  // and from a clock timer so it happens while (and only when) the VM runs.
  machine.onReset?.((reason) => {
    if (!attached || !started || reason.reason === 'cold') return;
    powerOff();
    guest.sched.defer('reset', powerOn);
  });
  return () => {
    attached = false;
    powerOff();
  };
}
