/**
 * Bringing a slot's functions into the guest and out again (drivers/pci/hotplug/
 * shpchp_pci.c): scan the slot, give the new functions addresses inside the bridge's windows
 * (pci_assign_unassigned_bridge_resources: drivers/pci/setup-bus.c, setup-res.c), re-program
 * the bridge (pci_setup_bridge, printed against the bridge, whose driver is shpchp), add the
 * devices (driver probe); and the reverse. Windows are never resized: QEMU's firmware sized
 * them, and a hot-added bridge in a slot is not given bus numbers here.
 */
import { regs as R } from '@plugboard/pci-core';
import { formatResource, type GuestPciBus, type PciDev, type PciResource } from '../../os/pci-dev.js';
import type { TaskBody } from '../../os/sched.js';
import type { Slot } from './ctrl.js';
import { SHPCHP } from './hpc.js';

const EINVAL = -22;
const ENODEV = -19;
const FOUR_GIB = 2 ** 32;
/** arch/x86 pcibios_align_resource: I/O ranges avoid the ISA alias bits 8-9. */
const ISA_ALIAS_BITS = 0x300;
const ISA_ALIAS_ALIGN = 0x400;

const hex2 = (v: number): string => v.toString(16).padStart(2, '0');
const sizeOf = (r: PciResource): number => r.end - r.start + 1;
const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;
/** pci_resource_name (6.1 stable prints `BAR 0`, `ROM`). */
const resName = (idx: number): string => (idx === R.PCI_ROM_SLOT ? 'ROM' : `BAR ${idx}`);

/** shpchp_configure_device: 0, -EINVAL when function 0 is already known, -ENODEV when nothing answers. */
export function* configureDevice(slot: Slot): TaskBody<number> {
  const c = slot.ctrl;
  const bus = c.dev.subordinate!;
  const devfn = R.PCI_DEVFN(slot.device, 0);
  const existing = bus.devices.find((d) => d.devfn === devfn);
  if (existing) {
    c.err(`Device ${existing.name} already exists at ${bus.name}:${hex2(slot.device)}, cannot hot-add`);
    return EINVAL;
  }
  const found = yield* c.guest.pci.scanSlot(bus, devfn);
  if (!found.length) {
    c.err('No new device found');
    return ENODEV;
  }
  assignBridgeResources(slot, bus, found);
  // pci_bus_add_devices: the new functions' drivers probe; a bridge is offered to the hotplug drivers.
  for (const dev of found) {
    c.guest.bindDriver(dev);
    if (dev.isBridge) c.guest.offerNewPort(dev);
  }
  return 0;
}

/** shpchp_unconfigure_device: every function of the slot is unbound and removed. */
export function unconfigureDevice(slot: Slot): void {
  const c = slot.ctrl;
  const bus = c.dev.subordinate!;
  c.dbg(`shpchp_unconfigure_device: domain:bus:dev = ${bus.name}:${hex2(slot.device)}`);
  for (const dev of bus.devices.filter((d) => d.slot === slot.device)) c.guest.removeDevice(dev);
}

/** Ranges decoded on the bus by functions other than `fresh`, and bridges' windows. */
function used(bus: GuestPciBus, fresh: Set<PciDev>): Array<{ kind: string; start: number; end: number }> {
  const out: Array<{ kind: string; start: number; end: number }> = [];
  for (const d of bus.devices) {
    if (fresh.has(d)) continue;
    for (const r of d.resources) if (r && r.start) out.push(r);
    for (const w of d.subordinate?.windows ?? []) if (w) out.push(w);
  }
  return out;
}

/** allocate_resource: first fit from the bottom of the window, with x86's I/O alignment rule. */
function firstFit(w: PciResource, size: number, taken: Array<{ kind: string; start: number; end: number }>): number | undefined {
  let at = alignUp(w.start, size);
  for (;;) {
    if (w.kind === 'io' && at & ISA_ALIAS_BITS) at = alignUp(at, ISA_ALIAS_ALIGN);
    if (at + size - 1 > w.end) return undefined;
    const hit = taken.find((u) => u.kind === w.kind && u.start <= at + size - 1 && at <= u.end);
    if (!hit) return at;
    at = alignUp(hit.end + 1, size);
  }
}

/**
 * __pci_assign_resource's window order: exact prefetch/64-bit match, then (64-bit
 * prefetchable) any prefetchable window, then (prefetchable or 64-bit) any memory window.
 * A 32-bit prefetchable ROM therefore lands in the non-prefetchable window when the
 * prefetchable one is 64-bit (recorded: ROM at 0xfe600000).
 */
