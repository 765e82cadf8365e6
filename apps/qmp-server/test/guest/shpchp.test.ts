/**
 * The q35 SHPC cycle (ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off, _OSC grants SHPC,
 * Linux's shpchp drives the bridge) against the transcripts recorded from QEMU 7.2.22 with a
 * Linux 6.1 guest (fixtures/qemu-7.2-linux/shpchp-q35-*.json): replies, events and their
 * order, shpchp's log lines in order, virtual-time spacing, SHPC registers before/after.
 */
import { describe, expect, it } from 'vitest';
import { deviceAdd, deviceDel, QemuError } from '@plugboard/qdev';
import { boot, gapMs, loadShpchpFixture, recordedProbe, recordedShpchp, shpchpLines, shpcWords, type Run, type ShpchpFixture } from './shpchp-helpers.js';

/** queue_delayed_work(5 * HZ): a timer-wheel bucket of 64 jiffies (256 ms) above 5 s. */
const BUTTON_WAIT = { min: 5000, max: 5260 };
/** msleep(1000): 251 jiffies, rounded up to an 8-jiffy bucket. */
const ENABLE_SETTLE = { min: 1000, max: 1040 };
/** The recorded guest ran under TCG: its sleeps may end this much later than the wheel says. */
const TCG_LATENCY_MS = 100;

const SCENARIOS: Array<{ name: string; bridge: string; slot: string }> = [
  { name: 'q35-pci-bridge', bridge: 'br1', slot: '1' },
  { name: 'q35-pcie-pci-bridge', bridge: 'br1', slot: '1-1' },
];

function cycle(f: ShpchpFixture): { r: Run; addFrom: number; delFrom: number; addNs: number; delNs: number } {
  const r = boot(f);
  const addFrom = r.g.guest.klog.lines.length;
  const addNs = r.m.clock.nowNs();
  deviceAdd(r.m, { driver: 'e1000', bus: 'br1', addr: '1', id: 'nic1' });
  r.m.clock.runUntilIdle();
  const delFrom = r.g.guest.klog.lines.length;
  const delNs = r.m.clock.nowNs();
  deviceDel(r.m, 'nic1');
  r.m.clock.runUntilIdle();
  return { r, addFrom, delFrom, addNs, delNs };
}

