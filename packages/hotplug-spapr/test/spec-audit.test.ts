/**
 * Audit against spec/spapr-drc.md §2–§3 (QEMU 7.2): the transitions and RTAS return codes that
 * drc-state.test.ts and rtas.test.ts did not pin down yet, and RTAS power-off and system-reboot
 * (hw/ppc/spapr_rtas.c rtas_power_off, rtas_system_reboot; observed through qtest,
 * fixtures/qemu-7.2-ppc/power-off*.json, system-reboot*.json).
 */
import { describe, expect, it } from 'vitest';
import { spaprConstants as K } from '../src/index.js';

type RtasCallName = K.RtasCallName;
import { buildPseries, type Board } from './board.js';
import { configure } from './cc.js';

const call = (b: Board, name: RtasCallName, args: number[], nret: number) => b.gv.rtas(K.rtasToken(name), args, nret);
const rc = (b: Board, name: RtasCallName, args: number[], nret: number) => call(b, name, args, nret)[0];
const S = (b: Board, i: number) => K.SPAPR_DRC_STATE_NAMES[b.spapr.drcByIndex(i)!.state];
const reset = (b: Board) => b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
const names = (b: Board) => b.events.splice(0).map((e) => (e.name === 'DEVICE_DELETED' ? (e.data!.path as string) : e.name));
const N4 = 0x40000020;
const CORE1 = 0x10000001;

