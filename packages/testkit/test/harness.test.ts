/** The harness's clock, guest and trace plumbing, and the trace checks on bad records. */
import { describe, expect, it } from 'vitest';
import { NS_PER_MS } from '@plugboard/qdev';
import { HotplugHarness, manualClock, registerGuestDriver, traceProblems } from '../src/index.js';
import { toyDriver, toyMachine } from './toy.js';

describe('manualClock', () => {
  it('never runs by itself, even started', async () => {
    const c = manualClock();
    let fired = 0;
    c.setTimer(0, () => fired++);
    c.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toBe(0);
    c.advance(0);
    expect(fired).toBe(1);
  });
});

describe('HotplugHarness', () => {
  it('runUntil stops at the first timer after which the condition holds', () => {
    const h = HotplugHarness.create({ createMachine: ({ clock }) => toyMachine(clock), guest: false });
    let n = 0;
    for (const ms of [5, 10, 15]) h.clock.setTimer(ms * NS_PER_MS, () => n++);
    expect(h.runUntil(() => n === 2, 100)).toBe(true);
    expect(h.clock.nowNs()).toBe(10 * NS_PER_MS);
    expect(h.runUntil(() => n === 9, 20)).toBe(false);
    expect(h.clock.nowNs()).toBe(30 * NS_PER_MS);
    expect(() => h.waitFor(() => false, 1, 'nothing')).toThrow('nothing: not within 1 ms of guest time');
  });

  it('start() boots the guest; the boot-time scan puts cold-plugged devices online', () => {
    const h = HotplugHarness.create({ createMachine: ({ clock }) => toyMachine(clock), guestDrivers: [toyDriver] }).start();
    expect(h.guest?.booted).toBe(true);
    expect(h.isOnline('cold0', 'e1000')).toBe(true);
    expect(h.isOnline('cold0', 'e1000e')).toBe(false);
    expect(h.address(h.device('cold0')!)).toEqual({ domain: 0, bus: 0, devfn: 8 });
    expect(h.events.map((e) => e.name)).toEqual(['RESUME']);
  });

  it('registerGuestDriver tells hotplug drivers from endpoint drivers, and refuses anything else', () => {
    const h = HotplugHarness.create({ createMachine: ({ clock }) => toyMachine(clock) });
    const probed: string[] = [];
    // The MCH: no built-in endpoint driver claims it before this one.
    registerGuestDriver(h.guest!, { name: 'toy-mch', ids: [{ vendor: 0x8086, device: 0x29c0 }], probe: (d: { name: string }) => void probed.push(d.name) });
    h.start();
    expect(probed).toEqual(['0000:00:00.0']);
    expect(() => registerGuestDriver(h.guest!, {})).toThrow(/a guest driver is an object with a name/);
  });
});

describe('traceProblems', () => {
  it('accepts what the guest view writes and names what is wrong', () => {
    expect(traceProblems([
      { t: 0, op: 'cfg-read', bdf: '0000:00:1f.0', off: 0, size: 4, val: 0x29188086 },
      { t: 5, op: 'mmio-write', addr: 0xfed30000, size: 8, val: 1 },
      { t: 5, op: 'irq', kind: 'msi', line: 0x21 },
    ])).toEqual([]);
    const p = traceProblems([
      { t: 10, op: 'io-read', port: 0x7000, size: 3, val: 0 },
      { t: 9, op: 'cfg-write', bdf: '0:0:0.0', off: 4095, size: 2, val: 0x10000 },
      { t: 9, op: 'irq', kind: 'nmi', line: -1 },
    ]);
    expect(p.map((x) => x.replace(/^trace\[(\d)\] .*?: /, '$1: '))).toEqual([
      '0: access size 3',
      '1: time goes back (previous 10)',
      '1: value does not fit 2 byte(s)',
      '1: config offset outside config space',
      '1: malformed bdf',
      '2: time goes back (previous 10)',
      '2: unknown interrupt kind',
      '2: interrupt line is not a non-negative integer',
    ]);
  });
});
