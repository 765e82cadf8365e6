/**
 * Slot and link registers bit by bit: values after the first reset, write masks, W1C and
 * the §4 write quirks. Expected values were read from QEMU 7.2.22 (Debian) through ECAM
 * config accesses under qtest, with ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off.
 */
import { describe, expect, it } from 'vitest';
import { caps, regs } from '@plugboard/pci-core';
import {
  PCI_EXP_SLTCAP_ABP, PCI_EXP_SLTCAP_AIP, PCI_EXP_SLTCAP_EIP, PCI_EXP_SLTCAP_HPC, PCI_EXP_SLTCAP_HPS, PCI_EXP_SLTCAP_MRLSP,
  PCI_EXP_SLTCAP_NCCS, PCI_EXP_SLTCAP_PCP, PCI_EXP_SLTCAP_PIP, PCI_EXP_SLTCTL_DLLSCE, PCI_EXP_SLTCTL_EIC, PCI_EXP_SLTCTL_MRLSCE,
  PCI_EXP_SLTCTL_PFDE, PCI_EXP_SLTSTA_DLLSC, PCI_EXP_SLTSTA_EIS, PCI_EXP_SLTSTA_MRLSS, PCI_EXP_SLTSTA_PDS, PCI_EXP_SLTSTA_PFD,
} from '../src/index.js';
import { buildBoard, childId, numberBuses, portView, rootPort, type Board } from './board.js';

const { PCI_EXP_FLAGS, PCI_EXP_DEVCAP, PCI_EXP_SLTCAP, PCI_EXP_SLTCTL, PCI_EXP_SLTSTA, PCI_EXP_LNKCAP, PCI_EXP_LNKCTL, PCI_EXP_LNKSTA, PCI_EXP_LNKCAP2, PCI_EXP_LNKCTL2 } = caps;

function regsOf(b: Board, id: string) {
  const p = portView(b, id);
  return {
    flags: p.r16(PCI_EXP_FLAGS), sltcap: p.r32(PCI_EXP_SLTCAP), sltctl: p.sltctl(), sltsta: p.sltsta(),
    lnkcap: p.r32(PCI_EXP_LNKCAP), lnksta: p.lnksta(),
  };
}

