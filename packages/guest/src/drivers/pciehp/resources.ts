/**
 * Minimal pci_assign_unassigned_bridge_resources for a hot-add below one port
 * (drivers/pci/setup-bus.c, setup-res.c): the new functions' BARs are placed first-fit inside
 * the port's windows, largest alignment first, and the port's windows are programmed again
 * (pci_setup_bridge), with Linux's log lines. Not modelled: resizing windows (the firmware's
 * stay as they are), and windows for a hot-added bridge. One window is created when missing:
 * the I/O window of a PCIe hotplug port (SeaBIOS leaves it out; Linux 6.1 sizes it to 4 KiB
 * at boot or, here, when a device needs it), taken from the parent bus' free I/O space.
 */
import { regs as R } from '@plugboard/pci-core';
import { formatResource, type GuestPciBus, type PciDev, type PciResource } from '../../os/pci-dev.js';
import type { Controller } from './hpc.js';

/** arch/x86: PCIBIOS_MIN_IO, and the alignment/minimum of a bridge I/O window. */
const PCIBIOS_MIN_IO = 0x1000;
const IO_WINDOW_ALIGN = 0x1000;
const IO_SPACE_END = 0xffff;
const FOUR_GIB = 2 ** 32;
const WIN_IO = 0;
const WIN_MEM = 1;
const WIN_PREF = 2;

interface Request {
  dev: PciDev;
  idx: number;
  res: PciResource;
  size: number;
}

const sizeOf = (r: PciResource) => r.end - r.start + 1;
const overlaps = (a: { start: number; end: number }, s: number, e: number) => a.start <= e && s <= a.end;
const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;
/** pci_resource_name: `BAR 0`, `ROM`, `bridge window`. */
const resName = (idx: number) => (idx === R.PCI_ROM_SLOT ? 'ROM' : `BAR ${idx}`);
/** %pR of an unassigned resource: `[io  size 0x0020]`. */
const unsetName = (r: PciResource, size: number) => `[${r.kind === 'io' ? 'io ' : 'mem'} size 0x${size.toString(16).padStart(r.kind === 'io' ? 4 : 8, '0')}${r.is64 ? ' 64bit' : ''}${r.pref ? ' pref' : ''}]`;

/** Ranges already decoded on `bus`: BARs of its other functions and windows of bridges on it. */
function busUsage(bus: GuestPciBus, except: Set<PciDev>): Array<{ kind: string; start: number; end: number }> {
  const used: Array<{ kind: string; start: number; end: number }> = [];
  for (const d of bus.devices) {
    if (except.has(d)) continue;
    for (const r of d.resources) if (r && r.start) used.push(r);
    for (const w of d.subordinate?.windows ?? []) if (w) used.push(w);
  }
  return used;
}

/** First fit inside [start, end] at `align`, avoiding `used` (allocate_resource). */
function firstFit(start: number, end: number, size: number, align: number, used: Array<{ start: number; end: number }>): number | undefined {
  let at = alignUp(start, align);
  for (;;) {
    if (at + size - 1 > end) return undefined;
    const hit = used.find((u) => overlaps(u, at, at + size - 1));
    if (!hit) return at;
    at = alignUp(hit.end + 1, align);
  }
}

/**
 * Which windows may take a resource, in the order __pci_assign_resource tries them: same
 * prefetch/64-bit type first; a 64-bit prefetchable BAR also fits a 32-bit prefetchable
 * window; anything prefetchable or 64-bit falls back to any memory window it may use.
 */
function candidateWindows(bus: GuestPciBus, r: PciResource): PciResource[] {
  const wins = bus.windows.filter((w): w is PciResource => !!w && w.kind === r.kind);
  if (r.kind === 'io') return wins;
  const fits = (w: PciResource) => (r.is64 || w.end < FOUR_GIB) && (!w.pref || !!r.pref);
  const exact = wins.filter((w) => !!w.pref === !!r.pref && !!w.is64 === !!r.is64);
  const prefOnly = r.pref && r.is64 ? wins.filter((w) => w.pref) : [];
  const any = r.pref || r.is64 ? wins : [];
  return [...exact, ...prefOnly, ...any].filter(fits);
}

