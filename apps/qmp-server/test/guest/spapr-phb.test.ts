import { describe, expect, it } from 'vitest';
import { booted } from './spapr-board.js';

const PHB1 = 0x20000001;

describe('pseries PHB hotplug with a Linux 6.1 guest (drmgr -c phb)', () => {
  it('device_add spapr-pci-host-bridge: acquire, configure-connector, add_slot; PCI on it works', () => {
    const r = booted();
    const from = r.trace.length;
    r.add({ driver: 'spapr-pci-host-bridge', index: 1, id: 'phb1' } as never);
    r.settle();
    expect(r.g.platform.commands).toEqual(['drmgr -c phb -a -s 0x20000001']);
    const seq = r.rtasCalls(from).filter(([n]) => n !== 'ibm,configure-connector' && !n.endsWith('pci-config'));
    expect(seq).toEqual([
      ['check-exception', [0x500, 0x1001, 0x10000000, 0, 0x01000000, 2048], [0]],
      ['get-sensor-state', [9003, PHB1], [0, 2]],
      ['set-indicator', [9003, PHB1, 1], [0]],
      ['set-indicator', [9001, PHB1, 1], [0]],
    ]);
    const cc = r.rtasCalls(from).filter(([n]) => n === 'ibm,configure-connector').map(([, , rets]) => rets[0]);
    expect([cc[0], cc.at(-1)]).toEqual([2, 0]);
    expect(r.g.platform.phbs.map((p) => p.node.name)).toEqual(['pci@800000020000000', 'pci@800000020000001']);
    expect(r.spapr.drcByIndex(PHB1)!.state).toBe(4); // LOGICAL_CONFIGURED
    r.add({ driver: 'e1000', id: 'p1n', bus: 'phb1.0', addr: '2' });
    r.settle();
    expect(r.g.platform.commands.at(-1)).toBe('drmgr -c pci -a -s 0x40010010 -n -d4 -V');
    expect(r.g.guest.device('0001:00:02.0')?.driver).toBe('e1000');
  });

  it('device_del of the PHB: children removed with 5 s sleeps, isolate, unusable -> DRCs, TCE tables and PHB deleted', () => {
    const r = booted();
    r.add({ driver: 'spapr-pci-host-bridge', index: 1, id: 'phb1' } as never);
    r.settle();
    r.add({ driver: 'e1000', id: 'p1n', bus: 'phb1.0', addr: '2' });
    r.settle();
    const from = r.trace.length;
    const t0 = r.machine.clock.nowNs();
    expect(r.del('phb1')).toBe('ok');
    expect(r.del('phb1')).toBe('PCI Host Bridge unplug already in progress for device phb1');
    r.settle();
    expect(r.g.platform.commands.at(-1)).toBe('drmgr -c phb -r -s 0x20000001');
    expect(r.rtasCalls(from).filter(([n]) => !n.endsWith('pci-config'))).toEqual([
      ['check-exception', [0x500, 0x1001, 0x10000000, 0, 0x01000000, 2048], [0]],
      ['get-sensor-state', [9003, PHB1], [0, 1]],
      ['set-indicator', [9001, PHB1, 0], [0]],
      ['set-indicator', [9003, PHB1, 0], [0]],
      ['get-sensor-state', [9003, PHB1], [0, 2]],
    ]);
    const deleted = r.timed.filter((e) => e.name === 'DEVICE_DELETED');
    expect(deleted.length).toBe(1 + 256 + 2 + 1);
    // QEMU's order (phb-cold.json): the connectors go at once, the card, the TCE tables and the
    // PHB after an RCU grace period.
    expect(deleted.map((e) => e.data!.path).slice(255, 257)).toEqual(['/machine/peripheral/phb1/dr-connector[1073807360]', '/machine/peripheral/p1n']);
    expect(deleted[0]!.data!.path).toBe('/machine/peripheral/phb1/dr-connector[1073807615]');
    expect(deleted.at(-1)!.data).toEqual({ device: 'phb1', path: '/machine/peripheral/phb1' });
    expect((deleted[0]!.t - t0) / 1e6).toBe(5000);
    expect(r.g.guest.device('0001:00:02.0')).toBeUndefined();
  });
});
