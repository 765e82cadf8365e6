/**
 * shpchp paths the recordings do not cover, checked against spec/guest-shpchp.md: INTx when
 * the bridge has no MSI, the sysfs `power` file, a second button press cancelling, poll
 * mode, the guest policies, and the control decision by chipset.
 */
import { describe, expect, it } from 'vitest';
import { NS_PER_MS, NS_PER_SEC, deviceAdd, deviceDel, resolvePath } from '@plugboard/qdev';
import { pciCatalogPlugin } from '@plugboard/pci-core';
import { corePlugin, createMachine, createPluginSet, machinesPlugin, pcieHotplugPlugin } from '@plugboard/machines';
import { attachGuest, createShpchpDriver, pciehpDriver, shpchpDetectControl, shpchpSlot, shpchpSlots, type ShpchpOptions } from '@plugboard/guest';
import { shpcHotplugPlugin } from '../../../../packages/hotplug-shpc/src/index.js';
import { shpchpLines, shpcWords } from './shpchp-helpers.js';

const Q35_ACPI_OFF = [{ driver: 'ICH9-LPC', property: 'acpi-pci-hotplug-with-bridge-support', value: 'off' }];

function start(bridge: Record<string, unknown>, opts: ShpchpOptions = {}, policy?: string, type = 'q35') {
  const plugins = createPluginSet([corePlugin, pciCatalogPlugin, pcieHotplugPlugin, shpcHotplugPlugin, machinesPlugin]);
  const m = createMachine(plugins, { type, nodefaults: true, globals: type === 'q35' ? Q35_ACPI_OFF : [], devices: [{ opts: { driver: 'pci-bridge', id: 'br1', chassis_nr: '1', ...bridge } }] });
  const g = attachGuest(m, { hotplugDrivers: [pciehpDriver, createShpchpDriver(opts)], ...(policy ? { policy } : {}) });
  const deleted: string[] = [];
  m.events.on((e) => e.name === 'DEVICE_DELETED' && deleted.push(String(e.data?.device)));
  m.cont();
  // Poll mode never goes idle (its timer re-arms for ever): boot by the clock instead.
  if (opts.pollMode) m.clock.advance(5 * NS_PER_SEC);
  else m.clock.runUntilIdle();
  return { m, g, deleted, lines: (from = 0) => shpchpLines(g, from).map((l) => l.line.replace(/^shpchp 0000:00:01\.0: /, '')) };
}

