/**
 * The PCI core's resource assignment, one implementation for every caller (Linux:
 * drivers/pci/setup-bus.c, setup-res.c, bus.c pci_bus_alloc_resource, kernel/resource.c
 * allocate_resource, arch/x86/pci/i386.c pcibios_align_resource):
 *
 * - `assignBusResources`: the unassigned BARs and ROMs of new functions, largest alignment
 *   first (pdev_sort_resources), each at the lowest free aligned address of the first bus
 *   window that may hold it (__pci_assign_resource's window order), written and read back
 *   (pci_std_update_resource). acpiphp calls it (__pci_bus_assign_resources).
 * - `setupBridge`: pci_setup_bridge, a bridge's bus range and windows printed and programmed.
 * - `assignUnassignedBridgeResources`: pci_assign_unassigned_bridge_resources below one
 *   bridge: the bridge's missing I/O window when it is a hotplug bridge and a new function
 *   needs I/O, the new functions' resources, pci_setup_bridge, and the bridge re-enabled for
 *   a new window. pciehp and shpchp call it.
 *
 * Not modelled: resizing windows (the firmware's stay as they are), windows for a hot-added
 * bridge, pci_revert_fw_address.
 */
import { regs as R } from '@plugboard/pci-core';
import type { DriverHost } from './drivers.js';
import { formatResource, type GuestPciBus, type PciDev, type PciResource } from './pci-dev.js';

/** arch/x86: PCIBIOS_MIN_IO, the I/O space end, and a bridge I/O window's granularity. */
export const PCIBIOS_MIN_IO = 0x1000;
export const IO_SPACE_END = 0xffff;
export const IO_WINDOW_ALIGN = 0x1000;
/** arch/x86 pcibios_align_resource: I/O ranges avoid the ISA alias bits 8-9. */
const ISA_ALIAS_BITS = 0x300;
const ISA_ALIAS_ALIGN = 0x400;
const FOUR_GIB = 2 ** 32;
/** The bridge windows of a bus (pci_bus->resource[0..2]). */
export const WIN_IO = 0;
export const WIN_MEM = 1;
export const WIN_PREF = 2;

/** A range something already decodes. */
export interface Claim {
  kind: string;
  start: number;
  end: number;
}

export const resourceSize = (r: PciResource): number => r.end - r.start + 1;
const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

/** pci_resource_name (as Debian's 6.1 prints it): `BAR 0`, `ROM`. */
export const resourceName = (idx: number): string => (idx === R.PCI_ROM_SLOT ? 'ROM' : `BAR ${idx}`);

/** %pR of an unassigned resource: `[io  size 0x0020]`, `[mem size 0x00004000 64bit pref]`. */
export function formatUnset(r: PciResource, size = resourceSize(r)): string {
  const width = r.kind === 'io' ? 4 : 8;
  return `[${r.kind === 'io' ? 'io ' : 'mem'} size 0x${size.toString(16).padStart(width, '0')}${r.is64 ? ' 64bit' : ''}${r.pref ? ' pref' : ''}]`;
}

/**
 * What already decodes inside `bus`' windows (the children of its window resources): the
 * assigned BARs of its functions other than `except`, and the windows of bridges on it.
 */
export function busClaims(bus: GuestPciBus, except: ReadonlySet<PciDev> = new Set()): Claim[] {
  const out: Claim[] = [];
  for (const d of bus.devices) {
    if (except.has(d)) continue;
    for (const r of d.resources) if (r && r.start) out.push(r);
    for (const w of d.subordinate?.windows ?? []) if (w) out.push(w);
  }
  return out;
}

/**
 * allocate_resource: the lowest address in [start, end] aligned to `align` (and, for I/O,
 * off the ISA alias bits) where `size` bytes clash with nothing of the same kind in `taken`.
 */
export function allocate(kind: string, start: number, end: number, size: number, align: number, taken: readonly Claim[]): number | undefined {
  let at = alignUp(start, align);
  for (;;) {
    if (kind === 'io' && at & ISA_ALIAS_BITS) at = alignUp(at, ISA_ALIAS_ALIGN);
    if (at + size - 1 > end) return undefined;
    const hit = taken.find((u) => u.kind === kind && u.start <= at + size - 1 && at <= u.end);
    if (!hit) return at;
    at = alignUp(hit.end + 1, align);
  }
}

