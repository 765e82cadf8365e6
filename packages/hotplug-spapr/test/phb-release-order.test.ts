import { describe, expect, it } from 'vitest';
import { eventList, replay } from './replay.js';

/**
 * Releasing a PHB that has a PCI function on it: QEMU 7.2 finalizes the PHB's 256 PCI
 * connectors at once, and the function, the TCE tables and the PHB only after an RCU grace
 * period, so the connectors' DEVICE_DELETED come first (fixtures/qemu-7.2-ppc/phb-cold.json).
 * RESET, which QEMU sends between the two groups, is checked in qemu-transcripts.test.ts.
 */
describe('PHB release: DEVICE_DELETED order equals QEMU 7.2', () => {
  it('connectors (devfn 255 down to 0), then the function, the TCE tables, the PHB', () => {
    const reset = replay('phb-cold').find(({ qemu }) => qemu.send?.execute === 'system_reset')!;
    const paths = (l: unknown[][]) => l.filter(([n]) => n === 'DEVICE_DELETED').map(([, d]) => (d as { path: string }).path);
    const ours = paths(eventList(reset.ours.events));
    const qemu = paths(eventList(reset.qemu.events));
    expect(ours.length).toBe(260);
    expect(ours.slice(0, 1).concat(ours.slice(255))).toEqual([
      '/machine/peripheral/phb2/dr-connector[1073873151]',
      '/machine/peripheral/phb2/dr-connector[1073872896]',
      '/machine/peripheral/n2',
      '/machine/peripheral/phb2/tce-table-80000200',
      '/machine/peripheral/phb2/tce-table-80000201',
      '/machine/peripheral/phb2',
    ]);
    expect(ours).toEqual(qemu);
  });
});
