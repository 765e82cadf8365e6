/**
 * SeaBIOS's BAR sizing and address allocation (src/fw/pciinit.c pci_bios_get_bar,
 * pci_bios_check_devices, pci_bios_map_devices and the pci_region_* helpers):
 * per-bus region lists sorted by alignment, bridge windows sized bottom-up with hotplug
 * reservations, then placed top-down from the root windows.
 */
import { regs as R, caps as C } from '@plugboard/pci-core';
import { bdfBus, fmtBdf, PCI_CLASS_BRIDGE_PCI, PCI_CLASS_SERIAL_USB, type FwDevice } from './fw-pci.js';

/** SeaBIOS panic(): the message goes to the debug console and the CPU halts (src/output.c). */
export class FirmwarePanic extends Error {}
import type { PlatformState } from './chipset.js';

const PCI_DEVICE_MEM_MIN = 1 << 12; // 4k == page size
const PCI_BRIDGE_MEM_MIN = 1 << 21; // 2M == hugepage size
const PCI_BRIDGE_IO_MIN = 0x1000; // mandated by the PCI bridge spec
const PCI_BRIDGE_NUM_REGIONS = 2;
const PCI_ROM_ADDRESS_MASK = 0xfffff800;
const PCI_BASE_ADDRESS_IO_MASK = 0xfffffffc;
const PCI_BASE_ADDRESS_MEM_MASK = 0xfffffff0;
const GiB = 2 ** 30;
const FOUR_GIB = 2 ** 32;

/** QEMU's Red Hat vendor capability with resource reservation hints (src/fw/dev-pci.h). */
const PCI_VENDOR_ID_REDHAT = 0x1b36;
const PCI_DEVICE_ID_REDHAT_BRIDGE = 0x0001;
const PCI_DEVICE_ID_REDHAT_ROOT_PORT = 0x000c;
const PCI_CAP_FLAGS = 2;
const PCI_CAP_REDHAT_TYPE_OFFSET = 3;
const REDHAT_CAP_RESOURCE_RESERVE = 1;
export const RES_RESERVE_BUS_RES = 4;
const RES_RESERVE_IO = 8;
const RES_RESERVE_MEM = 16;
const RES_RESERVE_PREF_MEM_32 = 20;
const RES_RESERVE_PREF_MEM_64 = 24;
const RES_RESERVE_CAP_SIZE = 32;

export const enum RegionType {
  IO = 0,
  MEM = 1,
  PREFMEM = 2,
}
const REGION_NAMES = ['io', 'mem', 'prefmem'];
const REGION_TYPES = [RegionType.IO, RegionType.MEM, RegionType.PREFMEM];

interface RegionEntry {
  dev: FwDevice;
  /** BAR index, or -1 for a bridge window. */
  bar: number;
  size: number;
  align: number;
  is64: boolean;
  type: RegionType;
}

interface Region {
  base: number;
  /** Sorted: largest alignment first, then largest size; equal keys keep insertion order. */
  list: RegionEntry[];
}

export interface FwBus {
  r: [Region, Region, Region];
  busDev: FwDevice | undefined;
}

const newBus = (): FwBus => ({ r: [{ base: 0, list: [] }, { base: 0, list: [] }, { base: 0, list: [] }], busDev: undefined });
const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;
const alignDown = (v: number, a: number) => Math.floor(v / a) * a;
const regionAlign = (r: Region) => r.list[0]?.align ?? 1;
const regionSum = (r: Region) => r.list.reduce((s, e) => s + e.size, 0);
const hex = (v: number, w = 8) => v.toString(16).padStart(w, '0');

function barOffset(dev: FwDevice, bar: number): number {
  if (bar !== R.PCI_ROM_SLOT) return R.PCI_BASE_ADDRESS_0 + 4 * bar;
  return (dev.headerType & 0x7f) === R.PCI_HEADER_TYPE_BRIDGE ? R.PCI_ROM_ADDRESS1 : R.PCI_ROM_ADDRESS;
}