/**
 * __pci_assign_resource's window order: exact prefetch/64-bit match, then (64-bit
 * prefetchable) any prefetchable window, then (prefetchable or 64-bit) any memory window a
 * resource may use: never a prefetchable window for a non-prefetchable BAR, never a window
 * above 4 GiB for a 32-bit one. A 32-bit prefetchable ROM therefore lands in the
 * non-prefetchable window when the prefetchable one is 64-bit (recorded: ROM at 0xfe600000).
 */
function windowsFor(windows: ReadonlyArray<PciResource | undefined>, r: PciResource): PciResource[] {
  const wins = windows.filter((w): w is PciResource => !!w && w.kind === r.kind);
  if (r.kind === 'io') return wins;
  const fits = (w: PciResource) => (r.is64 || w.end < FOUR_GIB) && (!w.pref || !!r.pref);
  const exact = wins.filter((w) => !!w.pref === !!r.pref && !!w.is64 === !!r.is64);
  const prefOnly = r.pref && r.is64 ? wins.filter((w) => w.pref) : [];
  const any = r.pref || r.is64 ? wins : [];
  return [...exact, ...prefOnly, ...any].filter(fits);
}

/** pci_std_update_resource: a BAR written and read back, both halves of a 64-bit one; a disabled ROM is left alone. */
function updateResource(dev: PciDev, idx: number, r: PciResource): void {
  if (idx === R.PCI_ROM_SLOT) return;
  const reg = R.PCI_BASE_ADDRESS_0 + 4 * idx;
  const flags = r.kind === 'io' ? R.PCI_BASE_ADDRESS_SPACE_IO : (r.is64 ? R.PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) | (r.pref ? R.PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
  dev.write32(reg, ((r.start % FOUR_GIB) | flags) >>> 0);
  dev.read32(reg);
  if (r.is64) {
    dev.write32(reg + 4, Math.floor(r.start / FOUR_GIB));
    dev.read32(reg + 4);
  }
}

/**
 * Assigns the unassigned BARs and ROMs of `devs` inside `windows` (the bus' bridge windows,
 * or the host bridge's for a root bus), avoiding what `bus` already decodes, and prints
 * Linux's lines against each function (`pci 0000:01:00.0: BAR 0 [mem ...]: assigned`).
 */
export function assignBusResources(host: DriverHost, bus: GuestPciBus, devs: readonly PciDev[], windows: ReadonlyArray<PciResource | undefined>): void {
  const todo: Array<{ dev: PciDev; idx: number; res: PciResource; size: number }> = [];
  for (const dev of devs) dev.resources.forEach((res, idx) => res && res.start === 0 && todo.push({ dev, idx, res, size: resourceSize(res) }));
  // pdev_sort_resources: one list, by alignment (= size for a BAR or ROM), largest first, stable.
  todo.sort((a, b) => b.size - a.size);
  const taken = busClaims(bus, new Set(devs));
  for (const { dev, idx, res, size } of todo) {
    const min = res.kind === 'io' ? PCIBIOS_MIN_IO : 0;
    let at: number | undefined;
    for (const w of windowsFor(windows, res)) if ((at = allocate(res.kind, Math.max(w.start, min), w.end, size, size, taken)) !== undefined) break;
    const name = resourceName(idx);
    if (at === undefined) {
      host.log('pci', dev, `${name} ${formatUnset(res, size)}: can't assign; no space`);
      host.log('pci', dev, `${name} ${formatUnset(res, size)}: failed to assign`);
      continue;
    }
    const placed: PciResource = { ...res, start: at, end: at + size - 1 };
    dev.resources[idx] = placed;
    taken.push(placed);
    host.log('pci', dev, `${name} ${formatResource(placed)}: assigned`);
    updateResource(dev, idx, placed);
  }
}

/**
 * pci_setup_bridge: prints the bridge's bus range and windows against it (`driver` is the
 * bridge's driver, `pci` before one binds) and programs them; the I/O range is disabled
 * (upper base above limit) while its low half changes. `program` false prints only (see
 * assignBridgeWindows).
 */
export function setupBridge(host: DriverHost, bridge: PciDev, driver: string, program = true): void {
  const bus = bridge.subordinate!;
  const log = (t: string) => host.log(driver, bridge, t);
  log(`PCI bridge to ${formatResource({ kind: 'bus', start: bus.number, end: bus.busnEnd })}`);
  const io = bus.windows[WIN_IO];
  const mem = bus.windows[WIN_MEM];
  const pref = bus.windows[WIN_PREF];
  if (!program) {
    for (const w of [io, mem, pref]) if (w) log(`  bridge window ${formatResource(w)}`);
    return;
  }
  if (io) log(`  bridge window ${formatResource(io)}`);
  bridge.write32(R.PCI_IO_BASE_UPPER16, 0x0000ffff);
  bridge.write16(R.PCI_IO_BASE, io ? ((((io.end >> 8) & 0xf0) << 8) | ((io.start >> 8) & 0xf0)) : 0x00f0);
  bridge.write32(R.PCI_IO_BASE_UPPER16, io ? ((io.end & 0xffff0000) | (io.start >>> 16)) >>> 0 : 0);
  if (mem) log(`  bridge window ${formatResource(mem)}`);
  bridge.write32(R.PCI_MEMORY_BASE, mem ? (((mem.start / 0x10000) & 0xfff0) | (mem.end & 0xfff00000)) >>> 0 : 0x0000fff0);
  bridge.write32(R.PCI_PREF_LIMIT_UPPER32, 0);
  if (pref) log(`  bridge window ${formatResource(pref)}`);
  const lo = (v: number) => v % FOUR_GIB;
  bridge.write32(R.PCI_PREF_MEMORY_BASE, pref ? (((lo(pref.start) / 0x10000) & 0xfff0) | (lo(pref.end) & 0xfff00000)) >>> 0 : 0x0000fff0);
  bridge.write32(R.PCI_PREF_BASE_UPPER32, pref?.is64 ? Math.floor(pref.start / FOUR_GIB) : 0);
  bridge.write32(R.PCI_PREF_LIMIT_UPPER32, pref?.is64 ? Math.floor(pref.end / FOUR_GIB) : 0);
  bridge.write16(R.PCI_BRIDGE_CONTROL, bridge.read16(R.PCI_BRIDGE_CONTROL));
}

/**
 * A bridge's I/O window of `size` bytes from its parent bus' free I/O space (the parent's
 * window, or the host bridge's I/O space above PCIBIOS_MIN_IO); undefined when none is left.
 */
export function allocateIoWindow(bridge: PciDev, size: number): PciResource | undefined {
  const parent = bridge.bus;
  const range = parent.self ? parent.windows[WIN_IO] : { start: PCIBIOS_MIN_IO, end: IO_SPACE_END };
  if (!range) return undefined;
  const taken = busClaims(parent, new Set([bridge])).filter((u) => u.kind === 'io');
  const at = allocate('io', Math.max(range.start, PCIBIOS_MIN_IO), range.end, size, IO_WINDOW_ALIGN, taken);
  return at === undefined ? undefined : { kind: 'io', start: at, end: at + size - 1 };
}

/**
 * pci_assign_unassigned_bridge_resources for the functions `added` below `bridge`, whose
 * driver (`pcieport`, `shpchp`) prints the bridge's lines. A hotplug bridge without an I/O
 * window gets one (4 KiB, as Linux 6.1 sizes it for hotplug bridges) when a new function
 * needs I/O; the bridge then needs I/O decoding (pci_reenable_device).
 */
export function assignUnassignedBridgeResources(host: DriverHost, bridge: PciDev, driver: string, added: readonly PciDev[]): void {
  const bus = bridge.subordinate!;
  let windowsChanged = false;
  const ioNeed = added.flatMap((d) => d.resources).reduce((s, r) => s + (r?.kind === 'io' ? resourceSize(r) : 0), 0);
  if (ioNeed && !bus.windows[WIN_IO] && bridge.isHotplugBridge) {
    const win = allocateIoWindow(bridge, alignUp(ioNeed, IO_WINDOW_ALIGN));
    if (win) {
      bus.windows[WIN_IO] = win;
      host.log(driver, bridge, `bridge window ${formatResource(win)}: assigned`);
      windowsChanged = true;
    }
  }
  assignBusResources(host, bus, added, bus.windows);
  setupBridge(host, bridge, driver);
  const cmd = bridge.read16(R.PCI_COMMAND);
  if (windowsChanged && !(cmd & R.PCI_COMMAND_IO)) {
    host.log(driver, bridge, `enabling device (${cmd.toString(16).padStart(4, '0')} -> ${(cmd | R.PCI_COMMAND_IO).toString(16).padStart(4, '0')})`);
    bridge.write16(R.PCI_COMMAND, cmd | R.PCI_COMMAND_IO);
  }
}

/** drivers/pci/setup-bus.c DEFAULT_HOTPLUG_IO_SIZE: the I/O a hotplug bridge is sized for beyond its devices' needs. */
export const PCI_HOTPLUG_IO_SIZE = 0x100;

/**
 * pbus_size_io for the buses below `bus`, children first (__pci_bus_size_bridges): a bridge
 * whose I/O window firmware left unassigned is sized for nothing now and, as optional
 * `add_size`, for pci_hotplug_io_size when it is a hotplug bridge plus what its child bridges
 * want, rounded to the window granularity (`bridge window [io  0x1000-0x0fff] to [bus 01]
 * add_size 1000`). Only I/O windows are sized; firmware assigns every memory window here.
 */
function sizeBridges(host: DriverHost, bus: GuestPciBus, addSize: Map<PciDev, number>): void {
  for (const dev of bus.devices) if (dev.subordinate) sizeBridges(host, dev.subordinate, addSize);
  const bridge = bus.self;
  if (!bridge || bus.windows[WIN_IO] || !bridge.ioWindow) return;
  const childrenAdd = bus.devices.reduce((s, d) => s + (addSize.get(d) ?? 0), 0);
  const add = bridge.isHotplugBridge ? PCI_HOTPLUG_IO_SIZE : 0;
  if (!add && !childrenAdd) return;
  const size = alignUp(add + childrenAdd, IO_WINDOW_ALIGN);
  addSize.set(bridge, size);
  const empty: PciResource = { kind: 'io', start: IO_WINDOW_ALIGN, end: IO_WINDOW_ALIGN - 1 };
  host.log('pci', bridge, `bridge window ${formatResource(empty)} to ${formatResource({ kind: 'bus', start: bus.number, end: bus.busnEnd })} add_size ${size.toString(16)}`);
}

/** One sized window: its bridge's `bridge window` lines, first-fit in the parent's I/O space. */
function tryWindow(host: DriverHost, dev: PciDev, size: number): boolean {
  const win = allocateIoWindow(dev, size);
  if (!win) {
    host.log('pci', dev, `bridge window ${formatUnset({ kind: 'io', start: 0, end: size - 1 })}: can't assign; no space`);
    host.log('pci', dev, `bridge window ${formatUnset({ kind: 'io', start: 0, end: size - 1 })}: failed to assign`);
    return false;
  }
  dev.subordinate!.windows[WIN_IO] = win;
  host.log('pci', dev, `bridge window ${formatResource(win)}: assigned`);
  return true;
}

/**
 * __pci_bus_assign_resources at boot. The sized windows of the bridges on `bus` are assigned
 * in bus order (they share one alignment: __assign_resources_sorted). When one does not fit,
 * every window of the level is released and assigned again from the realloc list, which
 * holds them in reverse order (reassign_resources_sorted): with 240 root ports the last 14
 * get the I/O space (recorded with Debian's 6.1 kernel under QEMU 7.2). Then each bridge's bus,
 * then pci_setup_bridge for it: windows are printed and programmed children first.
 */
function assignBridgeWindows(host: DriverHost, bus: GuestPciBus, addSize: Map<PciDev, number>): void {
  const sized = bus.devices.filter((d) => d.subordinate && addSize.has(d));
  const placed = sized.map((d) => tryWindow(host, d, addSize.get(d)!));
  if (placed.includes(false)) {
    for (const d of sized) d.subordinate!.windows[WIN_IO] = undefined;
    for (const d of [...sized].reverse()) tryWindow(host, d, addSize.get(d)!);
  }
  for (const dev of bus.devices) {
    if (!dev.subordinate) continue;
    assignBridgeWindows(host, dev.subordinate, addSize);
    // Linux rewrites every bridge here; only the bridges given a window are written, so
    // that a bridge without an I/O window keeps firmware's disabled encoding (boot.test.ts
    // compares config space after boot with QEMU's firmware-only recording).
    setupBridge(host, dev, 'pci', !!dev.subordinate.windows[WIN_IO] && addSize.has(dev));
  }
}

/**
 * pci_assign_unassigned_resources (fs_initcall pcibios_assign_resources, after the
 * scan and the firmware's resources were claimed): size and assign the bridge windows
 * firmware left unassigned, then program every bridge (pci_setup_bridge).
 */
export function assignUnassignedResources(host: DriverHost, roots: readonly GuestPciBus[]): void {
  for (const root of roots) {
    const addSize = new Map<PciDev, number>();
    sizeBridges(host, root, addSize);
    assignBridgeWindows(host, root, addSize);
  }
}