function windowsFor(bus: GuestPciBus, r: PciResource): PciResource[] {
  const wins = bus.windows.filter((w): w is PciResource => !!w && w.kind === r.kind);
  if (r.kind === 'io') return wins;
  const exact = wins.filter((w) => !!w.pref === !!r.pref && !!w.is64 === !!r.is64);
  const pref = r.pref && r.is64 ? wins.filter((w) => w.pref) : [];
  const any = r.pref || r.is64 ? wins.filter((w) => !w.pref || r.pref) : [];
  return [...exact, ...pref, ...any].filter((w) => r.is64 || w.end < FOUR_GIB);
}

/** pci_std_update_resource: BARs written and read back; a disabled ROM BAR is left alone. */
function writeBar(dev: PciDev, idx: number, r: PciResource): void {
  if (idx === R.PCI_ROM_SLOT) return;
  const reg = R.PCI_BASE_ADDRESS_0 + 4 * idx;
  const flags = r.kind === 'io' ? R.PCI_BASE_ADDRESS_SPACE_IO : (r.is64 ? R.PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) | (r.pref ? R.PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
  dev.write32(reg, ((r.start % FOUR_GIB) | flags) >>> 0);
  dev.read32(reg);
  if (r.is64) dev.write32(reg + 4, Math.floor(r.start / FOUR_GIB));
}

/** pci_assign_unassigned_bridge_resources for the functions just found below the bridge. */
function assignBridgeResources(slot: Slot, bus: GuestPciBus, added: PciDev[]): void {
  const c = slot.ctrl;
  const reqs: Array<{ dev: PciDev; idx: number; res: PciResource; size: number }> = [];
  for (const dev of added) dev.resources.forEach((res, idx) => res && reqs.push({ dev, idx, res, size: sizeOf(res) }));
  reqs.sort((a, b) => b.size - a.size); // pdev_sort_resources: by alignment, stable
  const taken = used(bus, new Set(added));
  for (const q of reqs) {
    let at: number | undefined;
    for (const w of windowsFor(bus, q.res)) if ((at = firstFit(w, q.size, taken)) !== undefined) break;
    if (at === undefined) {
      const unset = `[${q.res.kind === 'io' ? 'io ' : 'mem'} size 0x${q.size.toString(16).padStart(q.res.kind === 'io' ? 4 : 8, '0')}]`;
      c.guest.log('pci', q.dev, `${resName(q.idx)} ${unset}: can't assign; no space`);
      c.guest.log('pci', q.dev, `${resName(q.idx)} ${unset}: failed to assign`);
      continue;
    }
    const r: PciResource = { ...q.res, start: at, end: at + q.size - 1 };
    q.dev.resources[q.idx] = r;
    taken.push(r);
    c.guest.log('pci', q.dev, `${resName(q.idx)} ${formatResource(r)}: assigned`);
    writeBar(q.dev, q.idx, r);
  }
  setupBridge(slot, bus);
}

/** pci_setup_bridge: the bridge's bus range and windows printed and programmed again. */
function setupBridge(slot: Slot, bus: GuestPciBus): void {
  const br = slot.ctrl.dev;
  const log = (t: string) => slot.ctrl.guest.log(SHPCHP, br, t);
  log(`PCI bridge to ${formatResource({ kind: 'bus', start: bus.number, end: bus.busnEnd })}`);
  const [io, mem, pref] = bus.windows;
  if (io) log(`  bridge window ${formatResource(io)}`);
  br.write32(R.PCI_IO_BASE_UPPER16, 0x0000ffff); // I/O range off while its low half changes
  br.write16(R.PCI_IO_BASE, io ? ((((io.end >> 8) & 0xf0) << 8) | ((io.start >> 8) & 0xf0)) : 0x00f0);
  br.write32(R.PCI_IO_BASE_UPPER16, io ? ((io.end & 0xffff0000) | (io.start >>> 16)) >>> 0 : 0);
  if (mem) log(`  bridge window ${formatResource(mem)}`);
  br.write32(R.PCI_MEMORY_BASE, mem ? (((mem.start / 0x10000) & 0xfff0) | (mem.end & 0xfff00000)) >>> 0 : 0x0000fff0);
  br.write32(R.PCI_PREF_LIMIT_UPPER32, 0);
  if (pref) log(`  bridge window ${formatResource(pref)}`);
  const lo = (v: number) => v % FOUR_GIB;
  br.write32(R.PCI_PREF_MEMORY_BASE, pref ? (((lo(pref.start) / 0x10000) & 0xfff0) | (lo(pref.end) & 0xfff00000)) >>> 0 : 0x0000fff0);
  br.write32(R.PCI_PREF_BASE_UPPER32, pref?.is64 ? Math.floor(pref.start / FOUR_GIB) : 0);
  br.write32(R.PCI_PREF_LIMIT_UPPER32, pref?.is64 ? Math.floor(pref.end / FOUR_GIB) : 0);
  br.write16(R.PCI_BRIDGE_CONTROL, br.read16(R.PCI_BRIDGE_CONTROL));
}