function createEntry(bus: FwBus, dev: FwDevice, bar: number, size: number, align: number, type: RegionType, is64: boolean): RegionEntry {
  const entry = { dev, bar, size, align, is64, type };
  const list = bus.r[type].list;
  let i = 0;
  while (i < list.length && !(list[i]!.align < align || (list[i]!.align === align && list[i]!.size < size))) i++;
  list.splice(i, 0, entry);
  return entry;
}

/** pci_bios_get_bar: size a BAR by writing all-ones and reading back, then restore it. */
function getBar(s: PlatformState, dev: FwDevice, bar: number): { type: RegionType; size: number; is64: boolean } {
  const fw = s.fw;
  const ofs = barOffset(dev, bar);
  const old = fw.readl(dev.bdf, ofs);
  let type = RegionType.MEM;
  let is64 = false;
  let mask: number;
  if (bar === R.PCI_ROM_SLOT) {
    mask = PCI_ROM_ADDRESS_MASK;
    fw.writel(dev.bdf, ofs, mask);
  } else {
    if (old & R.PCI_BASE_ADDRESS_SPACE_IO) {
      mask = PCI_BASE_ADDRESS_IO_MASK;
      type = RegionType.IO;
    } else {
      mask = PCI_BASE_ADDRESS_MEM_MASK;
      if (old & R.PCI_BASE_ADDRESS_MEM_PREFETCH) type = RegionType.PREFMEM;
      is64 = (old & 0x06) === R.PCI_BASE_ADDRESS_MEM_TYPE_64;
    }
    fw.writel(dev.bdf, ofs, 0xffffffff);
  }
  const val = fw.readl(dev.bdf, ofs);
  fw.writel(dev.bdf, ofs, old);
  if (!is64) return { type, is64, size: Number((~BigInt((val & mask) >>> 0) + 1n) & 0xffffffffn) };
  const hold = fw.readl(dev.bdf, ofs + 4);
  fw.writel(dev.bdf, ofs + 4, 0xffffffff);
  const high = fw.readl(dev.bdf, ofs + 4);
  fw.writel(dev.bdf, ofs + 4, hold);
  const v64 = (BigInt(high) << 32n) | BigInt((val & mask) >>> 0);
  return { type, is64, size: Number((~v64 + 1n) & 0xffffffffffffffffn) };
}

/** pci_find_resource_reserve_capability: only QEMU's own bridges and root ports carry it. */
export function findReserveCap(s: PlatformState, bdf: number): number {
  const fw = s.fw;
  if (fw.readw(bdf, R.PCI_VENDOR_ID) !== PCI_VENDOR_ID_REDHAT) return 0;
  const id = fw.readw(bdf, R.PCI_DEVICE_ID);
  if (id !== PCI_DEVICE_ID_REDHAT_ROOT_PORT && id !== PCI_DEVICE_ID_REDHAT_BRIDGE) return 0;
  let cap = 0;
  do cap = fw.findCapability(bdf, R.PCI_CAP_ID_VNDR, cap);
  while (cap && fw.readb(bdf, cap + PCI_CAP_REDHAT_TYPE_OFFSET) !== REDHAT_CAP_RESOURCE_RESERVE);
  if (cap && fw.readb(bdf, cap + PCI_CAP_FLAGS) < RES_RESERVE_CAP_SIZE) return 0;
  return cap;
}

const enum Hotplug {
  NONE,
  PCIE,
  SHPC,
}

/** pci_bus_hotplug_support: a PCIe downstream/root port with a slot, or an SHPC bridge. */
function hotplugSupport(s: PlatformState, dev: FwDevice, pcieCap: number): Hotplug {
  if (pcieCap) {
    const flags = s.fw.readw(dev.bdf, pcieCap + C.PCI_EXP_FLAGS);
    const portType = (flags & 0x00f0) >> 4;
    if (portType !== C.PCI_EXP_TYPE_PCI_BRIDGE) {
      const downstream = portType === C.PCI_EXP_TYPE_DOWNSTREAM || portType === C.PCI_EXP_TYPE_ROOT_PORT;
      return downstream && flags & C.PCI_EXP_FLAGS_SLOT ? Hotplug.PCIE : Hotplug.NONE;
    }
  }
  return s.fw.findCapability(dev.bdf, R.PCI_CAP_ID_SHPC, 0) ? Hotplug.SHPC : Hotplug.NONE;
}

