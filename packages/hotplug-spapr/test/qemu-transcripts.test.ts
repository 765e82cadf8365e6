import { describe, expect, it } from 'vitest';
import { eventList, replay, replayQtest } from './replay.js';

/**
 * Every request of the QEMU 7.2 recordings (no guest running), replayed on Plugboard: same
 * replies and the same events. QEMU finalizes PCI devices after an RCU grace period, so their
 * DEVICE_DELETED may follow the reply and even RESET (qdev-hotplug.md §6): RESET is compared
 * apart from the deletions, whose order is compared.
 */
const scenarios = ['drc-qom', 'pci-errors', 'reset-order', 'dr-off', 'phb', 'phb-cold', 'cpu', 'cpu-cold', 'mem', 'mem-cold', 'contract-errors', 'phb-bridge', 'phb-bridge-cont'];
const UNREPLAYED = new Set(['query-pci', 'qom-list-types']);

describe('QMP side equals QEMU 7.2 (fixtures/qemu-7.2-ppc)', () => {
  for (const name of scenarios) {
    it(name, () => {
      for (const { qemu, ours } of replay(name)) {
        const what = `${JSON.stringify(qemu.send)}${qemu.note ? ` (${qemu.note})` : ''}`;
        if (UNREPLAYED.has(qemu.send!.execute!)) continue;
        // QEMU 7.2 crashed here (SIGSEGV: the reset releasing a cold-plugged PHB that carries a bridge).
        if (!qemu.replies.length) continue;
        const q = qemu.replies[0]!;
        if (qemu.send!.execute === 'qom-list' && Array.isArray(q.return) && qemu.send!.arguments!.path !== '/dr-connector') {
          // QOM lists come in hash order; the set of properties is what must match.
          const set = (l: unknown) => new Set((l as Array<{ name: string; type: string }>).map((p) => `${p.name}:${p.type}`));
          const mine = set(ours.reply.return);
          // Non-DRC properties of catalog devices and memory regions are other packages' (or unmodelled).
          const relevant = (p: string) => /^(dr-connector\[|device:|id:|index:|fdt:|thread\[|tce-table-|phb\d\.0:|type:|memdev:|node:|addr:|slot:|size:)/.test(p);
          for (const p of set(q.return)) if (relevant(p)) expect([what, p, mine.has(p)]).toEqual([what, p, true]);
          continue;
        }
        expect([what, ours.reply]).toEqual([what, q]);
        // PCI functions are finalized after an RCU grace period in QEMU: their deletions are
        // compared in their own order, the others (DRCs, TCE tables, PHBs, cores...) in theirs.
        const strip = (l: unknown[][]) => l.filter(([n]) => n !== 'RESET');
        const isPciFn = ([, d]: unknown[]) => /^\/machine\/peripheral(-anon)?\/[^/]+(\/virtio-backend)?$/.test((d as { path?: string }).path ?? '') && !/\/(phb|core|dimm|d0|mem)/.test((d as { path: string }).path);
        for (const pick of [isPciFn, (e: unknown[]) => !isPciFn(e)]) {
          expect([what, strip(eventList(ours.events)).filter(pick)]).toEqual([what, strip(eventList(qemu.events)).filter(pick)]);
        }
        expect([what, eventList(ours.events).some(([n]) => n === 'RESET')]).toEqual([what, eventList(qemu.events).some(([n]) => n === 'RESET')]);
      }
    });
  }
});

/**
 * system_reset with unplugs pending, the whole event sequence as QEMU 7.2 sends it: connectors,
 * CPU cores and DIMMs are finalized in the machine reset (before RESET), PCI functions, TCE
 * tables and PHBs after an RCU grace period (after RESET) — Machine.deferRcuDeletions.
 */
describe('system_reset: RESET among the DEVICE_DELETED events where QEMU 7.2 sends it', () => {
  for (const name of ['reset-order', 'pci-errors', 'phb-cold', 'cpu-cold', 'mem-cold']) {
    it(name, () => {
      const resets = replay(name).filter(({ qemu }) => qemu.send?.execute === 'system_reset');
      expect(resets.length).toBeGreaterThan(0);
      const seq = (l: unknown[][]) => l.map(([n, d]) => (n === 'DEVICE_DELETED' ? (d as { path: string }).path : n));
      for (const { qemu, ours } of resets) expect(seq(eventList(ours.events))).toEqual(seq(eventList(qemu.events)));
    });
  }
});

/**
 * The guest's RTAS calls, recorded through QEMU's qtest socket, replayed through the guest port:
 * same return codes, same replies, same events. DEVICE_DELETED of a PCI function a reset
 * released while the VM runs comes after an RCU grace period that a running vCPU may stretch
 * past the recording's wait: QEMU's must be a prefix of ours (the qom-list after shows it gone).
 */
describe('RTAS through qtest equals QEMU 7.2 (fixtures/qemu-7.2-ppc)', () => {
  for (const name of ['power-off', 'power-off-no-shutdown', 'system-reboot', 'system-reboot-pending', 'system-reboot-no-reboot']) {
    it(name, () => {
      for (const { what, qemu, ours } of replayQtest(name)) {
        if (qemu.rets) expect([what, ours.rets]).toEqual([what, qemu.rets]);
        else if ((qemu.reply as { return?: unknown } | undefined)?.return !== undefined && Array.isArray((qemu.reply as { return: unknown }).return)) {
          // qom-list /machine/peripheral: the same children.
          const set = (l: unknown) => new Set((l as Array<{ name: string }>).map((p) => p.name));
          expect([what, set((ours.reply as { return: unknown }).return)]).toEqual([what, set((qemu.reply as { return: unknown }).return)]);
        } else expect([what, ours.reply]).toEqual([what, qemu.reply]);
        const q = eventList(qemu.events);
        const o = eventList(ours.events);
        const notDeleted = (l: unknown[][]) => l.filter(([n]) => n !== 'DEVICE_DELETED');
        const deleted = (l: unknown[][]) => l.filter(([n]) => n === 'DEVICE_DELETED');
        expect([what, notDeleted(o)]).toEqual([what, notDeleted(q)]);
        expect([what, deleted(o).slice(0, deleted(q).length)]).toEqual([what, deleted(q)]);
        // Where QEMU sent a deletion, it followed RESET, as ours does.
        if (deleted(q).length) expect([what, o.findIndex(([n]) => n === 'RESET') < o.findIndex(([n]) => n === 'DEVICE_DELETED')]).toEqual([what, true]);
      }
    });
  }
});
