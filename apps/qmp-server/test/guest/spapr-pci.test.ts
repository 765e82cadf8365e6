import { describe, expect, it } from 'vitest';
import { booted, pseriesRig } from './spapr-board.js';

const IDX = 0x40000020; // PHB 0, root bus, slot 4 fn 0
const ALL = 0xffffffff;

describe('pseries PCI hotplug with a Linux 6.1 guest (rtas_errd + drmgr -V)', () => {
  it('boots: CAS negotiates the hot-plug source, PHB 0 is scanned through RTAS', () => {
    const r = booted({ devices: [{ driver: 'e1000', id: 'c3', addr: '3' }] });
    expect(r.spapr.cas.ov5.has(0x35)).toBe(true); // OV5_HP_EVT
    expect(r.g.guest.device('0000:00:03.0')?.driver).toBe('e1000');
    const calls = r.rtasCalls().map(([n]) => n);
    expect(new Set(calls)).toEqual(new Set(['ibm,read-pci-config', 'ibm,write-pci-config']));
  });

  it('device_add: hotplug interrupt, check-exception, then drmgr\'s sequence; the e1000 is bound', () => {
    const r = booted();
    const t0 = r.nowMs();
    const from = r.trace.length;
    r.add({ driver: 'e1000', id: 'n4', addr: '4' });
    r.settle();
    expect(r.g.platform.commands).toEqual(['drmgr -c pci -a -s 0x40000020 -n -d4 -V']);
    const seq = r.rtasCalls(from).filter(([n]) => !n.endsWith('pci-config'));
    const cc = seq.filter(([n]) => n === 'ibm,configure-connector');
    expect(seq.filter(([n]) => n !== 'ibm,configure-connector')).toEqual([
      ['check-exception', [0x500, 0x1001, 0x10000000, 0, 0x01000000, 2048], [0]],
      ['set-indicator', [9001, IDX, 0], [0]],
      ['set-power-level', [ALL, 0], [0, 100]],
      ['set-indicator', [9002, IDX, 1], [0]],
      ['get-sensor-state', [9003, IDX], [0, 1]],
      ['set-power-level', [ALL, 100], [0, 100]],
      ['set-indicator', [9001, IDX, 1], [0]],
    ]);
    // One node (next child), its 14 properties, then success.
    expect(cc.map(([, , rets]) => rets[0])).toEqual([2, ...new Array(14).fill(3), 0]);
    expect(seq.indexOf(cc[0]!)).toBe(7);
    // The rescan reaches the new function only (pci_dn), through RTAS.
    const reads = r.rtasCalls(from).filter(([n]) => n === 'ibm,read-pci-config').map(([, a]) => (a[0]! >> 8) & 0xff);
    expect(new Set(reads)).toEqual(new Set([0x20]));
    expect(r.g.guest.device('0000:00:04.0')?.driver).toBe('e1000');
    expect(r.spapr.drcByIndex(IDX)!.state).toBe(8); // PHYSICAL_CONFIGURED
    expect(r.nowMs()).toBe(t0); // no fixed delay on the add path
    expect(r.timed).toEqual([]);
  });

  it('device_del: the remove sequence with drmgr\'s 3 s sleep; DEVICE_DELETED at the isolate', () => {
    const r = booted();
    r.add({ driver: 'virtio-net-pci', id: 'n4', addr: '4' });
    r.settle();
    const from = r.trace.length;
    const t0 = r.machine.clock.nowNs();
    expect(r.del('n4')).toBe('ok');
    expect(r.timed).toEqual([]);
    r.settle();
    const seq = r.rtasCalls(from).filter(([n]) => !n.endsWith('pci-config'));
    expect(seq).toEqual([
      ['check-exception', [0x500, 0x1001, 0x10000000, 0, 0x01000000, 2048], [0]],
      ['set-indicator', [9002, IDX, 1], [0]],
      ['set-indicator', [9001, IDX, 0], [0]],
      ['set-power-level', [ALL, 0], [0, 100]],
    ]);
    expect(r.g.platform.commands.at(-1)).toBe('drmgr -c pci -r -s 0x40000020 -n -d4 -V');
    expect(r.timed.map((e) => [e.name, e.data, (e.t - t0) / 1e6])).toEqual([
      ['DEVICE_DELETED', { path: '/machine/peripheral/n4/virtio-backend' }, 3000],
      ['DEVICE_DELETED', { device: 'n4', path: '/machine/peripheral/n4' }, 3000],
    ]);
    expect(r.g.guest.device('0000:00:04.0')).toBeUndefined();
    // The dr-indicator is left on; the slot can take a new card.
    r.add({ driver: 'e1000', id: 'again', addr: '4' });
    r.settle();
    expect(r.g.guest.device('0000:00:04.0')?.driver).toBe('e1000');
  });

  it('behind a pci-bridge: the DRC index carries the chassis, drmgr finds the slot in the bridge node', () => {
    const r = booted({ devices: [{ driver: 'pci-bridge', id: 'br1', chassis_nr: 3, addr: '6' }] });
    r.add({ driver: 'e1000', id: 'nb', bus: 'br1', addr: '2' });
    r.settle();
    expect(r.g.platform.commands).toEqual(['drmgr -c pci -a -s 0x40000310 -n -d4 -V']);
    expect(r.g.guest.device('0000:01:02.0')?.driver).toBe('e1000');
    r.del('nb');
    r.settle();
    expect(r.timed.map((e) => e.data?.device)).toEqual(['nb']);
  });

  it('a multifunction slot: functions announced with function 0, removed from 7 down to 0', () => {
    const r = booted();
    r.add({ driver: 'e1000', id: 'f1', addr: '8.1' });
    r.settle();
    expect(r.g.platform.commands).toEqual([]);
    r.add({ driver: 'e1000', id: 'f0', addr: '8.0', multifunction: 'on' });
    r.settle();
    expect(r.g.platform.commands).toEqual(['drmgr -c pci -a -s 0x40000040 -n -d4 -V', 'drmgr -c pci -a -s 0x40000041 -n -d4 -V']);
    expect([r.g.guest.device('0000:00:08.0')?.driver, r.g.guest.device('0000:00:08.1')?.driver]).toEqual(['e1000', 'e1000']);
    r.del('f0');
    r.settle();
    expect(r.g.platform.commands.slice(2)).toEqual(['drmgr -c pci -r -s 0x40000041 -n -d4 -V', 'drmgr -c pci -r -s 0x40000040 -n -d4 -V']);
    expect(r.timed.map((e) => e.data?.device)).toEqual(['f1', 'f0']);
  });

  it('no guest running: device_del before CAS completes at once, as in QEMU', () => {
    const r = pseriesRig();
    r.add({ driver: 'e1000', id: 'n4', addr: '4' });
    expect(r.del('n4')).toBe('ok');
    expect(r.timed.map((e) => e.name)).toEqual(['DEVICE_DELETED']);
    r.machine.cont();
    r.settle();
    // The queued events went with CAS; the guest boots without the card.
    expect(r.g.platform.commands).toEqual([]);
    expect(r.g.guest.device('0000:00:04.0')).toBeUndefined();
  });

  it('a card added while SLOF runs is configured by CAS and found by the boot scan', () => {
    const r = pseriesRig();
    r.machine.cont();
    r.add({ driver: 'e1000', id: 'early', addr: '5' });
    r.settle();
    expect(r.g.platform.commands).toEqual([]);
    expect(r.g.guest.device('0000:00:05.0')?.driver).toBe('e1000');
    expect(r.spapr.drcByIndex(0x40000028)!.state).toBe(8);
  });

  it('ignore-unplug: rtas_errd logs the request and drmgr does nothing; the device stays pending', () => {
    const r = booted({ devices: [{ driver: 'e1000', id: 'c3', addr: '3' }] }, { policy: 'ignore-unplug' });
    r.del('c3');
    r.settle();
    expect(r.timed).toEqual([]);
    expect(r.del('c3')).toBe('PCI device unplug already in progress for device c3');
    r.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    // QEMU 7.2 finalizes a PCI function released by the reset after RESET (RCU), as recorded.
    expect(r.timed.map((e) => e.name)).toEqual(['RESET', 'DEVICE_DELETED']);
  });

  it('two runs give the same trace, timestamps included', () => {
    const run = () => {
      const r = booted();
      r.add({ driver: 'e1000', id: 'n4', addr: '4' });
      r.settle();
      r.del('n4');
      r.settle();
      return r.trace;
    };
    expect(run()).toEqual(run());
  });
});
