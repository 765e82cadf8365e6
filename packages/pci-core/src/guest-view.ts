/**
 * GuestView: everything a guest can touch (ARCHITECTURE.md "Guest-visible interface").
 * Config space by BDF, I/O ports, MMIO, interrupts; every access is traced as one JSON
 * object. A guest driver sees only this.
 */
import type { PCIHostBridge } from './host.js';
import { PCI_BAR_UNMAPPED, type PCIDevice } from './pci-device.js';
import { PCIBridge } from './bridge.js';
import { PCIBus } from './pci-bus.js';

export interface Bdf {
  /** Host bridge index (PCI domain / sPAPR PHB), 0 on x86. */
  domain?: number;
  bus: number;
  devfn: number;
}

export type TraceRecord =
  | { t: number; op: 'cfg-read' | 'cfg-write'; bdf: string; off: number; size: number; val: number }
  | { t: number; op: 'io-read' | 'io-write'; port: number; size: number; val: number }
  | { t: number; op: 'mmio-read' | 'mmio-write'; addr: number; size: number; val: number }
  | { t: number; op: 'irq'; kind: string; line: number; level?: number }
  | { t: number; op: string; [k: string]: unknown };

export type TraceSink = (rec: TraceRecord) => void;

/** A fixed I/O port or MMIO range served by a board device (ACPI blocks, 0xcf8...). */
export interface IoRegion {
  base: number;
  size: number;
  name: string;
  read(offset: number, size: number): number;
  write(offset: number, value: number, size: number): void;
}

export interface InterruptEvent {
  kind: 'intx' | 'msi' | 'sci' | 'spapr';
  line: number;
  level?: number;
  data?: unknown;
}

export type InterruptHandler = (ev: InterruptEvent) => void;

const allOnes = (size: number) => (size === 4 ? 0xffffffff : (1 << (8 * size)) - 1);

export const formatBdf = (domain: number, bus: number, devfn: number) =>
  `${domain.toString(16).padStart(4, '0')}:${bus.toString(16).padStart(2, '0')}:${(devfn >> 3).toString(16).padStart(2, '0')}.${devfn & 7}`;

export class GuestView {
  private readonly ioRegions: IoRegion[] = [];
  private readonly mmioRegions: IoRegion[] = [];
  private readonly irqHandlers = new Set<InterruptHandler>();
  private readonly traceSinks = new Set<TraceSink>();

  constructor(
    private readonly hosts: () => PCIHostBridge[],
    private readonly now: () => number,
  ) {}

  // ---- tracing --------------------------------------------------------------------------------

  onTrace(sink: TraceSink): () => void {
    this.traceSinks.add(sink);
    return () => this.traceSinks.delete(sink);
  }

  trace(rec: { op: string; [k: string]: unknown }): void {
    if (this.traceSinks.size === 0) return;
    const full = { t: this.now(), ...rec } as TraceRecord;
    for (const s of this.traceSinks) s(full);
  }

  // ---- config space ---------------------------------------------------------------------------

  private fn(bdf: Bdf): PCIDevice | undefined {
    return this.hosts()[bdf.domain ?? 0]?.functionAt(bdf.bus, bdf.devfn);
  }

  configRead(bdf: Bdf, off: number, size: 1 | 2 | 4): number {
    const d = this.fn(bdf);
    const val = d ? d.configRead(off, size) : allOnes(size);
    this.trace({ op: 'cfg-read', bdf: formatBdf(bdf.domain ?? 0, bdf.bus, bdf.devfn), off, size, val });
    return val;
  }

  configWrite(bdf: Bdf, off: number, val: number, size: 1 | 2 | 4): void {
    this.trace({ op: 'cfg-write', bdf: formatBdf(bdf.domain ?? 0, bdf.bus, bdf.devfn), off, size, val });
    this.fn(bdf)?.configWrite(off, val, size);
  }

  // ---- I/O and MMIO ---------------------------------------------------------------------------

  addIoRegion(r: IoRegion): void {
    this.ioRegions.push(r);
  }

  addMmioRegion(r: IoRegion): void {
    this.mmioRegions.push(r);
  }

