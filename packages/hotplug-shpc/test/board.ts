/**
 * A tiny q35-like board (`-M q35 -nodefaults -global
 * ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off`) with this backend loaded: pci-core's
 * shared test board (test/support/q35-board.ts), plus the SHPC accessors these tests use.
 */
import type { PropValue } from '@plugboard/qdev';
import { regs } from '@plugboard/pci-core';
import { buildQ35Board, type Q35Board } from '../../pci-core/test/support/q35-board.js';
import { shpcHotplugPlugin } from '../src/index.js';

export type Board = Q35Board;

export function buildBoard(devices: Array<Record<string, PropValue>> = []): Board {
  return buildQ35Board(shpcHotplugPlugin, { devices });
}

/** Where the tests put BAR0 of the bridge at 00:01.0. */
export const BAR_BASE = 0xfe000000;

/** Guest accessors for the SHPC of a bridge on pcie.0: config window and BAR0 MMIO. */
export interface ShpcView {
  bdf: { bus: number; devfn: number };
  cap: number;
  cfg8(off: number): number;
  cfg32(off: number): number;
  cfgW8(off: number, v: number): void;
  cfgW32(off: number, v: number): void;
  /** DWORD SELECT then DWORD DATA, as Linux's shpc_indirect_read does. */
  indirect(index: number): number;
  r8(off: number): number;
  r16(off: number): number;
  r32(off: number): number;
  w8(off: number, v: number): void;
  w16(off: number, v: number): void;
  w32(off: number, v: number): void;
  slot(n: number): number;
}

/** Programs BAR0 and memory decoding of bridge `id` (on bus 0) and returns its accessors. */
export function shpcView(b: Board, id: string, barBase = BAR_BASE): ShpcView {
  const d = b.dev(id);
  const bdf = { bus: d.pciBus.number, devfn: d.devfn };
  const cap = d.caps.get(regs.PCI_CAP_ID_SHPC) ?? 0;
  b.gv.configWrite(bdf, regs.PCI_BASE_ADDRESS_0, barBase, 4);
  b.gv.configWrite(bdf, regs.PCI_BASE_ADDRESS_0 + 4, 0, 4);
  b.gv.configWrite(bdf, regs.PCI_COMMAND, b.gv.configRead(bdf, regs.PCI_COMMAND, 2) | regs.PCI_COMMAND_MEMORY, 2);
  const v: ShpcView = {
    bdf, cap,
    cfg8: (off) => b.gv.configRead(bdf, off, 1),
    cfg32: (off) => b.gv.configRead(bdf, off, 4),
    cfgW8: (off, x) => b.gv.configWrite(bdf, off, x, 1),
    cfgW32: (off, x) => b.gv.configWrite(bdf, off, x, 4),
    indirect: (index) => {
      v.cfgW8(cap + 2, index);
      return v.cfg32(cap + 4);
    },
    r8: (off) => b.gv.mmioRead(barBase + off, 1),
    r16: (off) => b.gv.mmioRead(barBase + off, 2),
    r32: (off) => b.gv.mmioRead(barBase + off, 4),
    w8: (off, x) => b.gv.mmioWrite(barBase + off, x, 1),
    w16: (off, x) => b.gv.mmioWrite(barBase + off, x, 2),
    w32: (off, x) => b.gv.mmioWrite(barBase + off, x, 4),
    slot: (n) => v.r32(0x24 + (n - 1) * 4),
  };
  return v;
}

/** Programs and enables MSI of bridge `id` (64-bit capability). */
export function enableMsi(b: Board, id: string, data: number): void {
  const d = b.dev(id);
  const bdf = { bus: d.pciBus.number, devfn: d.devfn };
  const msi = d.caps.get(regs.PCI_CAP_ID_MSI)!;
  b.gv.configWrite(bdf, msi + regs.PCI_MSI_ADDRESS_LO, 0xfee00000, 4);
  b.gv.configWrite(bdf, msi + regs.PCI_MSI_DATA_64, data, 2);
  b.gv.configWrite(bdf, msi + regs.PCI_MSI_FLAGS, regs.PCI_MSI_FLAGS_ENABLE, 2);
}

export const bridge = (id: string, addr: string, extra: Record<string, PropValue> = {}): Record<string, PropValue> => ({
  driver: 'pci-bridge', id, chassis_nr: 1, addr, ...extra,
});
export const nic = (id: string, bus: string, addr?: string, extra: Record<string, PropValue> = {}): Record<string, PropValue> => ({
  driver: 'e1000', id, bus, ...(addr === undefined ? {} : { addr }), ...extra,
});
