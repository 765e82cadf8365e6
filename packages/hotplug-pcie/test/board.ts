/**
 * A tiny q35-like board in native PCIe hotplug mode (`-M q35 -nodefaults -global
 * ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off`) with this backend loaded: pci-core's
 * shared test board (test/support/q35-board.ts), plus the PCIe port accessors these tests use.
 */
import type { PropValue } from '@plugboard/qdev';
import { caps, regs, type Bdf, type PCIBus } from '@plugboard/pci-core';
import { buildQ35Board, q35Registry, type MsiRecord, type Q35Board } from '../../pci-core/test/support/q35-board.js';
import { pcieHotplugPlugin } from '../src/index.js';

export type { MsiRecord };
export type Board = Q35Board;

export const registry = () => q35Registry(pcieHotplugPlugin);

export function buildBoard(devices: Array<Record<string, PropValue>> = [], opts: { beforeColdPlug?: (b: Board) => void } = {}): Board {
  return buildQ35Board(pcieHotplugPlugin, { devices, ...opts });
}

/** Adds a device, returning QEMU's error text instead of throwing. */
export function tryAdd(b: Board, opts: Record<string, PropValue>): string {
  return b.tryAdd(opts);
}

/** Firmware-style bus numbering through config writes: depth first, devfn order. */
export function numberBuses(b: Board): void {
  let next = 0;
  const walk = (bus: PCIBus, busNr: number): void => {
    for (const d of [...bus.inDevfnOrder()]) {
      if (!d.isBridge) continue;
      const bdf = { bus: busNr, devfn: d.devfn };
      const sec = ++next;
      b.gv.configWrite(bdf, regs.PCI_PRIMARY_BUS, busNr | (sec << 8) | (0xff << 16), 4);
      walk((d as unknown as { secondaryBus: PCIBus }).secondaryBus, sec);
      b.gv.configWrite(bdf, regs.PCI_PRIMARY_BUS, busNr | (sec << 8) | (next << 16), 4);
    }
  };
  walk(b.root, 0);
}

/** Guest accessors for a port's PCI Express capability registers. */
export interface PortView {
  bdf: Bdf;
  exp: number;
  r16(reg: number): number;
  r32(reg: number): number;
  w16(reg: number, v: number): void;
  w32(reg: number, v: number): void;
  w8(reg: number, v: number): void;
  sltctl(): number;
  sltsta(): number;
  lnksta(): number;
}

export function portView(b: Board, id: string): PortView {
  const d = b.dev(id);
  const exp = d.caps.get(regs.PCI_CAP_ID_EXP)!;
  const bdf = { bus: d.pciBus.number, devfn: d.devfn };
  const v: PortView = {
    bdf, exp,
    r16: (reg) => b.gv.configRead(bdf, exp + reg, 2),
    r32: (reg) => b.gv.configRead(bdf, exp + reg, 4),
    w16: (reg, val) => b.gv.configWrite(bdf, exp + reg, val, 2),
    w32: (reg, val) => b.gv.configWrite(bdf, exp + reg, val, 4),
    w8: (reg, val) => b.gv.configWrite(bdf, exp + reg, val, 1),
    sltctl: () => v.r16(caps.PCI_EXP_SLTCTL),
    sltsta: () => v.r16(caps.PCI_EXP_SLTSTA),
    lnksta: () => v.r16(caps.PCI_EXP_LNKSTA),
  };
  return v;
}

/** Vendor/device dword of the function at devfn on the port's secondary bus, as the guest reads it. */
export function childId(b: Board, portId: string, devfn = 0): number {
  const port = b.dev(portId);
  const sec = port.config.get8(regs.PCI_SECONDARY_BUS);
  return b.gv.configRead({ bus: sec, devfn }, regs.PCI_VENDOR_ID, 4);
}

export const MSIX_BAR_BASE = 0xfe000000;

/** Programs BAR0 and MSI-X vector 0 of a pcie-root-port and enables MSI-X. */
export function enableMsix(b: Board, id: string, address: number, data: number): void {
  const d = b.dev(id);
  const bdf = { bus: d.pciBus.number, devfn: d.devfn };
  b.gv.configWrite(bdf, regs.PCI_BASE_ADDRESS_0, MSIX_BAR_BASE, 4);
  b.gv.configWrite(bdf, regs.PCI_COMMAND, regs.PCI_COMMAND_MEMORY | regs.PCI_COMMAND_MASTER, 2);
  b.gv.mmioWrite(MSIX_BAR_BASE, address, 4);
  b.gv.mmioWrite(MSIX_BAR_BASE + 4, 0, 4);
  b.gv.mmioWrite(MSIX_BAR_BASE + 8, data, 4);
  b.gv.mmioWrite(MSIX_BAR_BASE + 12, 0, 4);
  const msix = d.caps.get(regs.PCI_CAP_ID_MSIX)!;
  b.gv.configWrite(bdf, msix + regs.PCI_MSIX_FLAGS, regs.PCI_MSIX_FLAGS_ENABLE, 2);
}

/** Programs and enables MSI (layout from the capability's own flags). */
export function enableMsi(b: Board, id: string, address: number, data: number): void {
  const d = b.dev(id);
  const bdf = { bus: d.pciBus.number, devfn: d.devfn };
  const msi = d.caps.get(regs.PCI_CAP_ID_MSI)!;
  const is64 = (b.gv.configRead(bdf, msi + regs.PCI_MSI_FLAGS, 2) & regs.PCI_MSI_FLAGS_64BIT) !== 0;
  b.gv.configWrite(bdf, regs.PCI_COMMAND, regs.PCI_COMMAND_MASTER, 2);
  b.gv.configWrite(bdf, msi + regs.PCI_MSI_ADDRESS_LO, address, 4);
  b.gv.configWrite(bdf, msi + (is64 ? regs.PCI_MSI_DATA_64 : regs.PCI_MSI_DATA_32), data, 2);
  b.gv.configWrite(bdf, msi + regs.PCI_MSI_FLAGS, regs.PCI_MSI_FLAGS_ENABLE, 2);
}

/** The INTx status bit of a function (PCI_STATUS.INTERRUPT), as the guest reads it. */
export function intxStatus(b: Board, id: string): boolean {
  const d = b.dev(id);
  return (b.gv.configRead({ bus: d.pciBus.number, devfn: d.devfn }, regs.PCI_STATUS, 2) & regs.PCI_STATUS_INTERRUPT) !== 0;
}

/** `-device pcie-root-port,id=ID,chassis=1,slot=N,addr=N` */
export const rootPort = (id: string, slot: number, extra: Record<string, PropValue> = {}): Record<string, PropValue> => ({
  driver: 'pcie-root-port', id, chassis: 1, slot, addr: slot.toString(16), ...extra,
});