describe('power-off (spapr_rtas.c rtas_power_off)', () => {
  it('-3 unless exactly 2 arguments and 1 return (QEMU: 0xfffffffd), nothing else happens', () => {
    const b = buildPseries();
    b.machine.cont();
    b.events.splice(0);
    expect(call(b, 'power-off', [0xffffffff], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'power-off', [0xffffffff, 0xffffffff], 2)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'power-off', [0xffffffff, 0xffffffff, 0], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect([b.events.length, b.machine.runState]).toEqual([0, 'running']);
  });

  it('success: a guest shutdown request; the host decides (SHUTDOWN, then exit or stop)', () => {
    const b = buildPseries();
    b.machine.cont();
    b.events.splice(0);
    const asked: unknown[] = [];
    b.machine.onShutdownRequest((c) => asked.push(c));
    expect(call(b, 'power-off', [0xffffffff, 0xffffffff], 1)).toEqual([K.RTAS_OUT_SUCCESS]);
    expect(asked).toEqual([{ guest: true, reason: 'guest-shutdown' }]);
  });

  it('without a host: SHUTDOWN {guest: true}, then STOP and the shutdown run state; cont refused until a reset', () => {
    const b = buildPseries();
    b.machine.cont();
    b.events.splice(0);
    expect(call(b, 'power-off', [0, 0], 1)).toEqual([0]);
    expect(b.events.splice(0).map((e) => [e.name, e.data])).toEqual([['SHUTDOWN', { guest: true, reason: 'guest-shutdown' }], ['STOP', undefined]]);
    expect(b.machine.runState).toBe('shutdown');
    expect(() => b.machine.cont()).toThrow('Resetting the Virtual Machine is required');
    reset(b);
    expect(b.machine.runState).toBe('prelaunch');
    b.machine.cont();
    expect(b.machine.runState).toBe('running');
  });
});

describe('system-reboot (spapr_rtas.c rtas_system_reboot)', () => {
  it('-3 unless no argument and exactly 1 return (QEMU: 0xfffffffd), nothing else happens', () => {
    const b = buildPseries();
    b.machine.cont();
    b.events.splice(0);
    expect(call(b, 'system-reboot', [0], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'system-reboot', [], 2)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'system-reboot', [], 0)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect([b.events.length, b.machine.runState]).toEqual([0, 'running']);
  });

  it('success: RESET {guest: true, reason: guest-reset}, the run state kept, pending unplugs completed', () => {
    const b = buildPseries({ devices: [{ driver: 'e1000', id: 'c3', addr: '3' }] });
    expect(call(b, 'system-reboot', [], 1)).toEqual([K.RTAS_OUT_SUCCESS]);
    expect(b.events.splice(0).map((e) => [e.name, e.data])).toEqual([['RESET', { guest: true, reason: 'guest-reset' }]]);
    expect(b.machine.runState).toBe('prelaunch');
    b.machine.cont();
    b.events.splice(0);
    expect(b.del('c3')).toBe('ok');
    expect(names(b)).toEqual([]);
    expect(call(b, 'system-reboot', [], 1)).toEqual([K.RTAS_OUT_SUCCESS]);
    expect(names(b)).toEqual(['RESET', '/machine/peripheral/c3']);
    expect(b.machine.runState).toBe('running');
  });

  it('reboot action shutdown (-no-reboot): SHUTDOWN {guest: true, reason: guest-reset}, no reset', () => {
    const b = buildPseries();
    b.machine.cont();
    b.events.splice(0);
    b.machine.rebootAction = 'shutdown';
    const asked: unknown[] = [];
    b.machine.onShutdownRequest((c) => asked.push(c));
    expect(call(b, 'system-reboot', [], 1)).toEqual([K.RTAS_OUT_SUCCESS]);
    expect([asked, b.events.length]).toEqual([[{ guest: true, reason: 'guest-reset' }], 0]);
  });
});

describe('§2 transitions not covered elsewhere', () => {
  it('physical: attach (hot) stays POWERON; isolate in POWERON with a device succeeds and changes nothing', () => {
    const b = buildPseries();
    b.add({ driver: 'e1000', id: 'n4', addr: '4' });
    expect(S(b, N4)).toBe('PHYSICAL_POWERON');
    expect(rc(b, 'set-indicator', [9001, N4, 0], 1)).toBe(0);
    expect([S(b, N4), b.spapr.drcByIndex(N4)!.dev?.id]).toEqual(['PHYSICAL_POWERON', 'n4']);
  });

  it('physical: configure-connector in POWERON is -9003; from CONFIGURED it replays and stays CONFIGURED', () => {
    const b = buildPseries({ devices: [{ driver: 'e1000', id: 'c4', addr: '4' }] });
    expect(configure(b, N4).codes.at(-1)).toBe(0);
    expect(S(b, N4)).toBe('PHYSICAL_CONFIGURED');
    rc(b, 'set-indicator', [9001, N4, 0], 1);
    expect(configure(b, N4).codes).toEqual([K.SPAPR_DR_CC_RESPONSE_NOT_CONFIGURABLE]);
  });

  it('logical: configure-connector in UNUSABLE or AVAILABLE is -9003', () => {
    const b = buildPseries({ smp: { cpus: 1, maxCpus: 2 } });
    b.add({ driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1' } as never);
    expect(configure(b, CORE1).codes).toEqual([K.SPAPR_DR_CC_RESPONSE_NOT_CONFIGURABLE]);
    rc(b, 'set-indicator', [9003, CORE1, 1], 1);
    expect(S(b, CORE1)).toBe('LOGICAL_AVAILABLE');
    expect(configure(b, CORE1).codes).toEqual([K.SPAPR_DR_CC_RESPONSE_NOT_CONFIGURABLE]);
  });

  it('logical: an unplug request in UNUSABLE (never acquired) releases at once', () => {
    const b = buildPseries({ smp: { cpus: 1, maxCpus: 2 } });
    b.add({ driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1' } as never);
    expect(b.del('core1')).toBe('ok');
    expect(b.deleted().at(-1)).toBe('/machine/peripheral/core1');
    expect([S(b, CORE1), b.spapr.drcByIndex(CORE1)!.dev]).toEqual(['LOGICAL_UNUSABLE', undefined]);
  });

  it('logical reset: a hot-added device becomes CONFIGURED, an empty connector UNUSABLE', () => {
    const b = buildPseries({ smp: { cpus: 1, maxCpus: 4 } });
    b.add({ driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1' } as never);
    rc(b, 'set-indicator', [9003, CORE1, 1], 1);
    rc(b, 'set-indicator', [9001, CORE1, 1], 1);
    expect(S(b, CORE1)).toBe('LOGICAL_UNISOLATE');
    reset(b);
    expect([S(b, CORE1), S(b, 0x10000002)]).toEqual(['LOGICAL_CONFIGURED', 'LOGICAL_UNUSABLE']);
  });

  it('reset with unplugs pending: cores and DIMMs go before RESET, PCI functions after it (RCU)', () => {
    const b = buildPseries({ smp: { cpus: 1, maxCpus: 2 }, devices: [{ driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1' }, { driver: 'e1000', id: 'c4', addr: '4' }] });
    b.del('core1');
    b.del('c4');
    b.events.splice(0);
    reset(b);
    expect(names(b)).toEqual([
      '/machine/peripheral/core1/thread[0]/icp', '/machine/peripheral/core1/thread[0]/xive-tctx', '/machine/peripheral/core1/thread[0]', '/machine/peripheral/core1',
      'RESET', '/machine/peripheral/c4',
    ]);
    // Outside a reset the same release sends DEVICE_DELETED at once (at the guest's isolate).
    b.add({ driver: 'e1000', id: 'c5', addr: '5' });
    reset(b);
    b.events.splice(0);
    b.del('c5');
    expect(rc(b, 'set-indicator', [9001, 0x40000028, 0], 1)).toBe(0);
    expect(names(b)).toEqual(['/machine/peripheral/c5']);
  });
});

describe('§3 return codes, one place each', () => {
  it('every code a 7.2 DRC call returns', () => {
    const b = buildPseries({ devices: [{ driver: 'e1000', id: 'c4', addr: '4' }] });
    const BUF = 0x20000;
    // 0 success, 1 no errors found
    expect(rc(b, 'get-sensor-state', [9003, N4], 2)).toBe(K.RTAS_OUT_SUCCESS);
    expect(rc(b, 'check-exception', [0x500, 0x1000, 0x40000000, 0, BUF, 2048], 1)).toBe(K.RTAS_OUT_NO_ERRORS_FOUND);
    // -1 hardware error (an LMB isolated without an unplug) and -1 from configure-connector
    // (fragment build failed): drc-state.test.ts 'LMB: isolation is refused...', cas.test.ts.
    // -3: bad counts, unknown index, unsupported sensor, bad value
    expect(rc(b, 'set-indicator', [9001, N4], 1)).toBe(K.RTAS_OUT_PARAM_ERROR);
    expect(rc(b, 'set-indicator', [9001, 0x4000ffff, 0], 1)).toBe(K.RTAS_OUT_NO_SUCH_INDICATOR);
    expect(rc(b, 'get-sensor-state', [9, 0], 2)).toBe(K.RTAS_OUT_NOT_SUPPORTED);
    expect(rc(b, 'set-indicator', [9001, N4, 7], 1)).toBe(K.RTAS_OUT_PARAM_ERROR);
    expect([K.RTAS_OUT_PARAM_ERROR, K.RTAS_OUT_NO_SUCH_INDICATOR, K.RTAS_OUT_NOT_SUPPORTED]).toEqual([-3, -3, -3]);
    // configure-connector: -9003 not configurable (POWERON after an isolate)
    rc(b, 'set-indicator', [9001, N4, 0], 1);
    expect(configure(b, N4).codes).toEqual([-9003]);
    // -2 busy and -9002 not authorized: no DRC call of 7.2 returns them (spapr_drc.c, spapr_rtas.c).
    expect([K.RTAS_OUT_BUSY, K.RTAS_OUT_NOT_AUTHORIZED]).toEqual([-2, -9002]);
  });
});