describe('values after the first reset (observed)', () => {
  it('root ports, ioh3420, hotplug=off, power_controller_present=off, x-native-hotplug=off', () => {
    const b = buildBoard([
      rootPort('rp1', 1),
      { driver: 'ioh3420', id: 'ioh', chassis: 1, slot: 2, addr: '2' },
      rootPort('rp6', 6, { hotplug: 'off' }),
      rootPort('rp3', 3), { driver: 'e1000e', id: 'ne0', bus: 'rp3' },
      rootPort('rp4', 4, { power_controller_present: 'off', chassis: 2, slot: 2 }), { driver: 'e1000e', id: 'ne1', bus: 'rp4' },
      rootPort('rp5', 5, { 'x-native-hotplug': 'off', chassis: 2, slot: 3 }),
    ]);
    numberBuses(b);
    expect(portView(b, 'rp1').exp).toBe(0x54);
    expect(portView(b, 'ioh').exp).toBe(0x90);
    expect(regsOf(b, 'rp1')).toEqual({ flags: 0x0142, sltcap: 0x000a007b, sltctl: 0x07c0, sltsta: 0, lnkcap: 0x00300604, lnksta: 0x0204 });
    expect(regsOf(b, 'ioh')).toEqual({ flags: 0x0142, sltcap: 0x0012007b, sltctl: 0x07c0, sltsta: 0, lnkcap: 0x00000411, lnksta: 0x0011 });
    expect(regsOf(b, 'rp6')).toEqual({ flags: 0x0142, sltcap: 0x0032001b, sltctl: 0x07c0, sltsta: 0, lnkcap: 0x00300604, lnksta: 0x0204 });
    expect(regsOf(b, 'rp3')).toEqual({ flags: 0x0142, sltcap: 0x001a007b, sltctl: 0x01c0, sltsta: 0x0040, lnkcap: 0x00300604, lnksta: 0x2011 });
    // Without a power controller reset leaves PIC at 0 and the device always powered.
    expect(regsOf(b, 'rp4')).toEqual({ flags: 0x0142, sltcap: 0x00120079, sltctl: 0x00c0, sltsta: 0x0040, lnkcap: 0x00300604, lnksta: 0x2011 });
    expect(childId(b, 'rp4')).toBe(0x10d38086);
    expect(regsOf(b, 'rp5').sltcap).toBe(0x001a001b);
    const rp1 = portView(b, 'rp1');
    expect([rp1.r32(PCI_EXP_LNKCAP2), rp1.r16(PCI_EXP_LNKCTL2)]).toEqual([0x1e, 0x4]);
  });

  it('SLTCAP bit by bit', () => {
    const b = buildBoard([rootPort('rp1', 1)]);
    const cap = portView(b, 'rp1').r32(PCI_EXP_SLTCAP);
    const bits = [PCI_EXP_SLTCAP_ABP, PCI_EXP_SLTCAP_PCP, PCI_EXP_SLTCAP_MRLSP, PCI_EXP_SLTCAP_AIP, PCI_EXP_SLTCAP_PIP, PCI_EXP_SLTCAP_HPS, PCI_EXP_SLTCAP_HPC, PCI_EXP_SLTCAP_EIP, PCI_EXP_SLTCAP_NCCS];
    expect(bits.map((bit) => (cap & bit ? 1 : 0))).toEqual([1, 1, 0, 1, 1, 1, 1, 1, 0]);
    expect(cap >>> 19).toBe(1);
    expect((cap >>> 7) & 0x3ff).toBe(0); // slot power limit value and scale
  });

  it('x-speed / x-width shape LNKCAP, LNKCAP2, LNKCTL2 and the empty LNKSTA', () => {
    const b = buildBoard([
      rootPort('a', 1, { 'x-speed': '2_5', 'x-width': '4' }),
      rootPort('b', 2, { 'x-speed': '5', 'x-width': '1' }),
      rootPort('c', 3, { 'x-speed': '8', 'x-width': '4' }),
      rootPort('d', 4, { 'x-speed': '2_5', 'x-width': '1' }),
    ]);
    const link = (id: string) => {
      const p = portView(b, id);
      return [p.r32(PCI_EXP_LNKCAP), p.lnksta(), p.r32(PCI_EXP_LNKCAP2), p.r16(PCI_EXP_LNKCTL2)];
    };
    expect(link('a')).toEqual([0x00200441, 0x0041, 0, 0]);
    expect(link('b')).toEqual([0x00300412, 0x0012, 0, 0x2]);
    expect(link('c')).toEqual([0x00300443, 0x0043, 0xe, 0x3]);
    expect(link('d')).toEqual([0x00000411, 0x0011, 0, 0]);
  });

  it('switch: x3130-upstream has no slot, xio3130-downstream ports do', () => {
    const b = buildBoard([
      rootPort('rp1', 1),
      { driver: 'x3130-upstream', id: 'up1', bus: 'rp1' },
      { driver: 'xio3130-downstream', id: 'dn1', bus: 'up1', chassis: 1, slot: 4, addr: '0' },
      { driver: 'xio3130-downstream', id: 'dn2', bus: 'up1', chassis: 1, slot: 5, addr: '1' },
      { driver: 'e1000e', id: 'n2', bus: 'dn2' },
    ]);
    numberBuses(b);
    expect(regsOf(b, 'rp1')).toEqual({ flags: 0x0142, sltcap: 0x000a007b, sltctl: 0x01c0, sltsta: 0x0040, lnkcap: 0x00300604, lnksta: 0x2011 });
    expect(regsOf(b, 'up1')).toEqual({ flags: 0x0052, sltcap: 0, sltctl: 0, sltsta: 0, lnkcap: 0x00000411, lnksta: 0x0011 });
    expect(regsOf(b, 'dn1')).toEqual({ flags: 0x0162, sltcap: 0x0022007b, sltctl: 0x07c0, sltsta: 0, lnkcap: 0x00000400, lnksta: 0x0011 });
    expect(regsOf(b, 'dn2')).toEqual({ flags: 0x0162, sltcap: 0x002a007b, sltctl: 0x01c0, sltsta: 0x0040, lnkcap: 0x00000400, lnksta: 0x2011 });
    expect(portView(b, 'dn1').r32(PCI_EXP_DEVCAP)).toBe(0x10008000);
    expect(childId(b, 'dn2')).toBe(0x10d38086);
    expect(b.machine.deviceById('up1')!.childBuses[0]!.hotpluggable).toBe(false);
  });
});

