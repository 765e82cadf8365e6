/**
 * A pseries machine with the sPAPR backend and a pseries Linux guest, for the end-to-end tests.
 * The board is hotplug-spapr's reference build (what packages/machines' pseries does once it
 * calls attachSpapr); the guest is attached as a pseries platform does it. Both are imported
 * from source so the tests run without a rebuild.
 */
import type { MachineEvent } from '@plugboard/qdev';
import type { TraceRecord } from '@plugboard/pci-core';
import { buildPseries, type Board, type BoardOptions } from '../../../../packages/hotplug-spapr/test/board.js';
import { attachPseriesGuest, type AttachedPseriesGuest, type PseriesGuestOptions } from '../../../../packages/guest/src/index.js';

export interface PseriesRig extends Board {
  g: AttachedPseriesGuest;
  /** Machine events with their virtual time (ns). */
  timed: Array<MachineEvent & { t: number }>;
  /** The RTAS calls of the trace since `from` (index into trace), as [name, args, rets]. */
  rtasCalls(from?: number): Array<[string, number[], number[]]>;
  /** Runs the guest until nothing is left to do. */
  settle(): void;
  nowMs(): number;
}

export function pseriesRig(board: BoardOptions = {}, guest: PseriesGuestOptions = {}): PseriesRig {
  const b = buildPseries(board);
  Object.assign(b.machine, { guestView: b.gv });
  const g = attachPseriesGuest(b.machine as never, guest);
  const timed: Array<MachineEvent & { t: number }> = [];
  b.machine.events.on((e) => timed.push({ ...e, t: b.machine.clock.nowNs() }));
  return {
    ...b,
    g,
    timed,
    rtasCalls: (from = 0) =>
      b.trace.slice(from).filter((r): r is TraceRecord & { name: string; args: number[]; rets: number[] } => r.op === 'rtas').map((r) => [r.name, r.args, r.rets]),
    settle: () => b.machine.clock.runUntilIdle(),
    nowMs: () => b.machine.clock.nowMs(),
  };
}

/** Boots: cont, then the clock runs until the guest is idle. */
export function booted(board: BoardOptions = {}, guest: PseriesGuestOptions = {}): PseriesRig {
  const r = pseriesRig(board, guest);
  r.machine.cont();
  r.settle();
  if (!r.g.guest.booted) throw new Error('guest did not boot');
  r.timed.length = 0;
  return r;
}

export const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;