/** pci_std_update_resource: BARs are written (a disabled ROM BAR is left alone). */
function writeBar(dev: PciDev, idx: number, r: PciResource): void {
  if (idx === R.PCI_ROM_SLOT) return;
  const reg = R.PCI_BASE_ADDRESS_0 + 4 * idx;
  const flags = r.kind === 'io' ? R.PCI_BASE_ADDRESS_SPACE_IO : (r.is64 ? R.PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) | (r.pref ? R.PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
  dev.write32(reg, ((r.start % FOUR_GIB) | flags) >>> 0);
  dev.read32(reg);
  if (r.is64) dev.write32(reg + 4, Math.floor(r.start / FOUR_GIB));
}

/** The port's missing I/O window, 4 KiB from the parent's free I/O space (pbus_size_io + pci_assign_resource). */
function assignIoWindow(c: Controller, bus: GuestPciBus, need: number): boolean {
  const port = c.port;
  const parent = port.bus;
  const size = alignUp(Math.max(need, IO_WINDOW_ALIGN), IO_WINDOW_ALIGN);
  const used = busUsage(parent, new Set([port])).filter((u) => u.kind === 'io');
  const range = parent.self ? parent.windows[WIN_IO] : { start: PCIBIOS_MIN_IO, end: IO_SPACE_END };
  const at = range ? firstFit(Math.max(range.start, PCIBIOS_MIN_IO), range.end, size, IO_WINDOW_ALIGN, used) : undefined;
  if (at === undefined) return false;
  bus.windows[WIN_IO] = { kind: 'io', start: at, end: at + size - 1 };
  c.guest.log('pcieport', port, `bridge window ${formatResource(bus.windows[WIN_IO])}: assigned`);
  return true;
}

/** pci_setup_bridge: log and program the port's windows and bridge control. */
function setupBridge(c: Controller, bus: GuestPciBus): void {
  const port = c.port;
  const log = (t: string) => c.guest.log('pcieport', port, t);
  log(`PCI bridge to ${formatResource({ kind: 'bus', start: bus.number, end: bus.busnEnd })}`);
  const io = bus.windows[WIN_IO];
  let ioWord = 0x00f0;
  let ioUpper = 0;
  if (io) {
    ioWord = ((io.end >> 8) & 0xf0) << 8 | ((io.start >> 8) & 0xf0);
    ioUpper = ((io.end & 0xffff0000) | (io.start >>> 16)) >>> 0;
    log(`  bridge window ${formatResource(io)}`);
  }
  // The I/O range is disabled (upper base > limit) while its lower half changes.
  port.write32(R.PCI_IO_BASE_UPPER16, 0x0000ffff);
  port.write16(R.PCI_IO_BASE, ioWord);
  port.write32(R.PCI_IO_BASE_UPPER16, ioUpper);
  const mem = bus.windows[WIN_MEM];
  if (mem) log(`  bridge window ${formatResource(mem)}`);
  port.write32(R.PCI_MEMORY_BASE, mem ? (((mem.start / 0x10000) & 0xfff0) | (mem.end & 0xfff00000)) >>> 0 : 0x0000fff0);
  const pref = bus.windows[WIN_PREF];
  port.write32(R.PCI_PREF_LIMIT_UPPER32, 0);
  if (pref) log(`  bridge window ${formatResource(pref)}`);
  const lo = (v: number) => v % FOUR_GIB;
  port.write32(R.PCI_PREF_MEMORY_BASE, pref ? (((lo(pref.start) / 0x10000) & 0xfff0) | (lo(pref.end) & 0xfff00000)) >>> 0 : 0x0000fff0);
  port.write32(R.PCI_PREF_BASE_UPPER32, pref?.is64 ? Math.floor(pref.start / FOUR_GIB) : 0);
  port.write32(R.PCI_PREF_LIMIT_UPPER32, pref?.is64 ? Math.floor(pref.end / FOUR_GIB) : 0);
  port.write16(R.PCI_BRIDGE_CONTROL, port.read16(R.PCI_BRIDGE_CONTROL));
}

/** Assigns the new functions' resources below `c.port` and reprograms the port. */
export function assignBridgeResources(c: Controller, added: PciDev[]): void {
  const bus = c.port.subordinate!;
  const fresh = new Set(added);
  const reqs: Request[] = [];
  for (const dev of added) {
    dev.resources.forEach((res, idx) => {
      if (res) reqs.push({ dev, idx, res, size: sizeOf(res) });
    });
  }
  // pdev_sort_resources: one list for the bus, by alignment (= size for a BAR), stable.
  reqs.sort((a, b) => b.size - a.size);
  const ioNeed = reqs.filter((q) => q.res.kind === 'io').reduce((s, q) => s + q.size, 0);
  let windowsChanged = false;
  if (ioNeed && !bus.windows[WIN_IO] && c.port.isHotplugBridge) windowsChanged = assignIoWindow(c, bus, ioNeed);
  const used = busUsage(bus, fresh);
  for (const q of reqs) {
    let at: number | undefined;
    const taken = used.filter((u) => u.kind === q.res.kind);
    for (const w of candidateWindows(bus, q.res)) {
      at = firstFit(w.start, w.end, q.size, q.size, taken);
      if (at !== undefined) break;
    }
    const name = resName(q.idx);
    if (at === undefined) {
      c.guest.log('pci', q.dev, `${name} ${unsetName(q.res, q.size)}: can't assign; no space`);
      c.guest.log('pci', q.dev, `${name} ${unsetName(q.res, q.size)}: failed to assign`);
      continue;
    }
    const r: PciResource = { ...q.res, start: at, end: at + q.size - 1 };
    q.dev.resources[q.idx] = r;
    used.push(r);
    c.guest.log('pci', q.dev, `${name} ${formatResource(r)}: assigned`);
    writeBar(q.dev, q.idx, r);
  }
  setupBridge(c, bus);
  // pci_reenable_device: a new I/O window needs I/O decoding on the port.
  const cmd = c.port.read16(R.PCI_COMMAND);
  if (windowsChanged && !(cmd & R.PCI_COMMAND_IO)) {
    c.guest.log('pcieport', c.port, `enabling device (${cmd.toString(16).padStart(4, '0')} -> ${(cmd | R.PCI_COMMAND_IO).toString(16).padStart(4, '0')})`);
    c.port.write16(R.PCI_COMMAND, cmd | R.PCI_COMMAND_IO);
  }
}