describe('LNKSTA follows the device at devfn 0 (read-time sync)', () => {
  it('clamps to the port, uses the port maximum for conventional devices, xio3130 never syncs', () => {
    const b = buildBoard([
      rootPort('rp1', 1), { driver: 'e1000', id: 'c1', bus: 'rp1' },
      rootPort('rp3', 3, { 'x-speed': '8', 'x-width': '4' }), { driver: 'nvme', bus: 'rp3', serial: 'x' },
      { driver: 'ioh3420', id: 'ioh', chassis: 1, slot: 4, addr: '4' }, { driver: 'pcie-root-port', id: 'inner', bus: 'ioh', chassis: 2, slot: 1 },
      rootPort('rp5', 5), { driver: 'x3130-upstream', id: 'up1', bus: 'rp5' },
      { driver: 'xio3130-downstream', id: 'dn1', bus: 'up1', chassis: 1, slot: 6, addr: '0' },
      { driver: 'pcie-root-port', id: 'deep', bus: 'dn1', chassis: 3, slot: 3, 'x-speed': '8', 'x-width': '4' },
      rootPort('rp6', 6, { 'x-native-hotplug': 'off', chassis: 1, slot: 7 }), { driver: 'e1000e', id: 'odd', bus: 'rp6', addr: '1' },
    ]);
    numberBuses(b);
    expect(portView(b, 'rp1').lnksta()).toBe(0x2204);
    expect(portView(b, 'rp3').lnksta()).toBe(0x2011);
    expect(portView(b, 'ioh').lnksta()).toBe(0x2011);
    expect(portView(b, 'inner').lnksta()).toBe(0x0204);
    expect(portView(b, 'deep').lnksta()).toBe(0x0043);
    expect(portView(b, 'dn1').lnksta()).toBe(0x2011);
    // A cold device at 01.0 only: present (PDS, DLLLA) but devfn 0 empty, so reset leaves
    // the slot powered off and LNKSTA shows the port's maximum.
    const rp6 = portView(b, 'rp6');
    expect([rp6.sltctl(), rp6.sltsta(), rp6.lnksta()]).toEqual([0x07c0, 0x0040, 0x2204]);
    expect(childId(b, 'rp6', 8)).toBe(0xffffffff);
  });

  it('Link Control and Link Status are read-only', () => {
    const b = buildBoard([rootPort('rp1', 1)]);
    const p = portView(b, 'rp1');
    p.w16(PCI_EXP_LNKCTL, 0xffff);
    p.w16(PCI_EXP_LNKSTA, 0xffff);
    expect([p.r16(PCI_EXP_LNKCTL), p.lnksta()]).toEqual([0, 0x0204]);
  });
});

