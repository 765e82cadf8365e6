/**
 * msix_capability_init (drivers/pci/msi/msi.c) as every driver in the guest runs it: MSI-X on
 * with the function masked, the entries' Vector Control words read, each entry programmed by
 * the caller, INTx off, every entry masked, the function unmasked.
 */
import { regs as R } from '@plugboard/pci-core';
import type { PciDev } from './pci-dev.js';

export const PCI_MSIX_ENTRY_LOWER_ADDR = 0x0;
export const PCI_MSIX_ENTRY_UPPER_ADDR = 0x4;
export const PCI_MSIX_ENTRY_DATA = 0x8;
export const PCI_MSIX_ENTRY_VECTOR_CTRL = 0xc;
export const PCI_MSIX_ENTRY_CTRL_MASKBIT = 0x1;
const PCI_MSIX_TABLE_BIR = 0x7;
const PCI_MSIX_TABLE_OFFSET = 0xfffffff8;

export function pciClearAndSet16(dev: PciDev, off: number, clear: number, set: number): void {
  dev.write16(off, (dev.read16(off) & ~clear) | set);
}

/** pci_intx(dev, 0) as MSI set-up calls it: INTx Disable, written only when it changes. */
export function pciIntxDisable(dev: PciDev): void {
  const cmd = dev.read16(R.PCI_COMMAND);
  if (!(cmd & R.PCI_COMMAND_INTX_DISABLE)) dev.write16(R.PCI_COMMAND, cmd | R.PCI_COMMAND_INTX_DISABLE);
}

export interface MsixTable {
  /** Guest-physical address of table entry `i`. */
  entry(i: number): number;
  /** Config offset of the Message Control word. */
  flags: number;
}

/**
 * Runs the sequence for `nvec` entries; `program(i, ctrl)` writes entry i (its Vector Control
 * word as read is `ctrl`). Undefined, with MSI-X off again, when the table's BAR is unusable.
 */
export function msixCapabilityInit(dev: PciDev, cap: number, nvec: number, program: (i: number, ctrl: number, table: MsixTable) => void): MsixTable | undefined {
  const flags = cap + R.PCI_MSIX_FLAGS;
  pciClearAndSet16(dev, flags, 0, R.PCI_MSIX_FLAGS_MASKALL | R.PCI_MSIX_FLAGS_ENABLE);
  const tsize = (dev.read16(flags) & R.PCI_MSIX_FLAGS_QSIZE) + 1;
  const tableReg = dev.read32(cap + R.PCI_MSIX_TABLE);
  const bar = dev.resources[tableReg & PCI_MSIX_TABLE_BIR];
  if (!bar || bar.kind !== 'mem') {
    pciClearAndSet16(dev, flags, R.PCI_MSIX_FLAGS_MASKALL | R.PCI_MSIX_FLAGS_ENABLE, 0);
    return undefined;
  }
  const base = bar.start + ((tableReg & PCI_MSIX_TABLE_OFFSET) >>> 0);
  const table: MsixTable = { entry: (i) => base + i * R.PCI_MSIX_ENTRY_SIZE, flags };
  const ctrl: number[] = [];
  for (let i = 0; i < nvec; i++) ctrl.push(dev.view.mmioRead(table.entry(i) + PCI_MSIX_ENTRY_VECTOR_CTRL, 4));
  for (let i = 0; i < nvec; i++) program(i, ctrl[i]!, table);
  pciIntxDisable(dev);
  for (let i = 0; i < tsize; i++) dev.view.mmioWrite(table.entry(i) + PCI_MSIX_ENTRY_VECTOR_CTRL, PCI_MSIX_ENTRY_CTRL_MASKBIT, 4);
  pciClearAndSet16(dev, flags, R.PCI_MSIX_FLAGS_MASKALL, 0);
  return table;
}
