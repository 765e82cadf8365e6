/** Which machine has which sPAPR platform (attachSpapr registers it; devices look it up at realize). */
import type { Machine } from '@plugboard/qdev';
import type { Spapr } from './spapr.js';

const platforms = new WeakMap<Machine, Spapr>();

export function registerSpapr(machine: Machine, spapr: Spapr): void {
  if (platforms.has(machine)) throw new Error('attachSpapr() called twice for this machine');
  platforms.set(machine, spapr);
}

/** The platform attached to `machine`, if any. */
export function spaprOf(machine: Machine): Spapr | undefined {
  return platforms.get(machine);
}
