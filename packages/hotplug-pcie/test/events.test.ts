/**
 * X_DEVICE_ON and x-query-hotplug (spec §8, the unmerged v8 proposal, so spec-only), the
 * plugin wiring, and the q35 ACPI takeover of cold-plugged ports' buses (spec §7).
 */
import { describe, expect, it } from 'vitest';
import type { Device, HotplugHandler } from '@plugboard/qdev';
import { PCIBridge, caps, type PCIDevice } from '@plugboard/pci-core';
import { PcieSlot, TYPE_PCIE_SLOT, pcieHotplugPlugin, pcieSlotOf, slotPowerOn } from '../src/index.js';
import { buildBoard, childId, numberBuses, portView, registry, rootPort } from './board.js';

const { PCI_EXP_SLTCTL, PCI_EXP_SLTSTA } = caps;

/** What Linux pciehp writes on hot-add: power on, blink, then power indicator on / attention off. */
function guestEnable(b: ReturnType<typeof buildBoard>, id: string): void {
  const p = portView(b, id);
  p.w16(PCI_EXP_SLTSTA, p.sltsta() & 0x19);
  p.w16(PCI_EXP_SLTCTL, 0x03c0);
  p.w16(PCI_EXP_SLTCTL, 0x02c0);
  p.w16(PCI_EXP_SLTCTL, 0x01c0);
}

const deviceOnEvents = (b: ReturnType<typeof buildBoard>) => b.events.filter((e) => e.name === 'X_DEVICE_ON').map((e) => e.data);

describe('X_DEVICE_ON', () => {
  it('once per device, when a Slot Control write turns the populated slot on', () => {
    const b = buildBoard([rootPort('rp1', 1), rootPort('rp2', 2), { driver: 'e1000e', id: 'c2', bus: 'rp2' }]);
    b.add({ driver: 'e1000e', id: 'h1', bus: 'rp1' });
    const p = portView(b, 'rp1');
    p.w16(PCI_EXP_SLTCTL, 0x03c0);
    p.w16(PCI_EXP_SLTCTL, 0x02c0);
    expect(deviceOnEvents(b)).toEqual([]);
    p.w16(PCI_EXP_SLTCTL, 0x01c0);
    expect(deviceOnEvents(b)).toEqual([{ device: 'h1', path: '/machine/peripheral/h1' }]);
    expect(Object.keys(b.events.at(-1)!.data!)).toEqual(['device', 'path']);
    p.w16(PCI_EXP_SLTCTL, 0x01c0);
    p.w16(PCI_EXP_SLTCTL, 0x02c0);
    p.w16(PCI_EXP_SLTCTL, 0x01c0);
    expect(deviceOnEvents(b).length).toBe(1);
    // Cold-plugged: reset already left the slot on; no event until the guest turns it on itself.
    const p2 = portView(b, 'rp2');
    p2.w16(PCI_EXP_SLTCTL, 0x01c0);
    expect(deviceOnEvents(b).length).toBe(1);
    p2.w16(PCI_EXP_SLTCTL, 0x02c0);
    p2.w16(PCI_EXP_SLTCTL, 0x01c0);
    expect(deviceOnEvents(b).at(-1)).toEqual({ device: 'c2', path: '/machine/peripheral/c2' });
  });

  it('reports the first device below, without `device` when it has no id; not with the attention indicator on', () => {
    const b = buildBoard([rootPort('rp1', 1)]);
    b.add({ driver: 'e1000e', bus: 'rp1', addr: '0.1' });
    b.add({ driver: 'e1000e', bus: 'rp1', addr: '0.0', multifunction: 'on' });
    const p = portView(b, 'rp1');
    p.w16(PCI_EXP_SLTCTL, 0x0140); // power on, power indicator on, attention ON
    expect(deviceOnEvents(b)).toEqual([]);
    p.w16(PCI_EXP_SLTCTL, 0x01c0);
    expect(deviceOnEvents(b)).toEqual([{ path: '/machine/peripheral-anon/device[1]' }]);
  });
});

describe('x-query-hotplug (HotplugInfo)', () => {
  it('describes the slot of a device, members in QAPI schema order', () => {
    const b = buildBoard([rootPort('rp1', 1), rootPort('rp4', 4, { power_controller_present: 'off' }), { driver: 'e1000e', id: 'c4', bus: 'rp4' }]);
    const h1 = b.add({ driver: 'e1000e', id: 'h1', bus: 'rp1' });
    const q = (d: Device) => d.hotplugHandler()!.queryHotplug!(d);
    expect(q(h1)).toEqual({
      type: 'pcie-native', bus: { device: 'rp1', path: '/machine/peripheral/rp1' }, child: { device: 'h1', path: '/machine/peripheral/h1' },
      'device-on': false, 'power-led': 'off', 'attention-led': 'off', 'power-on': false,
    });
    guestEnable(b, 'rp1');
    const info = q(h1);
    expect(Object.keys(info)).toEqual(['type', 'bus', 'child', 'device-on', 'power-led', 'attention-led', 'power-on']);
    expect(info).toMatchObject({ 'device-on': true, 'power-led': 'on', 'attention-led': 'off', 'power-on': true });
    portView(b, 'rp1').w16(PCI_EXP_SLTCTL, 0x0280);
    expect(q(h1)).toMatchObject({ 'power-led': 'blinking', 'attention-led': 'blinking', 'power-on': true });
    // No power controller: reset leaves the power indicator field at 0, which has no LedStatus.
    expect(q(b.dev('c4'))).toEqual({
      type: 'pcie-native', bus: { device: 'rp4', path: '/machine/peripheral/rp4' }, child: { device: 'c4', path: '/machine/peripheral/c4' },
      'device-on': false, 'attention-led': 'off', 'power-on': true,
    });
  });
});