for (const sc of SCENARIOS) {
  describe(`${sc.name} (recorded from QEMU 7.2 + Linux 6.1)`, () => {
    const f = loadShpchpFixture(sc.name);

    it('probe: the same shpchp lines, window reads included; slot registers as Linux leaves them', () => {
      const { m, g } = boot(f);
      const probe = shpchpLines(g).map((l) => l.line);
      expect(probe).toEqual(recordedProbe(f));
      expect(shpcWords(m, sc.bridge)).toEqual(f.shpc.boot![sc.bridge]!.words);
    });

    it('hot-add: the same lines in order, 5 s + 1 s apart like the recording, registers equal', () => {
      const { r, addFrom, delFrom } = cycle(f);
      const addLines = shpchpLines(r.g, addFrom, delFrom);
      expect(addLines.map((l) => l.line)).toEqual(recordedShpchp(f, 'add').map((e) => e.line));
      for (const [lines, slack] of [[addLines, 0], [recordedShpchp(f, 'add'), TCG_LATENCY_MS]] as const) {
        const wait = gapMs(lines, /powering on due to button press/, /shpchp_enable_slot/);
        const settle = gapMs(lines, /cmd 3a$/, /board_added: slot status/);
        expect(wait).toBeGreaterThanOrEqual(BUTTON_WAIT.min);
        expect(wait).toBeLessThanOrEqual(BUTTON_WAIT.max + slack);
        expect(settle).toBeGreaterThanOrEqual(ENABLE_SETTLE.min);
        expect(settle).toBeLessThanOrEqual(ENABLE_SETTLE.max + slack);
      }
      expect(addLines.find((l) => /Latch close on Slot/.test(l.line))?.line).toContain(`Slot(${sc.slot})`);
    });

    it('device_del: button, 5 s, removal at command 0x1f; DEVICE_DELETED as recorded, spaced like it', () => {
      const { r, delFrom, delNs } = cycle(f);
      const delLines = shpchpLines(r.g, delFrom);
      expect(delLines.map((l) => l.line)).toEqual(recordedShpchp(f, 'del').map((e) => e.line));
      const deleted = r.events.filter((e) => e.name === 'DEVICE_DELETED');
      const recorded = f.qmp.filter((q) => q.raw.includes('"DEVICE_DELETED"')).map((q) => JSON.parse(q.raw).data);
      expect(deleted.map((e) => e.data)).toEqual(recorded);
      // device_del reply -> DEVICE_DELETED: QEMU's event timestamp minus the reply's host time.
      const real = (f.steps.del!.deletedQmpMs as number) - (f.steps.del!.replyHostMs as number);
      const ours = (deleted[0]!.ns - delNs) / 1e6;
      expect(Math.abs(ours - real)).toBeLessThan(BUTTON_WAIT.max - BUTTON_WAIT.min + TCG_LATENCY_MS);
      for (const [lines, slack] of [[delLines, 0], [recordedShpchp(f, 'del'), TCG_LATENCY_MS]] as const) {
        const wait = gapMs(lines, /powering off due to button press/, /shpchp_unconfigure_device/);
        expect(wait).toBeGreaterThanOrEqual(BUTTON_WAIT.min);
        expect(wait).toBeLessThanOrEqual(BUTTON_WAIT.max + slack);
      }
    });

    it('SHPC registers after the add and after the delete equal the recorded ones', () => {
      const r = boot(f);
      deviceAdd(r.m, { driver: 'e1000', bus: 'br1', addr: '1', id: 'nic1' });
      r.m.clock.runUntilIdle();
      expect(shpcWords(r.m, sc.bridge)).toEqual(f.shpc.added![sc.bridge]!.words);
      deviceDel(r.m, 'nic1');
      r.m.clock.runUntilIdle();
      expect(shpcWords(r.m, sc.bridge)).toEqual(f.shpc.deleted![sc.bridge]!.words);
    });

    it('events: DEVICE_DELETED as recorded; X_DEVICE_ON (the series, not in 7.2) once, at power indicator on', () => {
      const { r } = cycle(f);
      const names = r.events.filter((e) => /DEVICE/.test(e.name)).map((e) => e.name);
      expect(names).toEqual(['X_DEVICE_ON', 'DEVICE_DELETED']);
      expect(r.events.find((e) => e.name === 'X_DEVICE_ON')!.data).toEqual({ device: 'nic1', path: '/machine/peripheral/nic1' });
    });
  });
}

describe('q35-pci-bridge: QMP replies', () => {
  const f = loadShpchpFixture('q35-pci-bridge');

  it('device_add without addr picks slot 0 and is refused with QEMU\'s text', () => {
    const { m } = boot(f);
    const recorded = (f.steps.slot0!.reply as { error: { desc: string } }).error.desc;
    let desc = '';
    try {
      deviceAdd(m, { driver: 'e1000', bus: 'br1', id: 'nic0' });
    } catch (e) {
      desc = (e as QemuError).message;
    }
    expect(desc).toBe(recorded);
  });

  it('x-query-hotplug through the slot: addr filled, LEDs and state after Linux enabled the slot', () => {
    const { m } = boot(f);
    deviceAdd(m, { driver: 'e1000', bus: 'br1', addr: '1', id: 'nic1' });
    m.clock.runUntilIdle();
    const dev = m.deviceById('nic1')!;
    expect(dev.hotplugHandler()!.queryHotplug!(dev)).toEqual({
      type: 'shpc', bus: { device: 'br1', path: '/machine/peripheral/br1' }, addr: '1', child: { device: 'nic1', path: '/machine/peripheral/nic1' },
      'device-on': true, 'power-led': 'on', 'attention-led': 'off', 'slot-state': 'enabled',
    });
  });

  it('the attention button command on an SHPC slot makes Linux power the slot off after 5 s', () => {
    const { m, g, events } = boot(f);
    deviceAdd(m, { driver: 'e1000', bus: 'br1', addr: '1', id: 'nic1' });
    m.clock.runUntilIdle();
    const from = g.guest.klog.lines.length;
    const dev = m.deviceById('nic1')!;
    dev.hotplugHandler()!.pressAttentionButton!(dev);
    m.clock.runUntilIdle();
    expect(shpchpLines(g, from).map((l) => l.line)).toContain('shpchp 0000:00:01.0: PCI slot #1 - powering off due to button press');
    expect(events.filter((e) => e.name === 'DEVICE_DELETED').map((e) => e.data?.device)).toEqual(['nic1']);
  });
});
