/**
 * Every transition of the 7.2 DRC state machine (spec/spapr-drc.md §2), driven through the
 * RTAS calls a guest makes, and the QMP-side requests.
 */
import { describe, expect, it } from 'vitest';
import { addMemoryBackend, spaprConstants as K, type RtasCallName, type SpaprDrc } from '../src/index.js';
import { buildPseries, type Board } from './board.js';
import { configure } from './cc.js';

const call = (b: Board, name: RtasCallName, args: number[], nret: number) => b.gv.rtas(K.rtasToken(name), args, nret)[0];
const isolate = (b: Board, i: number) => call(b, 'set-indicator', [9001, i, 0], 1);
const unisolate = (b: Board, i: number) => call(b, 'set-indicator', [9001, i, 1], 1);
const usable = (b: Board, i: number) => call(b, 'set-indicator', [9003, i, 1], 1);
const unusable = (b: Board, i: number) => call(b, 'set-indicator', [9003, i, 0], 1);
const S = (d: SpaprDrc | undefined) => K.SPAPR_DRC_STATE_NAMES[d!.state];

describe('physical (PCI) DRC', () => {
  const N4 = 0x40000020;
  it('hot-plug leaves POWERON; unisolate needs a device; configure-connector makes it CONFIGURED', () => {
    const b = buildPseries();
    expect(unisolate(b, N4)).toBe(K.RTAS_OUT_NO_SUCH_INDICATOR);
    expect(isolate(b, N4)).toBe(0);
    b.add({ driver: 'e1000', id: 'n4', addr: '4' });
    const drc = b.spapr.drcByIndex(N4);
    expect(S(drc)).toBe('PHYSICAL_POWERON');
    expect(unisolate(b, N4)).toBe(0);
    expect(S(drc)).toBe('PHYSICAL_UNISOLATE');
    expect(unisolate(b, N4)).toBe(0);
    expect(isolate(b, N4)).toBe(K.RTAS_OUT_PARAM_ERROR);
    expect(configure(b, N4).codes.at(-1)).toBe(0);
    expect(S(drc)).toBe('PHYSICAL_CONFIGURED');
    expect(unisolate(b, N4)).toBe(0);
    expect(S(drc)).toBe('PHYSICAL_CONFIGURED');
  });

  it('isolating a CONFIGURED DRC powers it down, and completes a requested unplug', () => {
    const b = buildPseries({ devices: [{ driver: 'e1000', id: 'c4', addr: '4' }] });
    const drc = b.spapr.drcByIndex(N4);
    expect(S(drc)).toBe('PHYSICAL_CONFIGURED');
    expect(isolate(b, N4)).toBe(0);
    expect(S(drc)).toBe('PHYSICAL_POWERON');
    expect(drc!.dev?.id).toBe('c4');
    expect(unisolate(b, N4)).toBe(0);
    configure(b, N4);
    expect(b.del('c4')).toBe('ok');
    expect(b.deleted()).toEqual([]);
    expect(isolate(b, N4)).toBe(0);
    expect(b.deleted()).toEqual(['/machine/peripheral/c4']);
    expect([S(drc), drc!.dev, drc!.unplugRequested]).toEqual(['PHYSICAL_POWERON', undefined, false]);
  });

  it('an unplug request in POWERON releases at once; otherwise it waits; reset releases', () => {
    const b = buildPseries({ devices: [{ driver: 'e1000', id: 'c3', addr: '3' }] });
    b.add({ driver: 'e1000', id: 'n4', addr: '4' });
    expect(b.del('n4')).toBe('ok');
    expect(b.deleted()).toEqual(['/machine/peripheral/n4']);
    expect(b.del('c3')).toBe('ok');
    expect(b.spapr.drcByIndex(0x40000018)!.unplugRequested).toBe(true);
    expect(b.del('c3')).toBe('PCI device unplug already in progress for device c3');
    b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    expect(b.deleted()).toEqual(['/machine/peripheral/c3']);
    expect(S(b.spapr.drcByIndex(0x40000018))).toBe('PHYSICAL_POWERON');
  });

  it('reset makes a hot-plugged device CONFIGURED (as if cold-plugged) and rewinds the cursor', () => {
    const b = buildPseries();
    b.add({ driver: 'e1000', id: 'n4', addr: '4' });
    b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    expect(S(b.spapr.drcByIndex(N4))).toBe('PHYSICAL_CONFIGURED');
    expect(configure(b, N4).codes.at(-1)).toBe(0);
  });

  it('PCI DRCs never report DEVICE_UNPLUG_GUEST_ERROR', () => {
    const b = buildPseries({ devices: [{ driver: 'e1000', id: 'c4', addr: '4' }] });
    b.del('c4');
    expect(unisolate(b, N4)).toBe(0);
    expect(b.events.map((e) => e.name)).toEqual([]);
  });
});