  ioRead(port: number, size: 1 | 2 | 4): number {
    const hit = this.lookup(this.ioRegions, 'io', port);
    const val = hit ? hit.region.read(hit.offset, size) : allOnes(size);
    this.trace({ op: 'io-read', port, size, val });
    return val;
  }

  ioWrite(port: number, val: number, size: 1 | 2 | 4): void {
    this.trace({ op: 'io-write', port, size, val });
    const hit = this.lookup(this.ioRegions, 'io', port);
    hit?.region.write(hit.offset, val, size);
  }

  mmioRead(addr: number, size: 1 | 2 | 4 | 8): number {
    const hit = this.lookup(this.mmioRegions, 'memory', addr);
    const val = hit ? hit.region.read(hit.offset, size) : allOnes(size === 8 ? 4 : size);
    this.trace({ op: 'mmio-read', addr, size, val });
    return val;
  }

  mmioWrite(addr: number, val: number, size: 1 | 2 | 4 | 8): void {
    this.trace({ op: 'mmio-write', addr, size, val });
    const hit = this.lookup(this.mmioRegions, 'memory', addr);
    hit?.region.write(hit.offset, val, size);
  }

  /** Fixed regions first, then BARs of every powered function as they decode now. */
  private lookup(fixed: IoRegion[], space: 'io' | 'memory', addr: number): { region: IoRegion; offset: number } | undefined {
    for (const r of fixed) if (addr >= r.base && addr < r.base + r.size) return { region: r, offset: addr - r.base };
    for (const host of this.hosts()) {
      const hit = findBar(host.rootBus, space, addr);
      if (hit) return hit;
    }
    return undefined;
  }

  // ---- interrupts -----------------------------------------------------------------------------

  onInterrupt(h: InterruptHandler): () => void {
    this.irqHandlers.add(h);
    return () => this.irqHandlers.delete(h);
  }

  raise(ev: InterruptEvent): void {
    this.trace({ op: 'irq', kind: ev.kind, line: ev.line, ...(ev.level === undefined ? {} : { level: ev.level }) });
    for (const h of [...this.irqHandlers]) h(ev);
  }
}

/** A BAR region's accessors: a model that serves MMIO/IO registers defines `barRead`/`barWrite`. */
export interface BarAccess {
  barRead?(bar: number, offset: number, size: number): number;
  barWrite?(bar: number, offset: number, value: number, size: number): void;
}

const inRange = (r: { base: number; limit: number }, addr: number) => r.base <= r.limit && addr >= r.base && addr <= r.limit;

function bridgeForwards(b: PCIBridge, space: 'io' | 'memory', addr: number): boolean {
  if (space === 'io') return inRange(b.ioRange(), addr);
  return inRange(b.memoryRange(), addr) || inRange(b.prefetchableRange(), addr);
}

function findBar(bus: PCIBus, space: 'io' | 'memory', addr: number): { region: IoRegion; offset: number } | undefined {
  for (const d of bus.devices()) {
    for (let i = 0; i < d.bars.length; i++) {
      const b = d.bars[i];
      if (!b || (b.type === 'io') !== (space === 'io')) continue;
      const base = d.barAddress(i);
      if (base === PCI_BAR_UNMAPPED || addr < base || addr >= base + b.size) continue;
      const dev = d as PCIDevice & BarAccess;
      const bar = i;
      return {
        offset: addr - base,
        region: {
          base,
          size: b.size,
          name: `${d.typeName} BAR${i}`,
          read: (o, s) => (dev.barRead ? dev.barRead(bar, o, s) : 0),
          write: (o, v, s) => dev.barWrite?.(bar, o, v, s),
        },
      };
    }
    // Only PCI buses forward PCI cycles (a PIIX3's isa.0 or an IDE bus does not), and a
    // bridge only what falls in its windows (hw/pci/pci_bridge.c pci_bridge_region_init).
    if (d instanceof PCIBridge && !bridgeForwards(d, space, addr)) continue;
    for (const cb of d.childBuses) {
      if (!(cb instanceof PCIBus)) continue;
      const hit = findBar(cb, space, addr);
      if (hit) return hit;
    }
  }
  return undefined;
}
