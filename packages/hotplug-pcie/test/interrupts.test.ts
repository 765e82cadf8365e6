/**
 * Hot-plug interrupt delivery (spec §5): MSI-X on pcie-root-port, MSI on ioh3420 and
 * xio3130-downstream, INTx otherwise. Sequences and counts observed on QEMU 7.2.22 with MSI
 * messages pointed at guest RAM and INTx read back from PCI_STATUS.INTERRUPT.
 */
import { describe, expect, it } from 'vitest';
import { caps, regs } from '@plugboard/pci-core';
import { buildBoard, enableMsi, enableMsix, intxStatus, numberBuses, portView, rootPort } from './board.js';

const { PCI_EXP_SLTCTL, PCI_EXP_SLTSTA } = caps;
const MSIX_ADDR = 0x2000;
const MSIX_DATA = 0x5678;
const MSI_ADDR = 0x1000;
const MSI_DATA = 0x1234;
/** AIC off, PIC off, PCC on + HPIE|CCIE|PDCE|ABPE */
const ALL_ENABLED = 0x07c0 | 0x39;

describe('MSI-X (pcie-root-port)', () => {
  it('one message per new pending condition, with the table entry of vector 0', () => {
    const b = buildBoard([rootPort('rp1', 1)]);
    enableMsix(b, 'rp1', MSIX_ADDR, MSIX_DATA);
    const p = portView(b, 'rp1');
    const count = () => b.msis.length;
    p.w16(PCI_EXP_SLTCTL, ALL_ENABLED);
    expect(b.msis).toEqual([{ dev: 'rp1', address: BigInt(MSIX_ADDR), data: MSIX_DATA }]);
    p.w16(PCI_EXP_SLTSTA, 0x10);
    b.add({ driver: 'e1000e', id: 'h1', bus: 'rp1' });
    expect([p.sltsta(), count()]).toEqual([0x0049, 2]);
    p.w16(PCI_EXP_SLTSTA, 0x09);
    expect([p.sltsta(), count()]).toEqual([0x0040, 2]);
  });

  it('a Slot Control write that ends the condition sends a message too; status writes do not', () => {
    const b = buildBoard([rootPort('rp1', 1), { driver: 'e1000e', id: 'c1', bus: 'rp1' }]);
    enableMsix(b, 'rp1', MSIX_ADDR, MSIX_DATA);
    const p = portView(b, 'rp1');
    p.w16(PCI_EXP_SLTCTL, 0x01c0 | 0x21);
    expect([p.sltctl(), p.sltsta(), b.msis.length]).toEqual([0x01e1, 0x0050, 0]);
    p.w16(PCI_EXP_SLTSTA, 0x10);
    expect(b.del('c1')).toBe('ok');
    expect([p.sltsta(), b.msis.length]).toEqual([0x0041, 1]);
    p.w16(PCI_EXP_SLTCTL, 0x01c0 | 0x01);
    expect([p.sltctl(), p.sltsta(), b.msis.length]).toEqual([0x01c1, 0x0051, 2]);
    p.w16(PCI_EXP_SLTCTL, 0x01c0 | 0x21);
    expect([p.sltctl(), p.sltsta(), b.msis.length]).toEqual([0x01e1, 0x0051, 3]);
    p.w16(PCI_EXP_SLTSTA, 0x01);
    expect([p.sltsta(), b.msis.length]).toEqual([0x0050, 3]);
  });

  it('the attention button (pcie_abp) raises the same event', () => {
    const b = buildBoard([rootPort('rp1', 1), { driver: 'e1000e', id: 'c1', bus: 'rp1' }]);
    enableMsix(b, 'rp1', MSIX_ADDR, MSIX_DATA);
    const p = portView(b, 'rp1');
    p.w16(PCI_EXP_SLTCTL, 0x01c0 | 0x21);
    b.dev('c1').hotplugHandler()!.pressAttentionButton!(b.dev('c1'));
    expect([p.sltsta(), b.msis.length]).toEqual([0x0051, 1]);
    b.dev('c1').hotplugHandler()!.pressAttentionButton!(b.dev('c1'));
    expect(b.msis.length).toBe(1);
  });
});

