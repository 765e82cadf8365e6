/**
 * The port as hotplug handler of its secondary bus (spec §6): pre_plug errors, plug, slot
 * power, unplug requests, guest power-down, multifunction slots, switches, pending expiry.
 * Expected values observed on QEMU 7.2.22 (qtest + QMP) unless marked as spec-only.
 */
import { describe, expect, it } from 'vitest';
import { NS_PER_MS } from '@plugboard/qdev';
import { caps } from '@plugboard/pci-core';
import { buildBoard, childId, numberBuses, portView, rootPort, tryAdd } from './board.js';

const { PCI_EXP_SLTCTL, PCI_EXP_SLTSTA, PCI_EXP_SLTCAP } = caps;
const E1000E_ID = 0x10d38086;
const ALL_ONES = 0xffffffff;
const EIS_ERROR = 'slot is electromechanically locked: Device or resource busy';

describe('pre_plug', () => {
  it('refuses hot-add without SLTCAP.HPC, naming the port or (null)', () => {
    const b = buildBoard([
      rootPort('rp2', 2, { hotplug: 'off' }), { driver: 'e1000e', id: 'ne2', bus: 'rp2' },
      rootPort('rp3', 3, { 'x-native-hotplug': 'off' }),
    ]);
    expect(tryAdd(b, { driver: 'e1000e', id: 't91', bus: 'rp2' })).toBe("Hot-plug failed: unsupported by the port device 'rp2'");
    expect(tryAdd(b, { driver: 'e1000e', id: 't92', bus: 'rp2', addr: 'zz' })).toBe("Property 'e1000e.addr' doesn't take value 'zz'");
    expect(tryAdd(b, { driver: 'e1000e', id: 'a3', bus: 'rp3' })).toBe("Hot-plug failed: unsupported by the port device 'rp3'");
    // An anonymous port (observed with bus=/q35-pcihost/pcie.0/pcie-root-port/pcie.0).
    const anon = buildBoard([{ driver: 'ioh3420', chassis: 1, slot: 4, addr: '4', hotplug: 'off' }]);
    const busName = anon.machine.peripheralAnon.childObjects.get('device[0]')!.childObjects.keys().next().value;
    expect(tryAdd(anon, { driver: 'e1000e', id: 'a1', bus: `/q35-pcihost/pcie.0/ioh3420/${busName}` })).toBe("Hot-plug failed: unsupported by the port device '(null)'");
    expect(b.del('ne2')).toBe("Hot-unplug failed: unsupported by the port device 'rp2'");
    // The handler is the port itself in native mode, even with hotplug=off.
    expect(b.machine.deviceById('rp2')!.childBuses[0]!.getProperty('hotplug-handler')).toBe('/machine/peripheral/rp2');
    expect(b.del('rp2')).toBe("Bus 'pcie.0' does not support hotplugging");
  });

  it('refuses plug and unplug while the interlock is engaged', () => {
    const b = buildBoard([rootPort('rp1', 1), { driver: 'e1000e', id: 'c1', bus: 'rp1' }]);
    const p = portView(b, 'rp1');
    p.w16(PCI_EXP_SLTCTL, 0x09c0);
    expect([p.sltctl(), p.sltsta()]).toEqual([0x01c0, 0x00d0]);
    expect(b.del('c1')).toBe(EIS_ERROR);
    expect(tryAdd(b, { driver: 'e1000e', id: 'x', bus: 'rp1', addr: '2' })).toBe(EIS_ERROR);
    p.w16(PCI_EXP_SLTCTL, 0x09c0);
    expect(b.del('c1')).toBe('ok');
  });
});

