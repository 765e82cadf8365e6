/**
 * A tiny q35-like board (`-M q35 -nodefaults -global
 * ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off`): host bridge, pcie.0 without a hotplug
 * handler, MCH at 00.0, the `-device` options, then the first reset. Types come through
 * PluginSet as the CLI loads them; the guest side goes through GuestView only.
 */
import { Machine, PluginSet, TypeRegistry, coreTypes, definePlugin, deviceAdd, deviceDel, type MachineEvent, type PropValue } from '@plugboard/qdev';
import { GuestView, pciCatalogPlugin, regs, type PCIBus, type PCIDevice, type PCIHostBridge } from '@plugboard/pci-core';
import { shpcHotplugPlugin } from '../src/index.js';

export interface Board {
  machine: Machine;
  gv: GuestView;
  root: PCIBus;
  events: MachineEvent[];
  msis: Array<{ dev: string; data: number }>;
  intx: Array<{ dev: string; pin: number; level: number }>;
  add(opts: Record<string, PropValue>): PCIDevice;
  /** device_add / device_del returning QEMU's error text or 'ok'. */
  tryAdd(opts: Record<string, PropValue>): string;
  del(id: string): string;
  dev(id: string): PCIDevice;
  deleted(): string[];
}

export function registry(): TypeRegistry {
  const set = new PluginSet(new TypeRegistry());
  set.load(definePlugin({ name: '@plugboard/qdev', types: coreTypes }));
  set.load(pciCatalogPlugin);
  set.load(shpcHotplugPlugin);
  return set.registry;
}

const text = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return (e as Error).message;
  }
};

export function buildBoard(devices: Array<Record<string, PropValue>> = []): Board {
  const machine = new Machine({ registry: registry(), typeName: 'pc-q35-7.2-machine' });
  const host = machine.newDevice('q35-pcihost') as PCIHostBridge;
  machine.addChild('q35', host);
  const root = host.createRootBus('pcie.0', true);
  host.realize(machine.sysbus);
  root.realized = true;
  const mch = machine.newDevice('mch');
  host.addChild('mch', mch);
  mch.realize(root);
  const gv = new GuestView(() => [host], () => machine.clock.nowNs());
  const board: Board = {
    machine, gv, root, events: [], msis: [], intx: [],
    add: (o) => deviceAdd(machine, o) as PCIDevice,
    tryAdd: (o) => text(() => deviceAdd(machine, o)),
    del: (id) => text(() => deviceDel(machine, id)),
    dev: (id) => {
      const d = machine.deviceById(id);
      if (!d) throw new Error(`no device ${id}`);
      return d as PCIDevice;
    },
    deleted: () => board.events.filter((e) => e.name === 'DEVICE_DELETED').map((e) => String(e.data?.device ?? e.data?.path)),
  };
  root.msiSink = { msi: (dev, _address, data) => board.msis.push({ dev: dev.id ?? dev.typeName, data }) };
  root.intxSink = { intx: (dev, pin, level) => board.intx.push({ dev: dev.id ?? dev.typeName, pin, level }) };
  machine.events.on((ev) => board.events.push(ev));
  for (const d of devices) deviceAdd(machine, d);
  machine.finishInit();
  return board;
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