describe('write masks, W1C and the quirks of spec §4 (observed sequence)', () => {
  it('SLTCAP read-only, SLTCTL writable bits, EIC toggling EIS, the W1C undo', () => {
    const b = buildBoard([rootPort('rp1', 1)]);
    const p = portView(b, 'rp1');
    const st = () => [p.sltctl(), p.sltsta()];
    p.w32(PCI_EXP_SLTCAP, 0xffffffff);
    expect(p.r32(PCI_EXP_SLTCAP)).toBe(0x000a007b);
    p.w16(PCI_EXP_SLTCTL, 0xffff);
    expect(st()).toEqual([0x07f9, 0x0090]); // PFDE/MRLSCE/DLLSCE read 0, EIC reads 0 and set EIS, CC
    expect(p.sltctl() & (PCI_EXP_SLTCTL_PFDE | PCI_EXP_SLTCTL_MRLSCE | PCI_EXP_SLTCTL_EIC | PCI_EXP_SLTCTL_DLLSCE)).toBe(0);
    p.w16(PCI_EXP_SLTSTA, 0xffff);
    expect(st()).toEqual([0x07f9, 0x0090]); // 1s on events that were not set: the W1C is undone
    p.w16(PCI_EXP_SLTSTA, 0x0010);
    expect(st()).toEqual([0x07f9, 0x0080]); // EIS is read-only
    p.w16(PCI_EXP_SLTCTL, 0);
    expect(st()).toEqual([0, 0x0090]);
    p.w16(PCI_EXP_SLTSTA, 0x001f);
    expect(p.sltsta()).toBe(0x0090);
    p.w16(PCI_EXP_SLTSTA, 0x0011);
    expect(p.sltsta()).toBe(0x0090);
    p.w16(PCI_EXP_SLTSTA, 0x0010);
    expect(p.sltsta()).toBe(0x0080);
    p.w16(PCI_EXP_SLTCTL, PCI_EXP_SLTCTL_EIC);
    expect(st()).toEqual([0, 0x0010]);
    p.w16(PCI_EXP_SLTCTL, PCI_EXP_SLTCTL_EIC);
    expect(st()).toEqual([0, 0x0090]);
    p.w16(PCI_EXP_SLTCTL, PCI_EXP_SLTCTL_EIC);
    expect(st()).toEqual([0, 0x0010]);
    b.add({ driver: 'e1000e', id: 'h1', bus: 'rp1' });
    expect(b.del('h1')).toBe('ok');
    p.w16(PCI_EXP_SLTCTL, PCI_EXP_SLTCTL_EIC);
    expect([p.sltctl(), p.sltsta(), p.lnksta()]).toEqual([0, 0x00d9, 0x2011]);
    // A dword write at SLTCTL: SLTSTA's CC is cleared by W1C, then set again by the command.
    p.w32(PCI_EXP_SLTCTL, 0x00100000);
    expect(st()).toEqual([0, 0x00d9]);
    p.w8(PCI_EXP_SLTCTL + 1, 0x04);
    expect(st()).toEqual([0x0400, 0x00d9]);
  });

  it('read-only status bits never change by writes', () => {
    const b = buildBoard([rootPort('rp1', 1), { driver: 'e1000e', bus: 'rp1' }]);
    const p = portView(b, 'rp1');
    p.w16(PCI_EXP_SLTSTA, PCI_EXP_SLTSTA_PFD | PCI_EXP_SLTSTA_MRLSS | PCI_EXP_SLTSTA_PDS | PCI_EXP_SLTSTA_EIS | PCI_EXP_SLTSTA_DLLSC);
    expect(p.sltsta()).toBe(0x0040);
  });

  it('dword writes at SLTCTL decide the W1C undo with the SLTCTL half of the value', () => {
    const b = buildBoard([rootPort('rp3', 3), { driver: 'e1000e', id: 'c3', bus: 'rp3' }]);
    const p = portView(b, 'rp3');
    expect(b.del('c3')).toBe('ok');
    expect([p.sltctl(), p.sltsta()]).toEqual([0x01c0, 0x0041]);
    // Low half 0x01c8 has bit 3 (PDC's position) while PDC is clear: the ABP clear is undone.
    p.w32(PCI_EXP_SLTCTL, 0x000101c8);
    expect([p.sltctl(), p.sltsta()]).toEqual([0x01c8, 0x0051]);
    // 0x01d0 has bit 4 (CC's position) and CC is set: ABP is cleared.
    p.w32(PCI_EXP_SLTCTL, 0x000101d0);
    expect([p.sltctl(), p.sltsta()]).toEqual([0x01d0, 0x0050]);
  });

  it('power-down detection tests the raw written value (byte writes never detach)', () => {
    const b = buildBoard([
      rootPort('rp2', 2, { power_controller_present: 'off' }), { driver: 'e1000e', id: 'c2', bus: 'rp2' },
      rootPort('rp3', 3), { driver: 'e1000e', id: 'c3', bus: 'rp3' },
    ]);
    numberBuses(b);
    const rp2 = portView(b, 'rp2');
    const rp3 = portView(b, 'rp3');
    // Without a power controller PCC is not writable, yet the written PCC bit detaches.
    rp2.w16(PCI_EXP_SLTCTL, 0x07c0);
    expect([rp2.sltctl(), rp2.sltsta(), rp2.lnksta()]).toEqual([0x03c0, 0x0018, 0x0204]);
    expect(b.deleted()).toEqual(['c2']);
    rp3.w8(PCI_EXP_SLTCTL + 1, 0x07);
    expect([rp3.sltctl(), rp3.sltsta(), rp3.lnksta()]).toEqual([0x07c0, 0x0050, 0x2011]);
    expect(b.deleted()).toEqual(['c2']);
    // Already powered down: a second identical write does not detach either.
    rp3.w16(PCI_EXP_SLTCTL, 0x07c0);
    expect(b.deleted()).toEqual(['c2']);
    expect(childId(b, 'rp3')).toBe(0xffffffff);
  });

  it('reset values of spec §3 after guest writes (system_reset)', () => {
    const b = buildBoard([
      rootPort('rp1', 1),
      rootPort('rp2', 2), { driver: 'e1000e', id: 'c2', bus: 'rp2' },
      rootPort('rp3', 3), { driver: 'e1000e', id: 'c3', bus: 'rp3' },
    ]);
    numberBuses(b);
    const [rp1, rp2, rp3] = ['rp1', 'rp2', 'rp3'].map((id) => portView(b, id));
    expect(b.del('c3')).toBe('ok');
    rp3.w32(PCI_EXP_SLTCTL, 0x000101c8);
    rp3.w32(PCI_EXP_SLTCTL, 0x000101d0);
    b.add({ driver: 'e1000e', id: 'h1', bus: 'rp1' });
    expect(childId(b, 'rp1')).toBe(0xffffffff);
    rp1.w16(PCI_EXP_SLTCTL, 0x0ff9);
    rp2.w16(PCI_EXP_SLTCTL, 0x0af9);
    expect(b.del('c2')).toBe('slot is electromechanically locked: Device or resource busy');
    expect([rp1.sltctl(), rp1.sltsta(), rp2.sltctl(), rp2.sltsta(), rp3.sltctl(), rp3.sltsta()]).toEqual([0x07f9, 0x00d9, 0x02f9, 0x00d0, 0x01d0, 0x0050]);
    b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    numberBuses(b);
    for (const p of [rp1, rp2, rp3]) expect([p.sltctl(), p.sltsta(), p.lnksta()]).toEqual([0x01c0, 0x0040, 0x2011]);
    expect(childId(b, 'rp1')).toBe(0x10d38086);
    expect(b.del('c3')).toBe('Device c3 is already in the process of unplug');
    expect(b.del('h1')).toBe('ok');
    expect(rp1.sltsta()).toBe(0x0041);
  });
});