/** pci_bridge_has_region: probe the window base (this leaves the window disabled). */
function bridgeHasRegion(s: PlatformState, dev: FwDevice, type: RegionType): boolean {
  if (type === RegionType.MEM) return true;
  const base = type === RegionType.IO ? R.PCI_IO_BASE : R.PCI_PREF_MEMORY_BASE;
  s.fw.writeb(dev.bdf, base, 0xff);
  return s.fw.readb(dev.bdf, base) !== 0;
}

/** pci_bios_bridge_region_is64: a 64-bit prefetchable window whose children are all 64-bit. */
function bridgeRegionIs64(s: PlatformState, r: Region, dev: FwDevice, type: RegionType): boolean {
  if (type !== RegionType.PREFMEM) return false;
  let pmem = s.fw.readl(dev.bdf, R.PCI_PREF_MEMORY_BASE);
  if (!pmem) {
    s.fw.writel(dev.bdf, R.PCI_PREF_MEMORY_BASE, 0xfff0fff0);
    pmem = s.fw.readl(dev.bdf, R.PCI_PREF_MEMORY_BASE);
    s.fw.writel(dev.bdf, R.PCI_PREF_MEMORY_BASE, 0);
  }
  if ((pmem & R.PCI_PREF_RANGE_TYPE_MASK) !== R.PCI_PREF_RANGE_TYPE_64) return false;
  return r.list.every((e) => e.is64);
}

/** The reservation the QEMU capability asks for, 0 when absent or "not set" (all ones). */
function reservedSize(s: PlatformState, bdf: number, cap: number, type: RegionType): number {
  const fw = s.fw;
  const rd64 = (off: number) => {
    const lo = fw.readl(bdf, cap + off);
    const hi = fw.readl(bdf, cap + off + 4);
    return lo === 0xffffffff && hi === 0xffffffff ? undefined : hi * FOUR_GIB + lo;
  };
  if (type === RegionType.IO) return rd64(RES_RESERVE_IO) ?? 0;
  if (type === RegionType.MEM) {
    const v = fw.readl(bdf, cap + RES_RESERVE_MEM);
    return v === 0xffffffff ? 0 : v;
  }
  const v32 = fw.readl(bdf, cap + RES_RESERVE_PREF_MEM_32);
  const v64 = rd64(RES_RESERVE_PREF_MEM_64);
  if (v32 !== 0xffffffff && v64 === undefined) return v32;
  if (v32 === 0xffffffff && v64 !== undefined) return v64;
  if (v32 !== 0xffffffff) s.log('PCI: resource reserve cap PREF32 and PREF64 conflict');
  return 0;
}