describe('plug and slot power', () => {
  it('hot-add latches PDS|PDC|ABP, leaves power off until the guest clears PCC', () => {
    const b = buildBoard([
      rootPort('rp1', 1), { driver: 'x3130-upstream', id: 'up1', bus: 'rp1' },
      { driver: 'xio3130-downstream', id: 'dn1', bus: 'up1', chassis: 1, slot: 4, addr: '0' },
    ]);
    numberBuses(b);
    const dn1 = portView(b, 'dn1');
    b.add({ driver: 'e1000e', id: 'h1', bus: 'dn1' });
    expect([dn1.sltctl(), dn1.sltsta(), dn1.lnksta()]).toEqual([0x07c0, 0x0049, 0x2011]);
    expect(childId(b, 'dn1')).toBe(ALL_ONES);
    dn1.w16(PCI_EXP_SLTCTL, 0x03c0);
    expect([dn1.sltctl(), dn1.sltsta()]).toEqual([0x03c0, 0x0059]);
    expect(childId(b, 'dn1')).toBe(E1000E_ID);
    dn1.w16(PCI_EXP_SLTCTL, 0x01c0);
    expect(b.del('h1')).toBe('ok');
    expect(dn1.sltsta()).toBe(0x0059); // ABP was still latched: nothing new
    expect(tryAdd(b, { driver: 'e1000e', id: 'h3', bus: 'up1', addr: '3' })).toBe("Bus 'up1' does not support hotplugging");
  });

  it('losing power resets the functions below', () => {
    const b = buildBoard([rootPort('rp1', 1), { driver: 'e1000e', id: 'c1', bus: 'rp1' }]);
    numberBuses(b);
    const c1 = b.dev('c1');
    const sec = b.dev('rp1').config.get8(0x19);
    b.gv.configWrite({ bus: sec, devfn: 0 }, 0x10, 0xfebc0000, 4);
    expect(c1.config.get32(0x10)).toBe(0xfebc0000);
    const p = portView(b, 'rp1');
    p.w16(PCI_EXP_SLTCTL, 0x05c0); // PCC off, PIC on: powered off but not detached
    expect([c1.powered, c1.config.get32(0x10), childId(b, 'rp1')]).toEqual([false, 0, ALL_ONES]);
    p.w16(PCI_EXP_SLTCTL, 0x01c0);
    expect([c1.powered, childId(b, 'rp1')]).toEqual([true, E1000E_ID]);
  });

  it('multifunction: functions > 0 first, function 0 signals; power-down detaches all', () => {
    const b = buildBoard([rootPort('rp1', 1)]);
    numberBuses(b);
    const p = portView(b, 'rp1');
    b.add({ driver: 'e1000e', id: 'f1', bus: 'rp1', addr: '0.1' });
    expect([p.sltctl(), p.sltsta(), p.lnksta()]).toEqual([0x07c0, 0, 0x0204]);
    b.add({ driver: 'e1000e', id: 'f0', bus: 'rp1', addr: '0.0', multifunction: 'on' });
    expect([p.sltctl(), p.sltsta(), p.lnksta()]).toEqual([0x07c0, 0x0049, 0x2011]);
    expect([childId(b, 'rp1', 0), childId(b, 'rp1', 1)]).toEqual([ALL_ONES, ALL_ONES]);
    p.w16(PCI_EXP_SLTCTL, 0x03c0);
    expect([p.sltsta(), childId(b, 'rp1', 0), childId(b, 'rp1', 1)]).toEqual([0x0059, E1000E_ID, E1000E_ID]);
    expect(b.del('f1')).toBe('ok');
    expect(b.deleted()).toEqual([]);
    p.w16(PCI_EXP_SLTCTL, 0x07c0);
    expect([p.sltctl(), p.sltsta(), p.lnksta()]).toEqual([0x07c0, 0x0019, 0x0204]);
    expect(b.deleted()).toEqual(['f0', 'f1']);
  });

  it('a device the guest never saw (devfn 0 empty) is removed at once, alone', () => {
    const b = buildBoard([rootPort('rp1', 1)]);
    const p = portView(b, 'rp1');
    b.add({ driver: 'e1000e', id: 's1', bus: 'rp1', addr: '1' });
    b.add({ driver: 'e1000e', id: 's2', bus: 'rp1', addr: '2' });
    p.w16(PCI_EXP_SLTCTL, 0x01c0);
    expect(p.sltsta()).toBe(0x0010);
    expect(b.del('s1')).toBe('ok');
    expect(b.deleted()).toEqual(['s1']);
    expect(b.machine.deviceById('s2')).toBeDefined();
    expect(p.sltsta()).toBe(0x0010);
  });

  it('a hot-plugged port exposes HPC even with x-native-hotplug=off and handles its own bus', () => {
    const b = buildBoard([rootPort('rp1', 1)]);
    numberBuses(b);
    b.add({ driver: 'pcie-root-port', id: 'hp1', bus: 'rp1', chassis: 9, slot: 9, 'x-native-hotplug': 'off' });
    portView(b, 'rp1').w16(PCI_EXP_SLTCTL, 0x03c0);
    numberBuses(b);
    const hp1 = portView(b, 'hp1');
    expect([hp1.r32(PCI_EXP_SLTCAP), hp1.sltctl(), hp1.sltsta(), hp1.lnksta()]).toEqual([0x004a007b, 0x07c0, 0, 0x0204]);
    expect(b.dev('hp1').childBuses[0]!.getProperty('hotplug-handler')).toBe('/machine/peripheral/hp1');
    expect(tryAdd(b, { driver: 'e1000e', id: 'b1', bus: 'hp1' })).toBe('ok');
  });
});