describe('shpchp beyond the recorded cycle', () => {
  it('msi=off: INTx through the PIRQ routing, the same cycle', () => {
    const { m, g, deleted, lines } = start({ msi: 'off' });
    expect(lines()).toEqual(expect.arrayContaining(["Can't get msi for the hotplug controller", 'Use INTx for the hotplug controller']));
    deviceAdd(m, { driver: 'e1000', bus: 'br1', addr: '1', id: 'nic1' });
    m.clock.runUntilIdle();
    expect(g.guest.device('0000:01:01.0')?.driver).toBe('e1000');
    deviceDel(m, 'nic1');
    m.clock.runUntilIdle();
    expect(deleted).toEqual(['nic1']);
    expect([...g.guest.irq.counts.keys()].some((k) => k.startsWith('irq:'))).toBe(true);
  });

  it('sysfs power: 1 enables at once (no 5 s wait), 0 disables and completes a pending device_del', () => {
    const { m, g, deleted, lines } = start({});
    deviceAdd(m, { driver: 'e1000', bus: 'br1', addr: '2', id: 'nic2' });
    m.clock.advance(100 * NS_PER_MS); // the button press is taken, blinking
    const slot = shpchpSlot(g.guest, '2')!;
    expect([slot.address, slot.power(), slot.adapter(), slot.latch(), slot.attention()]).toEqual(['0000:01:02', 0, 1, 0, 0]);
    const t0 = m.clock.nowNs();
    const task = slot.writePower(1);
    m.clock.runUntilIdle();
    expect([task.result, slot.power(), g.guest.device('0000:01:02.0')?.driver]).toEqual([0, 2, 'e1000']); // power-only: QEMU 7.2
    expect(m.clock.nowNs() - t0).toBeLessThan(2 * NS_PER_SEC);
    const from = g.guest.klog.lines.length;
    slot.writePower(0);
    m.clock.runUntilIdle();
    expect(deleted).toEqual(['nic2']);
    expect(lines(from)).toEqual(['Latch open on Slot(2)', 'Card not present on Slot(2)']);
    expect(shpchpSlots(g.guest).length).toBe(31);
  });

  it('a second press within 5 s cancels: device_del twice keeps the device, power LED back on', () => {
    const { m, g, deleted, lines } = start({});
    deviceAdd(m, { driver: 'e1000', bus: 'br1', addr: '1', id: 'nic1' });
    m.clock.runUntilIdle();
    const from = g.guest.klog.lines.length;
    deviceDel(m, 'nic1');
    m.clock.advance(1 * NS_PER_SEC);
    deviceDel(m, 'nic1');
    m.clock.runUntilIdle();
    expect(lines(from)).toEqual([
      'Button pressed on Slot(1)', 'PCI slot #1 - powering off due to button press',
      'Button pressed on Slot(1)', 'Button cancel on Slot(1)', 'PCI slot #1 - action canceled due to button press',
    ]);
    expect([deleted, shpcWords(m, 'br1')[9]]).toEqual([[], '0x60000035']);
  });

  it('poll mode: no interrupt, events found by the 2 s poll after the first 10 s', () => {
    const { m, g, deleted } = start({}, { pollMode: true });
    m.clock.advance(15 * NS_PER_SEC);
    deviceAdd(m, { driver: 'e1000', bus: 'br1', addr: '1', id: 'nic1' });
    m.clock.advance(12 * NS_PER_SEC);
    expect(g.guest.device('0000:01:01.0')?.driver).toBe('e1000');
    deviceDel(m, 'nic1');
    m.clock.advance(12 * NS_PER_SEC);
    expect(deleted).toEqual(['nic1']);
    expect(g.guest.irq.counts.size).toBe(0);
    g.detach();
  });

  it('policy ignore-unplug: hot-add works, device_del stays pending', () => {
    const { m, g, deleted } = start({}, {}, 'ignore-unplug');
    deviceAdd(m, { driver: 'e1000', bus: 'br1', addr: '1', id: 'nic1' });
    m.clock.runUntilIdle();
    expect(g.guest.device('0000:01:01.0')?.driver).toBe('e1000');
    deviceDel(m, 'nic1');
    m.clock.runUntilIdle();
    expect(deleted).toEqual([]);
  });

  it('control by chipset: q35 grants (osc), pc refuses (oshp); an option overrides', () => {
    expect(shpchpDetectControl(start({}).g.guest)).toBe('osc');
    const pc = start({}, {}, undefined, 'pc');
    expect(shpchpDetectControl(pc.g.guest)).toBe('oshp');
    const forced = start({}, { control: 'none' }, undefined, 'pc');
    expect(shpchpSlots(forced.g.guest).length).toBe(31);
    expect(shpchpSlots(pc.g.guest).length).toBe(0);
  });

  it('q35 with ACPI hotplug on: ICH9-LPC takes a cold-plugged bridge\'s bus over at plug time; a hot-plugged one keeps its SHPC', () => {
    const plugins = createPluginSet([corePlugin, pciCatalogPlugin, pcieHotplugPlugin, shpcHotplugPlugin, machinesPlugin]);
    const m = createMachine(plugins, { type: 'q35', nodefaults: true, devices: [
      { opts: { driver: 'pci-bridge', id: 'br1', chassis_nr: '1' } }, { opts: { driver: 'pcie-root-port', id: 'rp1', chassis: '1', slot: '1' } },
    ] });
    deviceAdd(m, { driver: 'pci-bridge', id: 'br2', chassis_nr: '2', bus: 'rp1' });
    const owner = (id: string) => resolvePath(m.qomRoot, m.deviceById(id)!.childBuses[0]!.getProperty('hotplug-handler') as string)?.typeName;
    expect([owner('br1'), owner('br2')]).toEqual(['ICH9-LPC', 'pci-bridge']);
  });

  it('a reset during the 5 s wait: the work dies with the guest; after the reboot the card is simply there', () => {
    const { m, g, deleted } = start({});
    deviceAdd(m, { driver: 'e1000', bus: 'br1', addr: '1', id: 'nic1' });
    m.clock.advance(2 * NS_PER_SEC);
    m.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    m.clock.runUntilIdle();
    expect(g.guest.klog.lines.filter((l) => /BUG/.test(l))).toEqual([]);
    expect([g.guest.device('0000:01:01.0')?.driver, deleted, shpcWords(m, 'br1')[9]]).toEqual(['e1000', [], '0x60000006']);
  });
});
