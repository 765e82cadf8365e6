/**
 * Resource assignment for functions a hotplug rescan found (drivers/pci/setup-bus.c
 * __pci_bus_assign_resources -> pbus_assign_resources_sorted, setup-res.c pci_assign_resource,
 * bus.c pci_bus_alloc_resource, kernel/resource.c allocate_resource): every unassigned BAR
 * and ROM of the bus' new functions, largest alignment first, at the lowest free aligned
 * address of the first bus window that may hold it; BARs (not ROMs, which stay disabled)
 * are written and read back (pci_std_update_resource).
 */
import { regs as R } from '@plugboard/pci-core';
import { formatResource, type GuestPciBus, type PciDev, type PciResource } from '../../os/pci-dev.js';

/** x86 PCIBIOS_MIN_IO: legacy ports below 0x1000 are never handed out. */
const PCIBIOS_MIN_IO = 0x1000;
const FOUR_GIB = 2 ** 32;

/** The host bridge windows QEMU's `_CRS` gives PCI0 (hw/i386/acpi-build.c), for a RAM size. */
export function rootWindows(lowMemEnd: number, q35: boolean): PciResource[] {
  const mem: PciResource[] = q35
    ? [{ kind: 'mem', start: lowMemEnd, end: 0xafffffff }, { kind: 'mem', start: 0xc0000000, end: 0xfebfffff }]
    : [{ kind: 'mem', start: lowMemEnd, end: 0xfebfffff }];
  return [{ kind: 'io', start: 0x0d00, end: 0xffff }, ...mem];
}

const size = (r: PciResource) => r.end - r.start + 1;
const overlaps = (a: PciResource, s: number, e: number) => a.kind !== 'bus' && !(a.end < s || a.start > e);

/** Everything already decoding somewhere: assigned BARs and the bridge windows of other buses. */
function busy(all: PciDev[], bus: GuestPciBus): PciResource[] {
  const ancestors = new Set<GuestPciBus>();
  for (let b: GuestPciBus | undefined = bus; b; b = b.parent) ancestors.add(b);
  const out: PciResource[] = [];
  for (const d of all) {
    for (const r of d.resources) if (r && r.start !== 0) out.push(r);
    if (d.subordinate && !ancestors.has(d.subordinate)) for (const w of d.subordinate.windows) if (w) out.push(w);
  }
  return out;
}

function allocate(r: PciResource, windows: PciResource[], used: PciResource[]): number | undefined {
  const sz = size(r);
  for (const w of windows) {
    if (w.kind !== r.kind) continue;
    if (w.pref && !r.pref) continue; // a non-prefetchable BAR can't sit in a prefetchable window
    if (!r.is64 && w.end >= FOUR_GIB) continue;
    const min = r.kind === 'io' ? Math.max(w.start, PCIBIOS_MIN_IO) : w.start;
    let start = Math.ceil(min / sz) * sz;
    while (start + sz - 1 <= w.end) {
      const clash = used.find((u) => u.kind === r.kind && overlaps(u, start, start + sz - 1));
      if (!clash) return start;
      start = Math.ceil((clash.end + 1) / sz) * sz;
    }
  }
  return undefined;
}

/**
 * Assigns the unassigned resources of `devs` (functions on `bus`) and logs like Linux 6.1
 * (`BAR 0: assigned [mem ...]`, `BAR 0: no space for ...` / `failed to assign`).
 */
export function assignBusResources(bus: GuestPciBus, devs: PciDev[], all: PciDev[], root: PciResource[], log: (dev: PciDev, text: string) => void): void {
  const windows = bus.self ? (bus.windows.filter(Boolean) as PciResource[]) : root;
  const todo: Array<{ dev: PciDev; idx: number; res: PciResource }> = [];
  for (const dev of devs) dev.resources.forEach((res, idx) => res && res.start === 0 && todo.push({ dev, idx, res }));
  // __dev_sort_resources: by alignment (= size for BARs and ROMs), largest first, stable.
  todo.sort((a, b) => size(b.res) - size(a.res));
  const used = busy(all, bus);
  for (const { dev, idx, res } of todo) {
    const at = allocate(res, windows, used);
    if (at === undefined) {
      log(dev, `BAR ${idx}: no space for ${formatResource(res)}`);
      log(dev, `BAR ${idx}: failed to assign ${formatResource(res)}`);
      continue;
    }
    const placed: PciResource = { ...res, start: at, end: at + size(res) - 1 };
    dev.resources[idx] = placed;
    used.push(placed);
    log(dev, `BAR ${idx}: assigned ${formatResource(placed)}`);
    if (idx === R.PCI_ROM_SLOT) continue; // ROMs are written only when enabled
    const reg = R.PCI_BASE_ADDRESS_0 + 4 * idx;
    const flags = res.kind === 'io' ? R.PCI_BASE_ADDRESS_SPACE_IO : (res.pref ? R.PCI_BASE_ADDRESS_MEM_PREFETCH : 0) | (res.is64 ? R.PCI_BASE_ADDRESS_MEM_TYPE_64 : 0);
    dev.write32(reg, (at | flags) >>> 0);
    dev.read32(reg);
    if (res.is64) {
      dev.write32(reg + 4, Math.floor(at / FOUR_GIB));
      dev.read32(reg + 4);
    }
  }
}