/** pci_bios_check_devices: region entries for every BAR, then bridge windows bottom-up. */
export function checkDevices(s: PlatformState, devices: FwDevice[], maxBus: number): FwBus[] {
  const busses = Array.from({ length: maxBus + 1 }, newBus);
  s.log('PCI: check devices');
  for (const dev of devices) {
    if (dev.class === PCI_CLASS_BRIDGE_PCI && busses[dev.secondaryBus]) busses[dev.secondaryBus]!.busDev = dev;
    let bus = busses[bdfBus(dev.bdf)]!;
    if (!bus.busDev) bus = busses[0]!; // every root bus shares busses[0]
    for (let i = 0; i < R.PCI_NUM_REGIONS; i++) {
      if (dev.class === PCI_CLASS_BRIDGE_PCI && i >= PCI_BRIDGE_NUM_REGIONS && i < R.PCI_ROM_SLOT) continue;
      const bar = getBar(s, dev, i);
      if (bar.size === 0) continue;
      const size = bar.type !== RegionType.IO && bar.size < PCI_DEVICE_MEM_MIN ? PCI_DEVICE_MEM_MIN : bar.size;
      createEntry(bus, dev, i, size, size, bar.type, bar.is64);
      if (bar.is64) i++;
    }
  }
  for (let secondary = maxBus; secondary > 0; secondary--) {
    const sb = busses[secondary]!;
    const bridge = sb.busDev;
    if (!bridge) continue;
    let parent = busses[bdfBus(bridge.bdf)]!;
    if (!parent.busDev) parent = busses[0]!;
    const pcieCap = s.fw.findCapability(bridge.bdf, R.PCI_CAP_ID_EXP, 0);
    const qemuCap = findReserveCap(s, bridge.bdf);
    const hotplug = hotplugSupport(s, bridge, pcieCap);
    for (const type of REGION_TYPES) {
      let align = type === RegionType.IO ? PCI_BRIDGE_IO_MIN : PCI_BRIDGE_MEM_MIN;
      if (!bridgeHasRegion(s, bridge, type)) continue;
      let size = qemuCap ? reservedSize(s, bridge.bdf, qemuCap, type) : 0;
      if (regionAlign(sb.r[type]) > align) align = regionAlign(sb.r[type]);
      let sum = regionSum(sb.r[type]);
      // A PCIe hotplug port needs no I/O window: PCIe devices must work without I/O.
      const optional = hotplug === Hotplug.PCIE && pcieCap !== 0 && type === RegionType.IO;
      if (!sum && hotplug !== Hotplug.NONE && !optional) sum = align; // room for a hot-plugged device
      if (size > sum) {
        s.log(`PCI: QEMU resource reserve cap: size ${hex(size)} type ${REGION_NAMES[type]}`);
        if (type !== RegionType.IO) size = alignUp(size, align);
      } else {
        size = alignUp(sum, align);
      }
      const is64 = bridgeRegionIs64(s, sb.r[type], bridge, type);
      createEntry(parent, bridge, -1, size, align, type, is64);
      s.log(`PCI: secondary bus ${bridge.secondaryBus} size ${hex(size)} type ${REGION_NAMES[type]}`);
    }
  }
  return busses;
}

/** pci_bios_init_root_regions_io: the traditional 0xc000 window, else from 0x1000. */
function rootRegionsIo(s: PlatformState, bus: FwBus): void {
  const r = bus.r[RegionType.IO];
  const sum = regionSum(r);
  if (sum < 0x4000) r.base = 0xc000;
  else if (sum < s.pciIoLowEnd - 0x1000) r.base = 0x1000;
  else throw new FirmwarePanic('PCI: out of I/O address space');
  s.log(`PCI: IO: ${hex(r.base, 4)} - ${hex(r.base + sum - 1, 4)}`);
}

/** pci_bios_init_root_regions_mem: the better-aligned region goes on top, below pcimem_end. */
function rootRegionsMem(s: PlatformState, bus: FwBus, pcimemEnd: number): boolean {
  let end = bus.r[RegionType.PREFMEM];
  let start = bus.r[RegionType.MEM];
  if (regionAlign(start) < regionAlign(end)) [end, start] = [start, end];
  end.base = alignDown(pcimemEnd - regionSum(end), regionAlign(end));
  start.base = alignDown(end.base - regionSum(start), regionAlign(start));
  return !(start.base < s.pcimemStart || start.base > pcimemEnd);
}