describe('unplug requests', () => {
  it('cold device, slot on: attention button, pending for 5 s of virtual time', () => {
    const b = buildBoard([rootPort('rp1', 1), { driver: 'e1000e', id: 'c1', bus: 'rp1' }]);
    const p = portView(b, 'rp1');
    expect(b.del('c1')).toBe('ok');
    expect([p.sltctl(), p.sltsta(), p.lnksta()]).toEqual([0x01c0, 0x0041, 0x2011]);
    expect(b.dev('c1').pendingDeletionExpiresMs).toBe(5000);
    expect(b.del('c1')).toBe('Device c1 is already in the process of unplug');
    b.machine.clock.advance(4999 * NS_PER_MS);
    expect(b.del('c1')).toBe('Device c1 is already in the process of unplug');
    b.machine.clock.advance(1 * NS_PER_MS);
    expect(b.del('c1')).toBe('ok');
    expect(b.del('c1')).toBe('Device c1 is already in the process of unplug');
    p.w16(PCI_EXP_SLTCTL, 0x02c0);
    expect([p.sltctl(), p.sltsta()]).toEqual([0x02c0, 0x0051]);
    b.machine.clock.advance(5000 * NS_PER_MS);
    expect(b.del('c1')).toBe('Hot-unplug failed: guest is busy (power indicator blinking)');
    expect(b.deleted()).toEqual([]);
  });

  it('slot powered off (PCC off, PIC off): every device below goes at once, ABP not left set', () => {
    const b = buildBoard([rootPort('rp1', 1)]);
    const p = portView(b, 'rp1');
    b.add({ driver: 'e1000e', id: 't94', bus: 'rp1', addr: '1' });
    b.add({ driver: 'e1000e', id: 'h1', bus: 'rp1' });
    expect(p.sltsta()).toBe(0x0049);
    p.w16(PCI_EXP_SLTSTA, 0x0009);
    expect(b.del('h1')).toBe('ok');
    expect(b.deleted()).toEqual(['h1', 't94']);
    expect([p.sltctl(), p.sltsta(), p.lnksta()]).toEqual([0x07c0, 0x0008, 0x0204]);
  });

  it('guest power-down: PCC off alone keeps the device, PCC off + PIC off detaches it', () => {
    const b = buildBoard([rootPort('rp1', 1), { driver: 'e1000e', id: 'c1', bus: 'rp1' }]);
    const p = portView(b, 'rp1');
    expect(b.del('c1')).toBe('ok');
    p.w16(PCI_EXP_SLTCTL, 0x02c0); // blink, as pciehp does on the button
    p.w16(PCI_EXP_SLTSTA, 0x001f);
    expect(p.sltsta()).toBe(0x0051);
    p.w16(PCI_EXP_SLTSTA, 0x0011);
    p.w16(PCI_EXP_SLTCTL, 0x06c0); // PCC=1 with PIC still blinking
    expect([p.sltctl(), p.sltsta()]).toEqual([0x06c0, 0x0050]);
    expect(b.deleted()).toEqual([]);
    p.w16(PCI_EXP_SLTCTL, 0x07c0);
    expect([p.sltctl(), p.sltsta(), p.lnksta()]).toEqual([0x07c0, 0x0018, 0x0204]);
    expect(b.events.filter((e) => e.name === 'DEVICE_DELETED').map((e) => e.data)).toEqual([{ device: 'c1', path: '/machine/peripheral/c1' }]);
    expect(b.del('c1')).toBe("Device 'c1' not found");
  });
});
