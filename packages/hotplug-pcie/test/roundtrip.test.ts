/**
 * The register traffic of a Linux 6.1 pciehp guest (spec/guest-pciehp.md §13) against the
 * slot, driven by hand over GuestView with MSI-X: hot-add, X_DEVICE_ON, then device_del,
 * the 5 s button wait, power off, 1 s, power indicator off, DEVICE_DELETED.
 */
import { describe, expect, it } from 'vitest';
import { NS_PER_MS } from '@plugboard/qdev';
import { caps } from '@plugboard/pci-core';
import {
  PCI_EXP_SLTCTL_ABPE, PCI_EXP_SLTCTL_ATTN_IND_OFF, PCI_EXP_SLTCTL_CCIE, PCI_EXP_SLTCTL_HPIE, PCI_EXP_SLTCTL_PCC, PCI_EXP_SLTCTL_PIC,
  PCI_EXP_SLTCTL_PWR_IND_BLINK, PCI_EXP_SLTCTL_PWR_IND_OFF, PCI_EXP_SLTCTL_PWR_IND_ON, PCI_EXP_SLTCTL_AIC,
} from '../src/index.js';
import { buildBoard, childId, enableMsix, numberBuses, portView, rootPort, type PortView } from './board.js';

const { PCI_EXP_SLTCTL, PCI_EXP_SLTSTA } = caps;
const EVENTS = 0x011f;

/** pciehp's command: read-modify-write of Slot Control. */
function command(p: PortView, value: number, mask: number): void {
  p.w16(PCI_EXP_SLTCTL, (p.sltctl() & ~mask) | (value & mask));
}

/** pciehp_isr: read, write back exactly the bits seen, until nothing new. */
function isr(p: PortView): number {
  let all = 0;
  for (;;) {
    const events = p.sltsta() & 0x011b;
    if (!events) return all;
    p.w16(PCI_EXP_SLTSTA, events);
    all |= events;
  }
}

describe('pciehp round trip (MSI-X)', () => {
  it('hot-add needs no button wait; removal completes at the power indicator write', () => {
    const b = buildBoard([rootPort('rp1', 1)]);
    numberBuses(b);
    enableMsix(b, 'rp1', 0xfee00000, 0x4041);
    const p = portView(b, 'rp1');
    const clock = b.machine.clock;
    // Probe: clear stale events (the undo quirk keeps what was not set), enable notifications.
    p.w16(PCI_EXP_SLTSTA, EVENTS);
    command(p, PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_HPIE | PCI_EXP_SLTCTL_CCIE, 0x103b);
    isr(p);
    const before = b.msis.length;
    b.add({ driver: 'e1000e', id: 'h1', bus: 'rp1' });
    expect(b.msis.length).toBe(before + 1);
    expect(isr(p)).toBe(0x0009); // ABP and PDC together
    command(p, PCI_EXP_SLTCTL_PWR_IND_BLINK | PCI_EXP_SLTCTL_ATTN_IND_OFF, PCI_EXP_SLTCTL_PIC | PCI_EXP_SLTCTL_AIC);
    isr(p);
    command(p, 0, PCI_EXP_SLTCTL_PCC); // power on
    isr(p);
    expect(childId(b, 'rp1')).toBe(0x10d38086);
    clock.advance(120 * NS_PER_MS);
    command(p, PCI_EXP_SLTCTL_PWR_IND_ON | PCI_EXP_SLTCTL_ATTN_IND_OFF, PCI_EXP_SLTCTL_PIC | PCI_EXP_SLTCTL_AIC);
    isr(p);
    expect(b.events.filter((e) => e.name === 'X_DEVICE_ON').map((e) => e.data)).toEqual([{ device: 'h1', path: '/machine/peripheral/h1' }]);

    expect(b.del('h1')).toBe('ok');
    expect(isr(p)).toBe(0x0001); // ABP only
    command(p, PCI_EXP_SLTCTL_PWR_IND_BLINK | PCI_EXP_SLTCTL_ATTN_IND_OFF, PCI_EXP_SLTCTL_PIC | PCI_EXP_SLTCTL_AIC);
    isr(p);
    expect(b.del('h1')).toBe('Device h1 is already in the process of unplug');
    clock.advance(5000 * NS_PER_MS);
    command(p, PCI_EXP_SLTCTL_PCC, PCI_EXP_SLTCTL_PCC); // power off
    isr(p);
    expect(b.deleted()).toEqual([]);
    expect(childId(b, 'rp1')).toBe(0xffffffff);
    clock.advance(1000 * NS_PER_MS);
    command(p, PCI_EXP_SLTCTL_PWR_IND_OFF, PCI_EXP_SLTCTL_PIC);
    expect(b.deleted()).toEqual(['h1']);
    expect(isr(p)).toBe(0x0018); // PDC from the removal arrives with this command's CC
    expect([p.sltctl(), p.sltsta(), p.lnksta()]).toEqual([0x07f1, 0, 0x0204]);
  });
});
