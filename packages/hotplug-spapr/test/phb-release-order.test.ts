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

/**
 * Releasing a hot-added PHB that carries a pci-bridge with a function behind it, with no guest
 * (prelaunch, and running with SLOF only): released at once. QEMU 7.2's order: the PHB's 256
 * connectors (devfn 255 down, the bridge's own among them), the function behind the bridge, the
 * bridge's 256 connectors in its property-table hash order (finalized as its children), the
 * bridge, the TCE tables, the PHB (fixtures/qemu-7.2-ppc/phb-bridge*.json).
 */
describe('PHB with a bridge: DEVICE_DELETED order equals QEMU 7.2', () => {
  const paths = (l: unknown[][]) => l.filter(([n]) => n === 'DEVICE_DELETED').map(([, d]) => (d as { path: string }).path);
  for (const [name, phb, bridge, fn] of [['phb-bridge', 'phb1', 'br1', 'nb'], ['phb-bridge-cont', 'phb2', 'br2', 'nb2']] as const) {
    it(`${name}: device_del ${phb}`, () => {
      const del = replay(name).find(({ qemu }) => qemu.send?.execute === 'device_del' && (qemu.send.arguments as { id: string }).id === phb)!;
      const ours = paths(eventList(del.ours.events));
      const qemu = paths(eventList(del.qemu.events));
      const P = `/machine/peripheral/${phb}`;
      const B = `/machine/peripheral/${bridge}`;
      expect(ours.length).toBe(517);
      expect(ours.slice(0, 256).every((p) => p.startsWith(`${P}/dr-connector[`))).toBe(true);
      expect(ours[256]).toBe(`/machine/peripheral/${fn}`);
      expect(ours.slice(257, 513).every((p) => p.startsWith(`${B}/dr-connector[`))).toBe(true);
      expect(ours.slice(513)).toEqual([B, `${P}/tce-table-${(0x80000000 + Number(phb.slice(3)) * 0x100).toString(16)}`, `${P}/tce-table-${(0x80000001 + Number(phb.slice(3)) * 0x100).toString(16)}`, P]);
      // The bridge's connectors are not in devfn order but in its property table's hash order.
      const bridgeDrcs = ours.slice(257, 513).map((p) => Number(/\[(\d+)\]$/.exec(p)![1]));
      expect(bridgeDrcs).not.toEqual([...bridgeDrcs].sort((a, b) => b - a));
      expect(ours).toEqual(qemu);
      // Pending nothing: the PHB and everything under it is gone.
      expect(del.ours.reply).toEqual({ return: {} });
    });
  }
});