describe('logical DRCs (CPU, LMB, PHB)', () => {
  const CORE1 = 0x10000001;
  const hot = () => {
    const b = buildPseries({ smp: { cpus: 1, maxCpus: 2 } });
    b.add({ driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1' } as never);
    return { b, drc: b.spapr.drcByIndex(CORE1)! };
  };

  it('UNUSABLE -> AVAILABLE -> UNISOLATE -> CONFIGURED, with the refusals on the way', () => {
    const b0 = buildPseries({ smp: { cpus: 1, maxCpus: 2 } });
    expect(usable(b0, CORE1)).toBe(K.RTAS_OUT_NO_SUCH_INDICATOR); // no device
    const { b, drc } = hot();
    expect(S(drc)).toBe('LOGICAL_UNUSABLE');
    expect(unisolate(b, CORE1)).toBe(K.RTAS_OUT_NO_SUCH_INDICATOR);
    expect(isolate(b, CORE1)).toBe(0);
    expect(call(b, 'ibm,configure-connector', [0x10000, 0], 1)).toBeDefined();
    expect(usable(b, CORE1)).toBe(0);
    expect(S(drc)).toBe('LOGICAL_AVAILABLE');
    expect(usable(b, CORE1)).toBe(0);
    expect(isolate(b, CORE1)).toBe(0);
    expect(unisolate(b, CORE1)).toBe(0);
    expect(S(drc)).toBe('LOGICAL_UNISOLATE');
    expect(isolate(b, CORE1)).toBe(K.RTAS_OUT_PARAM_ERROR);
    expect(unusable(b, CORE1)).toBe(K.RTAS_OUT_NO_SUCH_INDICATOR);
    expect(configure(b, CORE1).tree.map((n) => n.node)).toEqual(['PowerPC,POWER9@1']);
    expect(S(drc)).toBe('LOGICAL_CONFIGURED');
    expect(unusable(b, CORE1)).toBe(K.RTAS_OUT_NO_SUCH_INDICATOR);
    expect(usable(b, CORE1)).toBe(0);
    expect(isolate(b, CORE1)).toBe(0);
    expect(S(drc)).toBe('LOGICAL_AVAILABLE');
    expect(unusable(b, CORE1)).toBe(0);
    expect(S(drc)).toBe('LOGICAL_UNUSABLE');
    expect(unusable(b, CORE1)).toBe(0);
  });

  it('release: isolate then unusable completes a requested unplug; usable is refused meanwhile', () => {
    const { b, drc } = hot();
    usable(b, CORE1);
    unisolate(b, CORE1);
    configure(b, CORE1);
    expect(b.del('core1')).toBe('ok');
    expect(b.del('core1')).toBe('ok'); // no "already in progress" for cores: the event is sent again
    expect(isolate(b, CORE1)).toBe(0);
    expect(usable(b, CORE1)).toBe(0); // AVAILABLE: nothing to do
    expect(unusable(b, CORE1)).toBe(0);
    expect(b.deleted()).toEqual(['/machine/peripheral/core1/thread[0]/icp', '/machine/peripheral/core1/thread[0]/xive-tctx', '/machine/peripheral/core1/thread[0]', '/machine/peripheral/core1']);
    expect([S(drc), drc.dev]).toEqual(['LOGICAL_UNUSABLE', undefined]);
  });

  it('usable is refused while an unplug is pending (UNUSABLE with a device)', () => {
    const b = buildPseries({ smp: { cpus: 1, maxCpus: 2 }, devices: [{ driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1' }] });
    const drc = b.spapr.drcByIndex(CORE1)!;
    expect(S(drc)).toBe('LOGICAL_CONFIGURED');
    b.del('core1');
    isolate(b, CORE1);
    drc.state = K.SPAPR_DRC_STATE_LOGICAL_UNUSABLE; // as after a partial release
    expect(usable(b, CORE1)).toBe(K.RTAS_OUT_NO_SUCH_INDICATOR);
  });

  it('unisolating a CONFIGURED core with a pending unplug is the guest refusing: DEVICE_UNPLUG_GUEST_ERROR', () => {
    const b = buildPseries({ smp: { cpus: 1, maxCpus: 2 }, devices: [{ driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1' }] });
    b.del('core1');
    expect(unisolate(b, CORE1)).toBe(0);
    expect(b.events.map((e) => [e.name, e.data])).toEqual([['DEVICE_UNPLUG_GUEST_ERROR', { device: 'core1', path: '/machine/peripheral/core1' }]]);
    expect(b.spapr.drcByIndex(CORE1)!.unplugRequested).toBe(false);
    expect(b.spapr.container.errorLog).toEqual(['Device hotunplug rejected by the guest for device core1']);
  });

  it('LMB: isolation is refused unless the LMB is being unplugged; a refusal rolls the DIMM back', () => {
    const b = buildPseries({
      ramSize: 2 ** 30, maxRamSize: 2 ** 31, ramSlots: 4,
      beforeDevices: (m) => void addMemoryBackend(m, 'm0', 512 << 20),
      devices: [{ driver: 'pc-dimm', id: 'd0', memdev: 'm0' }],
    });
    const [l4, l5] = [0x80000004, 0x80000005];
    expect([S(b.spapr.drcByIndex(l4)), S(b.spapr.drcByIndex(l5))]).toEqual(['LOGICAL_CONFIGURED', 'LOGICAL_CONFIGURED']);
    expect(isolate(b, l4)).toBe(K.RTAS_OUT_HW_ERROR);
    expect(b.del('d0')).toBe('ok');
    expect(b.del('d0')).toBe('Memory unplug already in progress for device d0');
    // Unisolating a CONFIGURED LMB with a pending unplug: rollback (both events), then the
    // DRC's own rejection event.
    expect(unisolate(b, l5)).toBe(0);
    const refusal = [
      ['MEM_UNPLUG_ERROR', { device: 'd0', msg: 'Memory hotunplug rejected by the guest for device d0' }],
      ['DEVICE_UNPLUG_GUEST_ERROR', { device: 'd0', path: '/machine/peripheral/d0' }],
    ];
    expect(b.events.splice(0).map((e) => [e.name, e.data])).toEqual([...refusal, refusal[1]]);
    expect([b.spapr.drcByIndex(l4)!.unplugRequested, b.spapr.drcByIndex(l5)!.unplugRequested]).toEqual([false, false]);
    // Asked again; this time the kernel re-adds an LMB it had isolated (configure-connector).
    expect(b.del('d0')).toBe('ok');
    expect(isolate(b, l4)).toBe(0);
    expect(unisolate(b, l4)).toBe(0); // AVAILABLE -> UNISOLATE: not a refusal by itself
    expect(b.events.length).toBe(0);
    configure(b, l4);
    expect(b.events.splice(0).map((e) => [e.name, e.data])).toEqual(refusal);
    expect(b.del('d0')).toBe('ok');
  });

  it('LMB: the DIMM goes with the release of its last LMB', () => {
    const b = buildPseries({
      ramSize: 2 ** 30, maxRamSize: 2 ** 31, ramSlots: 4,
      beforeDevices: (m) => void addMemoryBackend(m, 'm0', 512 << 20),
      devices: [{ driver: 'pc-dimm', id: 'd0', memdev: 'm0' }],
    });
    b.del('d0');
    for (const i of [0x80000004, 0x80000005]) {
      expect(isolate(b, i)).toBe(0);
      expect(b.deleted()).toEqual([]);
      expect(unusable(b, i)).toBe(0);
    }
    expect(b.deleted()).toEqual(['/machine/peripheral/d0']);
    expect(b.spapr.drcByIndex(0x80000005)!.dev).toBeUndefined();
    expect(b.machine.peripheral.childObjects.has('d0')).toBe(false);
  });

  it('entity sense follows the state: unusable only in UNUSABLE', () => {
    const { b, drc } = hot();
    const sense = () => b.gv.rtas(K.RTAS_GET_SENSOR_STATE, [9003, CORE1], 2)[1];
    expect(sense()).toBe(K.SPAPR_DR_ENTITY_SENSE_UNUSABLE);
    usable(b, CORE1);
    expect(sense()).toBe(K.SPAPR_DR_ENTITY_SENSE_PRESENT);
    unisolate(b, CORE1);
    expect(sense()).toBe(K.SPAPR_DR_ENTITY_SENSE_PRESENT);
    configure(b, CORE1);
    expect([S(drc), sense()]).toEqual(['LOGICAL_CONFIGURED', K.SPAPR_DR_ENTITY_SENSE_PRESENT]);
  });

  it('PHB: a hot-added PHB waits in UNUSABLE; device_del before the guest acquired it removes it', () => {
    const b = buildPseries();
    b.add({ driver: 'spapr-pci-host-bridge', index: 2, id: 'phb2' } as never);
    expect(S(b.spapr.drcByIndex(0x20000002))).toBe('LOGICAL_UNUSABLE');
    expect(b.del('phb2')).toBe('ok');
    const gone = b.deleted();
    expect(gone.length).toBe(259);
    expect(gone.slice(-3)).toEqual(['/machine/peripheral/phb2/tce-table-80000200', '/machine/peripheral/phb2/tce-table-80000201', '/machine/peripheral/phb2']);
    expect(b.spapr.container.select(undefined, K.SPAPR_DR_CONNECTOR_TYPE_PCI).length).toBe(256);
  });
});
