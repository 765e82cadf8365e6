import { describe, expect, it } from 'vitest';
import { addMemoryBackend } from '../../../../packages/hotplug-spapr/src/index.js';
import { booted } from './spapr-board.js';

const CORE1 = 0x10000001;
const smp = { smp: { cpus: 1, maxCpus: 4 } };
const mem = { ramSize: 2 ** 30, maxRamSize: 2 ** 31, ramSlots: 4, beforeDevices: (m: Parameters<typeof addMemoryBackend>[0]) => void addMemoryBackend(m, 'mem1', 2 ** 29) };

describe('CPU core DLPAR in the guest kernel (hotplug-cpu.c)', () => {
  it('device_add: acquire, configure-connector under /cpus, start the thread', () => {
    const r = booted(smp);
    const from = r.trace.length;
    r.add({ driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1' } as never);
    r.settle();
    const seq = r.rtasCalls(from).filter(([n]) => n !== 'ibm,configure-connector');
    expect(seq).toEqual([
      ['check-exception', [0x500, 0x1001, 0x10000000, 0, 0x01000000, 2048], [0]],
      ['get-sensor-state', [9003, CORE1], [0, 2]],
      ['set-indicator', [9003, CORE1, 1], [0]],
      ['set-indicator', [9001, CORE1, 1], [0]],
      ['query-cpu-stopped-state', [1], [0, 0]],
      ['start-cpu', [1, 0x60, 1], [0]],
    ]);
    expect(r.g.platform.commands).toEqual([]); // in-kernel, no user space
    expect(r.g.platform.dt!.child('cpus')!.children.map((c) => c.name)).toEqual(['PowerPC,POWER9@0', 'PowerPC,POWER9@1']);
    expect([...r.g.dlpar.online]).toEqual([0, 1]);
  });

  it('device_del: offline (stop-self), release, DEVICE_DELETED for the threads and the core', () => {
    const r = booted(smp);
    r.add({ driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1' } as never);
    r.settle();
    const from = r.trace.length;
    r.del('core1');
    r.settle();
    expect(r.rtasCalls(from)).toEqual([
      ['check-exception', [0x500, 0x1001, 0x10000000, 0, 0x01000000, 2048], [0]],
      ['stop-self', [], []],
      ['query-cpu-stopped-state', [1], [0, 0]],
      ['get-sensor-state', [9003, CORE1], [0, 1]],
      ['set-indicator', [9001, CORE1, 0], [0]],
      ['set-indicator', [9003, CORE1, 0], [0]],
    ]);
    expect(r.timed.map((e) => [e.name, e.data?.path])).toEqual([
      ['DEVICE_DELETED', '/machine/peripheral/core1/thread[0]/icp'],
      ['DEVICE_DELETED', '/machine/peripheral/core1/thread[0]/xive-tctx'],
      ['DEVICE_DELETED', '/machine/peripheral/core1/thread[0]'],
      ['DEVICE_DELETED', '/machine/peripheral/core1'],
    ]);
  });

  it('a guest that keeps its CPU: the unisolate hint -> DEVICE_UNPLUG_GUEST_ERROR', () => {
    const r = booted({ ...smp, devices: [{ driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 2, id: 'core2' }] }, { refuse: { cpu: true } });
    const from = r.trace.length;
    r.del('core2');
    r.settle();
    expect(r.rtasCalls(from).slice(1)).toEqual([
      ['get-sensor-state', [9003, 0x10000002], [0, 1]],
      ['set-indicator', [9001, 0x10000002, 1], [0]],
    ]);
    expect(r.timed.map((e) => [e.name, e.data])).toEqual([['DEVICE_UNPLUG_GUEST_ERROR', { device: 'core2', path: '/machine/peripheral/core2' }]]);
    expect(r.g.guest.klog.texts()).toContain('pseries-hotplug-cpu: Failed to offline CPU PowerPC,POWER9, rc: -16');
    // A second request goes to the guest again.
    expect(r.del('core2')).toBe('ok');
  });
});

describe('memory DLPAR in the guest kernel (hotplug-memory.c)', () => {
  it('device_add pc-dimm: indexed-count add, one acquire and configure-connector per LMB', () => {
    const r = booted(mem);
    const from = r.trace.length;
    r.add({ driver: 'pc-dimm', id: 'dimm1', memdev: 'mem1' } as never);
    r.settle();
    const seq = r.rtasCalls(from).filter(([n]) => n !== 'ibm,configure-connector').map(([n, a]) => [n, ...a]);
    expect(seq).toEqual([
      ['check-exception', 0x500, 0x1001, 0x10000000, 0, 0x01000000, 2048],
      ['get-sensor-state', 9003, 0x80000004], ['set-indicator', 9003, 0x80000004, 1], ['set-indicator', 9001, 0x80000004, 1],
      ['get-sensor-state', 9003, 0x80000005], ['set-indicator', 9003, 0x80000005, 1], ['set-indicator', 9001, 0x80000005, 1],
    ]);
    expect(r.g.guest.klog.texts().filter((l) => l.startsWith('pseries-hotplug-mem'))).toEqual([
      'pseries-hotplug-mem: Attempting to hot-add 2 LMB(s) at index 80000004',
      'pseries-hotplug-mem: Memory at 40000000 (drc index 80000004) was hot-added',
      'pseries-hotplug-mem: Memory at 50000000 (drc index 80000005) was hot-added',
    ]);
  });

  it('device_del: offline both LMBs, then release each; the DIMM goes with the last', () => {
    const r = booted(mem);
    r.add({ driver: 'pc-dimm', id: 'dimm1', memdev: 'mem1' } as never);
    r.settle();
    const from = r.trace.length;
    r.del('dimm1');
    r.settle();
    expect(r.rtasCalls(from).map(([n, a]) => [n, ...a])).toEqual([
      ['check-exception', 0x500, 0x1001, 0x10000000, 0, 0x01000000, 2048],
      ['get-sensor-state', 9003, 0x80000004], ['set-indicator', 9001, 0x80000004, 0], ['set-indicator', 9003, 0x80000004, 0],
      ['get-sensor-state', 9003, 0x80000005], ['set-indicator', 9001, 0x80000005, 0], ['set-indicator', 9003, 0x80000005, 0],
    ]);
    expect(r.timed.map((e) => [e.name, e.data])).toEqual([['DEVICE_DELETED', { device: 'dimm1', path: '/machine/peripheral/dimm1' }]]);
    expect(r.g.guest.klog.texts().filter((l) => l.includes('hot-remove'))).toEqual([
      'pseries-hotplug-mem: Attempting to hot-remove 2 LMB(s) at 80000004',
      'pseries-hotplug-mem: Memory at 40000000 (drc index 80000004) was hot-removed',
      'pseries-hotplug-mem: Memory at 50000000 (drc index 80000005) was hot-removed',
    ]);
  });

  it('a guest that cannot offline the memory: hint, re-add, MEM_UNPLUG_ERROR and DEVICE_UNPLUG_GUEST_ERROR', () => {
    const r = booted(mem, { refuse: { memory: true } });
    r.add({ driver: 'pc-dimm', id: 'dimm1', memdev: 'mem1' } as never);
    r.settle();
    const from = r.trace.length;
    r.del('dimm1');
    r.settle();
    expect(r.rtasCalls(from).filter(([n]) => n !== 'ibm,configure-connector').map(([n, a]) => [n, ...a])).toEqual([
      ['check-exception', 0x500, 0x1001, 0x10000000, 0, 0x01000000, 2048],
      ['get-sensor-state', 9003, 0x80000004], ['set-indicator', 9001, 0x80000004, 1],
    ]);
    expect(r.timed.map((e) => e.name)).toEqual(['MEM_UNPLUG_ERROR', 'DEVICE_UNPLUG_GUEST_ERROR', 'DEVICE_UNPLUG_GUEST_ERROR']);
    expect(r.g.guest.klog.texts()).toContain('pseries-hotplug-mem: Memory indexed-count-remove failed, adding any removed LMBs');
    expect(r.del('dimm1')).toBe('ok');
  });

  it('without the dedicated source (no OV5_HP_EVT): EPOW interrupt, rtas_errd runs drmgr -c mem -a -q 2', () => {
    const r = booted(mem, { hotplugEvents: false });
    const from = r.trace.length;
    r.add({ driver: 'pc-dimm', id: 'dimm1', memdev: 'mem1' } as never);
    r.settle();
    expect(r.rtasCalls(from).slice(0, 2).map(([n, a, rets]) => [n, ...a, ...rets])).toEqual([
      ['get-sensor-state', 9, 0, -3, 0],
      ['check-exception', 0x500, 0x1000, 0x40000000, 0, 0x01000000, 2048, 0],
    ]);
    expect(r.g.platform.commands).toEqual(['drmgr -c mem -a -q 2']);
    expect(r.spapr.drcByIndex(0x80000004)!.state).toBe(4);
    expect(r.spapr.drcByIndex(0x80000005)!.state).toBe(4);
  });
});
