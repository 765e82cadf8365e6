/**
 * What the kit needs of a machine, and the clock it builds machines on.
 *
 * The kit never imports a machine package (the layering rule: a test kit sits beside
 * plugins, below machines), so the calling test hands it a factory. Every Plugboard machine
 * (`PlugboardMachine` in @plugboard/machines) is a qdev Machine with a GuestView; a plugin's
 * own test board only needs the same two things.
 */
import { Clock, type ClockHost, type Machine } from '@plugboard/qdev';
import type { GuestView, PCIBus } from '@plugboard/pci-core';

/** A qdev Machine plus the guest-visible interface; `pciRoots` (host bridge order = PCI domain) when known. */
export type GuestMachine = Machine & {
  readonly guestView: GuestView;
  readonly pciRoots?: readonly PCIBus[];
};

export interface MachineFactoryContext {
  /**
   * The clock the machine must be built on (MachineCreateContext.clock). It never runs by
   * itself: the harness moves it, so a contract run is synchronous and repeatable.
   */
  clock: Clock;
}

/**
 * Builds a fresh machine: board, cold-plugged devices, `finishInit()` done, not started
 * (like `-S`). Called once per contract case.
 */
export type MachineFactory = (ctx: MachineFactoryContext) => GuestMachine;

/**
 * A host that never schedules anything: time moves only through `Clock.advance`, so nothing
 * runs behind the test's back between two statements (a running VM's clock would otherwise
 * fire timers from setImmediate).
 */
const stillHost: ClockHost = {
  immediate: () => {},
  after: () => ({ clear: () => {} }),
  wallNs: () => 0,
};

/** A virtual clock driven only by the harness, with event timestamps starting at the epoch. */
export function manualClock(): Clock {
  return new Clock({ mode: 'virtual', host: stillHost, epochMicros: 0 });
}
