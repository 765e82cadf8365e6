/**
 * pc (i440FX, PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off): the pci-bridge's bus is the
 * SHPC's, but Linux may not drive it (no _OSC, no OSHP), so nothing acknowledges anything,
 * exactly as recorded in fixtures/qemu-7.2-linux/shpchp-pc.json.
 */
import { describe, expect, it } from 'vitest';
import { NS_PER_SEC, deviceAdd, deviceDel } from '@plugboard/qdev';
import { boot, loadShpchpFixture, recordedProbe, shpchpLines, shpcWords } from './shpchp-helpers.js';

const f = loadShpchpFixture('pc');
const words = (tag: string) => f.shpc[tag]!.br1!.words;

describe('pc: shpchp cannot get control (recorded from QEMU 7.2 + Linux 6.1)', () => {
  it('the guest log says why, with the ACPI nodes it tried', () => {
    const { g } = boot(f);
    const lines = shpchpLines(g).map((l) => l.line);
    expect(lines).toEqual(recordedProbe(f));
    expect(lines).toContain('shpchp 0000:00:02.0: Cannot get control of SHPC hotplug');
  });

  it('hot-add, device_del, system_reset: registers, replies and events as recorded', () => {
    const { m, g, events } = boot(f);
    const afterBoot = g.guest.klog.lines.length;
    expect(shpcWords(m, 'br1')).toEqual(words('boot'));

    // device_add: latched (button, MRL, presence) and masked; 7 s later still nobody looked.
    deviceAdd(m, { driver: 'e1000', bus: 'br1', addr: '2', id: 'nic2' });
    m.clock.advance(7 * NS_PER_SEC);
    expect(shpcWords(m, 'br1')).toEqual(words('added'));

    // device_del of the cold-plugged nic1: a button press nobody answers; a repeat is accepted.
    deviceDel(m, 'nic1');
    m.clock.advance(7 * NS_PER_SEC);
    deviceDel(m, 'nic1');
    m.clock.advance(1 * NS_PER_SEC);
    expect(shpcWords(m, 'br1')).toEqual(words('pending'));
    expect(f.steps.del).toMatchObject({ reply: { return: {} }, again: { return: {} }, deletedBeforeReset: false });
    expect(shpchpLines(g, afterBoot)).toEqual([]);

    // nic2's slot was never enabled: removed at once.
    const at = m.clock.nowNs();
    deviceDel(m, 'nic2');
    expect(events.filter((e) => e.name === 'DEVICE_DELETED').map((e) => [e.data, e.ns - at])).toEqual([[{ device: 'nic2', path: '/machine/peripheral/nic2' }, 0]]);
    expect(shpcWords(m, 'br1')).toEqual(words('nic2Deleted'));

    // system_reset: the slots are re-derived, the button press is lost, nic1 stays (recorded).
    m.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    m.clock.runUntilIdle();
    expect(f.steps.reset).toMatchObject({ deletedNic1: false });
    expect(m.deviceById('nic1')).toBeDefined();
    expect(shpcWords(m, 'br1')).toEqual(words('reset'));
    // dmesg after the reboot is the new kernel's.
    expect(shpchpLines(g).map((l) => l.line)).toContain('shpchp 0000:00:02.0: Cannot get control of SHPC hotplug');

    const recorded = f.qmp.filter((q) => q.raw.includes('"event"')).map((q) => JSON.parse(q.raw)).filter((e) => e.event !== 'SHUTDOWN');
    // The second RESET (guest-reset) is SeaBIOS rebooting once more, 30 ms after the system_reset.
    expect(recorded.map((e) => [e.event, e.data])).toEqual([
      ['DEVICE_DELETED', { device: 'nic2', path: '/machine/peripheral/nic2' }],
      ['RESET', { guest: false, reason: 'host-qmp-system-reset' }],
      ['RESET', { guest: true, reason: 'guest-reset' }],
    ]);
    expect(events.filter((e) => e.name !== 'RESUME').map((e) => [e.name, e.data])).toEqual(recorded.map((e) => [e.event, e.data]));
  });
});
