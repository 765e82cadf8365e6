import { describe, expect, it } from 'vitest';
import { booted, pseriesRig } from './spapr-board.js';

describe('pseries RAS: EPOW, event-scan and the rtasd buffer', () => {
  it('system_powerdown\'s EPOW log: sensor 9 (not supported), check-exception for EPOW, "Power off requested", power-off', () => {
    const r = booted();
    const from = r.trace.length;
    r.spapr.powerdownRequest();
    r.settle();
    expect(r.rtasCalls(from)).toEqual([
      ['get-sensor-state', [9, 0], [-3, 0]],
      ['check-exception', [0x500, 0x1000, 0x40000000, 0, 0x01000000, 2048], [0]],
      // A normal shutdown: user space stops, the kernel powers off through RTAS (-1, -1).
      ['power-off', [0xffffffff, 0xffffffff], [0]],
    ]);
    expect(r.g.guest.klog.texts()).toContain('Power off requested');
    expect(r.g.platform.commands).toEqual([]);
  });

  it('rtasd (when enabled) scans 1 s after the first scan, then every 30 s, and never gets a log back', () => {
    // Not booted() here: the periodic scan never lets the clock go idle.
    const r = pseriesRig({}, { eventScan: true });
    r.machine.cont();
    r.machine.clock.advance(5e9);
    expect(r.g.guest.booted).toBe(true);
    const scans = () => r.trace.filter((t) => t.op === 'rtas' && t.name === 'event-scan').map((t) => Math.round(t.t / 1e6));
    const first = scans()[0]!;
    r.machine.clock.advance(62e9);
    expect(scans().map((t) => t - first)).toEqual([0, 1000, 31000, 61000]);
    expect(r.trace.filter((t) => t.op === 'rtas' && t.name === 'event-scan').every((t) => (t.rets as number[])[0] === 1)).toBe(true);
  });

  it('the guest reboots on system_reset: CAS again, interrupts requested once', () => {
    const r = booted({ devices: [{ driver: 'e1000', id: 'c3', addr: '3' }] });
    r.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    r.settle();
    expect(r.g.guest.booted).toBe(true);
    expect(r.trace.filter((t) => t.op === 'hcall').length).toBe(2);
    r.add({ driver: 'e1000', id: 'n4', addr: '4' });
    r.settle();
    expect(r.g.platform.commands).toEqual(['drmgr -c pci -a -s 0x40000020 -n -d4 -V']);
    expect(r.trace.filter((t) => t.op === 'rtas' && t.name === 'check-exception').length).toBe(1);
  });
});