describe('plugin and wiring', () => {
  it('extends every pcie-slot type, not x3130-upstream', () => {
    expect(pcieHotplugPlugin.name).toBe('@plugboard/hotplug-pcie');
    expect(pcieHotplugPlugin.extensions).toEqual([{ type: TYPE_PCIE_SLOT, extend: expect.any(Function) }]);
    const b = buildBoard([
      rootPort('rp1', 1), { driver: 'ioh3420', id: 'ioh', chassis: 1, slot: 2, addr: '2' },
      { driver: 'x3130-upstream', id: 'up1', bus: 'rp1' }, { driver: 'xio3130-downstream', id: 'dn1', bus: 'up1', chassis: 1, slot: 3 },
    ]);
    for (const id of ['rp1', 'ioh', 'dn1']) expect(pcieSlotOf(b.dev(id))).toBeInstanceOf(PcieSlot);
    expect(pcieSlotOf(b.dev('up1'))).toBeUndefined();
  });

  it('slotPowerOn: raw PCC := on when a power controller is present, nothing else', () => {
    const b = buildBoard([rootPort('rp1', 1), rootPort('rp2', 2, { power_controller_present: 'off' })]);
    const [p1, p2] = [portView(b, 'rp1'), portView(b, 'rp2')];
    slotPowerOn(b.dev('rp1'));
    slotPowerOn(b.dev('rp2'));
    expect([p1.sltctl(), p1.sltsta(), p2.sltctl(), p2.sltsta()]).toEqual([0x03c0, 0, 0x00c0, 0]);
    expect(b.intx.length + b.msis.length).toBe(0);
  });

  it('q35 ACPI mode: the controller that takes a cold port\'s bus over gets its plug events, the port does not', () => {
    // A stand-in for hotplug-acpi: handler of pcie.0 during cold plug, taking bridges' buses.
    const seen: string[] = [];
    const acpi: HotplugHandler = {
      plug(dev: Device) {
        seen.push(`plug ${dev.id}`);
        if (dev instanceof PCIBridge && !dev.hotplugged) dev.secondaryBus.setHotplugHandler(acpi);
        else if (dev.hotplugged) slotPowerOn((dev as PCIDevice).pciBus.bridge!);
      },
    };
    const b = buildBoard([rootPort('rp1', 1), rootPort('rp2', 2), { driver: 'e1000e', id: 'c2', bus: 'rp2' }], {
      beforeColdPlug: (board) => board.root.setHotplugHandler(acpi),
    });
    numberBuses(b);
    // Observed on q35's default ACPI mode: a cold device behind a port sets neither PDS nor
    // DLLLA (its plug went to ICH9), yet the port's reset powered the populated slot.
    const p2 = portView(b, 'rp2');
    expect([p2.r32(caps.PCI_EXP_SLTCAP), p2.sltctl(), p2.sltsta(), p2.lnksta()]).toEqual([0x0012007b, 0x01c0, 0, 0x0011]);
    expect(seen).toEqual(['plug rp1', 'plug rp2', 'plug c2']);
    seen.length = 0;
    const rp1 = b.dev('rp1');
    const rp1Slot = pcieSlotOf(rp1)!;
    expect(rp1.childBuses[0]!.hotplugHandler).toBe(acpi);
    const p = portView(b, 'rp1');
    expect([p.sltctl(), p.sltsta()]).toEqual([0x07c0, 0]);
    const h1 = b.add({ driver: 'e1000e', id: 'h1', bus: 'rp1' });
    expect(seen).toEqual(['plug h1']);
    // SLTSTA untouched, PCC switched on by the controller, the device powered.
    expect([p.sltctl(), p.sltsta(), h1.powered, p.lnksta()]).toEqual([0x03c0, 0, true, 0x0011]);
    expect(rp1Slot.queryHotplug).toBeDefined();
    expect(h1.hotplugHandler()).toBe(acpi);
    expect(childId(b, 'rp1')).toBe(0x10d38086);
    // Port-level behaviour stays: a reset with the slot populated turns it on.
    b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    expect([p.sltctl(), p.sltsta()]).toEqual([0x01c0, 0]);
  });

  it('the type registry built through PluginSet has the extension registered once', () => {
    const r = registry();
    expect(r.extensionsFor(r.get('pcie-root-port')!).length).toBe(1);
    expect(r.extensionsFor(r.get('x3130-upstream')!).length).toBe(0);
  });
});