/** pci_region_map_one_entry: program a BAR, or a bridge window's base/limit registers. */
function mapOneEntry(s: PlatformState, e: RegionEntry, addr: number): void {
  const fw = s.fw;
  const bdf = e.dev.bdf;
  if (e.bar >= 0) {
    s.log(`PCI: map device bdf=${fmtBdf(bdf)}  bar ${e.bar}, addr ${hex(addr)}, size ${hex(e.size)} [${REGION_NAMES[e.type]}]`);
    const ofs = barOffset(e.dev, e.bar);
    fw.writel(bdf, ofs, addr % FOUR_GIB);
    if (e.is64) fw.writel(bdf, ofs + 4, Math.floor(addr / FOUR_GIB));
    return;
  }
  const limit = addr + e.size - 1;
  if (e.type === RegionType.IO) {
    fw.writeb(bdf, R.PCI_IO_BASE, Math.floor(addr / 0x100));
    fw.writew(bdf, R.PCI_IO_BASE_UPPER16, 0);
    fw.writeb(bdf, R.PCI_IO_LIMIT, Math.floor(limit / 0x100));
    fw.writew(bdf, R.PCI_IO_LIMIT_UPPER16, 0);
  } else if (e.type === RegionType.MEM) {
    fw.writew(bdf, R.PCI_MEMORY_BASE, Math.floor(addr / 0x10000));
    fw.writew(bdf, R.PCI_MEMORY_LIMIT, Math.floor(limit / 0x10000));
  } else {
    fw.writew(bdf, R.PCI_PREF_MEMORY_BASE, Math.floor(addr / 0x10000));
    fw.writew(bdf, R.PCI_PREF_MEMORY_LIMIT, Math.floor(limit / 0x10000));
    fw.writel(bdf, R.PCI_PREF_BASE_UPPER32, Math.floor(addr / FOUR_GIB));
    fw.writel(bdf, R.PCI_PREF_LIMIT_UPPER32, Math.floor(limit / FOUR_GIB));
  }
}

/** pci_region_map_entries: consecutive addresses from the region base, in list order. */
function mapEntries(s: PlatformState, busses: FwBus[], r: Region): void {
  for (const e of r.list) {
    const addr = r.base;
    r.base += e.size;
    // A bridge window becomes the base its secondary bus allocates from.
    if (e.bar === -1) busses[e.dev.secondaryBus]!.r[e.type].base = addr;
    mapOneEntry(s, e, addr);
  }
  r.list = [];
}

/** pci_region_migrate_64bit_entries: 64-bit BARs (USB excepted) leave the 32-bit window. */
function migrate64(from: Region, to: Region): void {
  const keep: RegionEntry[] = [];
  for (const e of from.list) (e.is64 && e.dev.class !== PCI_CLASS_SERIAL_USB ? to.list : keep).push(e);
  from.list = keep;
}

export interface MapOptions {
  pcimemEnd: number;
  /** RAM above 4 GiB (RamSizeOver4G). */
  ramOver4G: number;
  /** fw_cfg `etc/reserved-memory-end` (memory hotplug area end), 0 when absent. */
  reservedMemoryEnd: number;
}

/** pci_bios_map_devices: root windows, the 64-bit fallback, then every bus in number order. */
export function mapDevices(s: PlatformState, busses: FwBus[], o: MapOptions): { pcimem64Start: number; pcimem64End: number } {
  const root = busses[0]!;
  rootRegionsIo(s, root);
  s.log(`PCI: 32: ${hex(s.pcimemStart, 16)} - ${hex(o.pcimemEnd, 16)}`);
  let window64 = { pcimem64Start: 0, pcimem64End: 0 };
  if (!rootRegionsMem(s, root, o.pcimemEnd)) {
    const mem: Region = { base: 0, list: [] };
    const pref: Region = { base: 0, list: [] };
    migrate64(root.r[RegionType.MEM], mem);
    migrate64(root.r[RegionType.PREFMEM], pref);
    if (!rootRegionsMem(s, root, o.pcimemEnd)) throw new FirmwarePanic('PCI: out of 32bit address space');
    mem.base = Math.max(o.reservedMemoryEnd, FOUR_GIB + o.ramOver4G);
    mem.base = alignUp(alignUp(mem.base, regionAlign(mem)), GiB); // 1G hugepage
    pref.base = alignUp(alignUp(mem.base + regionSum(mem), regionAlign(pref)), GiB);
    window64 = { pcimem64Start: mem.base, pcimem64End: alignUp(pref.base + regionSum(pref), GiB) };
    s.log(`PCI: 64: ${hex(window64.pcimem64Start, 16)} - ${hex(window64.pcimem64End, 16)}`);
    mapEntries(s, busses, mem);
    mapEntries(s, busses, pref);
  }
  for (const bus of busses) for (const type of REGION_TYPES) mapEntries(s, busses, bus.r[type]);
  return window64;
}