describe('MSI (ioh3420)', () => {
  it('fires on CC only when newly pending; events while HPIE is off fire when it is enabled', () => {
    const b = buildBoard([{ driver: 'ioh3420', id: 'ioh', chassis: 1, slot: 2, addr: '2' }]);
    enableMsi(b, 'ioh', MSI_ADDR, MSI_DATA);
    const p = portView(b, 'ioh');
    const n = () => b.msis.length;
    p.w16(PCI_EXP_SLTCTL, ALL_ENABLED);
    expect([p.sltctl(), p.sltsta(), n()]).toEqual([0x07f9, 0x0010, 1]);
    expect(b.msis[0]).toEqual({ dev: 'ioh', address: BigInt(MSI_ADDR), data: MSI_DATA });
    p.w16(PCI_EXP_SLTCTL, ALL_ENABLED);
    expect(n()).toBe(1); // CC already set
    p.w16(PCI_EXP_SLTSTA, 0x10);
    p.w16(PCI_EXP_SLTCTL, ALL_ENABLED);
    expect(n()).toBe(2);
    p.w16(PCI_EXP_SLTSTA, 0x10);
    p.w16(PCI_EXP_SLTCTL, 0x07c0 | 0x19); // HPIE off
    expect([p.sltctl(), p.sltsta(), n()]).toEqual([0x07d9, 0x0010, 2]);
    b.add({ driver: 'e1000e', id: 'h2', bus: 'ioh' });
    expect([p.sltsta(), n()]).toEqual([0x0059, 2]);
    p.w16(PCI_EXP_SLTCTL, ALL_ENABLED);
    expect(n()).toBe(3);
    p.w16(PCI_EXP_SLTSTA, 0x19);
    expect([p.sltsta(), n()]).toEqual([0x0040, 3]);
  });

  it('xio3130-downstream uses MSI and has no INTx to fall back on', () => {
    const b = buildBoard([
      rootPort('rp1', 1), { driver: 'x3130-upstream', id: 'up1', bus: 'rp1' },
      { driver: 'xio3130-downstream', id: 'dn1', bus: 'up1', chassis: 1, slot: 4, addr: '0' },
    ]);
    numberBuses(b);
    const p = portView(b, 'dn1');
    expect(b.gv.configRead(p.bdf, regs.PCI_INTERRUPT_PIN, 1)).toBe(0);
    p.w16(PCI_EXP_SLTCTL, ALL_ENABLED);
    b.add({ driver: 'e1000e', bus: 'dn1' });
    expect([p.sltsta(), b.intx.length, b.msis.length, intxStatus(b, 'dn1')]).toEqual([0x0059, 0, 0, false]);
    p.w16(PCI_EXP_SLTSTA, 0x19);
    enableMsi(b, 'dn1', MSI_ADDR, MSI_DATA);
    p.w16(PCI_EXP_SLTCTL, ALL_ENABLED);
    expect(b.msis).toEqual([{ dev: 'dn1', address: BigInt(MSI_ADDR), data: MSI_DATA }]);
  });
});

describe('INTx (root ports without MSI/MSI-X)', () => {
  it('follows the condition, and any config write to a root port drops it (AER root rule)', () => {
    const b = buildBoard([rootPort('rp1', 1)]);
    const p = portView(b, 'rp1');
    const st = () => [p.sltctl(), p.sltsta(), intxStatus(b, 'rp1')];
    p.w16(PCI_EXP_SLTCTL, ALL_ENABLED);
    expect(st()).toEqual([0x07f9, 0x0010, false]);
    expect(b.intx.map((i) => i.level)).toEqual([1, 0]); // CC asserted it, the same write dropped it
    p.w16(PCI_EXP_SLTSTA, 0x10);
    b.add({ driver: 'e1000e', id: 'h1', bus: 'rp1' });
    expect(st()).toEqual([0x07f9, 0x0049, true]);
    expect(b.intx.at(-1)).toMatchObject({ dev: 'rp1', level: 1 });
    p.w16(PCI_EXP_SLTSTA, 0x08);
    expect(st()).toEqual([0x07f9, 0x0041, false]);
    p.w16(PCI_EXP_SLTSTA, 0x01);
    expect(st()).toEqual([0x07f9, 0x0040, false]);
    p.w16(PCI_EXP_SLTCTL, 0x07c0 | 0x31);
    expect(st()).toEqual([0x07f1, 0x0050, false]);
    p.w16(PCI_EXP_SLTSTA, 0x10);
    p.w16(PCI_EXP_SLTCTL, 0x07c0 | 0x30);
    p.w16(PCI_EXP_SLTSTA, 0x10);
    expect(b.del('h1')).toBe('ok'); // PCC off + PIC off: removed at once
    expect(st()).toEqual([0x07f0, 0x0008, false]);
  });

  it('an asserted line survives until the next config write, wherever it goes (ioh3420 too)', () => {
    for (const driver of ['pcie-root-port', 'ioh3420']) {
      const b = buildBoard([{ driver, id: 'p', chassis: 2, slot: 1, addr: '2' }]);
      const p = portView(b, 'p');
      p.w16(PCI_EXP_SLTCTL, 0x03c0 | 0x39);
      p.w16(PCI_EXP_SLTSTA, 0x10);
      b.add({ driver: 'e1000e', id: 'h', bus: 'p' });
      expect([p.sltsta(), intxStatus(b, 'p')]).toEqual([0x0049, true]);
      b.gv.configWrite(p.bdf, regs.PCI_INTERRUPT_LINE, 0x0b, 1);
      expect([p.sltsta(), intxStatus(b, 'p')]).toEqual([0x0049, false]);
      expect(b.del('h')).toBe('ok');
      expect([p.sltsta(), intxStatus(b, 'p')]).toEqual([0x0049, false]);
    }
  });
});
