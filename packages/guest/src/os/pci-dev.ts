/**
 * The guest's view of PCI functions and buses (Linux struct pci_dev / pci_bus): what
 * enumeration learnt from config space, plus config accessors for drivers
 * (pci_read_config_*, pci_find_capability, pcie_capability_*). Nothing here touches a
 * device model: every access is a GuestView config cycle.
 */
import { caps as C, formatBdf, regs as R, type Bdf, type GuestView } from '@plugboard/pci-core';

/** A decoded BAR or bridge window (struct resource), printed like Linux's %pR. */
export interface PciResource {
  kind: 'io' | 'mem' | 'bus';
  start: number;
  end: number;
  pref?: boolean;
  is64?: boolean;
  window?: boolean;
}

const hexw = (v: number, w: number) => v.toString(16).padStart(w, '0');

/** lib/vsprintf.c resource_string: `[io  0xc000-0xc03f]`, `[mem 0xfe000000-0xfe1fffff 64bit pref]`, `[bus 01-03]`. */
export function formatResource(r: PciResource): string {
  if (r.kind === 'bus') return r.start === r.end ? `[bus ${hexw(r.start, 2)}]` : `[bus ${hexw(r.start, 2)}-${hexw(r.end, 2)}]`;
  const w = r.kind === 'io' ? 4 : 8;
  const range = r.start === r.end ? `0x${hexw(r.start, w)}` : `0x${hexw(r.start, w)}-0x${hexw(r.end, w)}`;
  const flags = `${r.is64 ? ' 64bit' : ''}${r.pref ? ' pref' : ''}${r.window ? ' window' : ''}`;
  return `[${r.kind === 'io' ? 'io ' : 'mem'} ${range}${flags}]`;
}

/** PCI_EXP_FLAGS_TYPE: the port type of a PCIe function. */
export const PCI_EXP_FLAGS_TYPE = 0x00f0;
export const PCI_EXP_TYPE_PCIE_BRIDGE = 0x8;
export const PCI_EXP_SLTCAP_HPC = 0x00000040;
export const PCI_EXP_LNKCAP_DLLLARC = 0x00100000;

export class GuestPciBus {
  readonly devices: PciDev[] = [];
  readonly children: GuestPciBus[] = [];
  /** busn_res: [number, subordinate]. */
  busnEnd: number;
  /** The bridge's windows once read (io, mem, prefetchable), undefined when disabled. */
  windows: Array<PciResource | undefined> = [undefined, undefined, undefined];

  constructor(
    readonly domain: number,
    readonly number: number,
    readonly self: PciDev | undefined,
    readonly parent: GuestPciBus | undefined,
    busnEnd: number,
  ) {
    this.busnEnd = busnEnd;
  }

  get name(): string {
    return `${hexw(this.domain, 4)}:${hexw(this.number, 2)}`;
  }

  get isRoot(): boolean {
    return this.self === undefined;
  }

  /** Depth-first walk of the devices at and below this bus. */
  *walk(): Generator<PciDev> {
    for (const d of this.devices) {
      yield d;
      if (d.subordinate) yield* d.subordinate.walk();
    }
  }
}

export class PciDev {
  vendor = 0;
  device = 0;
  /** 24-bit class code (base, sub, prog-if). */
  class = 0;
  revision = 0;
  /** Header type without the multi-function bit. */
  hdrType = 0;
  multifunction = false;
  subsystemVendor = 0;
  subsystemDevice = 0;
  /** Offset of the PCI Express capability, 0 for conventional PCI. */
  pcieCap = 0;
  pcieFlags = 0;
  devcap = 0;
  cfgSize: number = R.PCI_CONFIG_SPACE_SIZE;
  pin = 0;
  /** Interrupt line as firmware programmed it (the legacy IRQ in PIC/PIRQ mode). */
  irq = 0;
  /** BARs 0-5 and the ROM (index 6), as Linux's dev->resource[]. */
  readonly resources: Array<PciResource | undefined> = new Array(R.PCI_NUM_REGIONS).fill(undefined);
  /** Host bridges decode regardless of the command register (quirk_mmio_always_on). */
  mmioAlwaysOn = false;
  brokenIntxMasking = false;
  transparent = false;
  ioWindow = false;
  prefWindow = false;
  pref64Window = false;
  /** PCIe slot with Hot-Plug Capable set (set_pcie_hotplug_bridge). */
  isHotplugBridge = false;
  /** Link Capabilities DLLLARC of a downstream port, read when its bus was added. */
  linkActiveReporting = false;
  subordinate: GuestPciBus | undefined;
  /** Endpoint driver bound to the function (`e1000`, `virtio-pci`...). */
  driver: string | undefined;
  /** Hotplug driver that claimed this bridge (`pciehp`, `shpchp`, `acpiphp`...). */
  hotplugDriver: string | undefined;
  enableCount = 0;
  isBusmaster = false;
  /** Per-driver state (the later hotplug drivers keep their controller here). */
  readonly driverData = new Map<string, unknown>();

  constructor(
    readonly view: GuestView,
    readonly bus: GuestPciBus,
    readonly devfn: number,
  ) {}

  /** `0000:00:1f.0` (pci_name). */
  get name(): string {
    return formatBdf(this.bus.domain, this.bus.number, this.devfn);
  }

  get bdf(): Bdf {
    return { domain: this.bus.domain, bus: this.bus.number, devfn: this.devfn };
  }

  get slot(): number {
    return R.PCI_SLOT(this.devfn);
  }

  get fn(): number {
    return R.PCI_FUNC(this.devfn);
  }

  get isBridge(): boolean {
    return this.hdrType === R.PCI_HEADER_TYPE_BRIDGE;
  }

  get isPcie(): boolean {
    return this.pcieCap !== 0;
  }

  /** pci_pcie_type. */
  get pcieType(): number {
    return (this.pcieFlags & PCI_EXP_FLAGS_TYPE) >> 4;
  }

  /** pcie_downstream_port: root ports, switch downstream ports, PCI->PCIe bridges. */
  get isPcieDownstreamPort(): boolean {
    const t = this.pcieType;
    return this.isPcie && (t === C.PCI_EXP_TYPE_ROOT_PORT || t === C.PCI_EXP_TYPE_DOWNSTREAM || t === PCI_EXP_TYPE_PCIE_BRIDGE);
  }

  /** The bridge above this function, undefined on a root bus (pci_upstream_bridge). */
  get upstream(): PciDev | undefined {
    return this.bus.self;
  }

  read8(off: number): number {
    return this.view.configRead(this.bdf, off, 1);
  }
  read16(off: number): number {
    return this.view.configRead(this.bdf, off, 2);
  }
  read32(off: number): number {
    return this.view.configRead(this.bdf, off, 4);
  }
  write8(off: number, v: number): void {
    this.view.configWrite(this.bdf, off, v & 0xff, 1);
  }
  write16(off: number, v: number): void {
    this.view.configWrite(this.bdf, off, v & 0xffff, 2);
  }
  write32(off: number, v: number): void {
    this.view.configWrite(this.bdf, off, v >>> 0, 4);
  }

  /** pci_find_capability / pci_find_next_capability (drivers/pci/pci.c, 48-entry TTL, word reads). */
  findCapability(id: number, after = 0): number {
    let pos: number;
    if (after) pos = this.read8(after + R.PCI_CAP_LIST_NEXT);
    else {
      if (!(this.read16(R.PCI_STATUS) & R.PCI_STATUS_CAP_LIST)) return 0;
      if (this.hdrType !== R.PCI_HEADER_TYPE_NORMAL && this.hdrType !== R.PCI_HEADER_TYPE_BRIDGE) return 0;
      pos = this.read8(R.PCI_CAPABILITY_LIST);
    }
    for (let ttl = 48; ttl > 0; ttl--) {
      if (pos < 0x40) break;
      pos &= ~3;
      const ent = this.read16(pos);
      const cap = ent & 0xff;
      if (cap === 0xff) break;
      if (cap === id) return pos;
      pos = ent >> 8;
    }
    return 0;
  }

  /** pci_find_ext_capability: the extended list from 0x100 (PCIe config space only). */
  findExtCapability(id: number): number {
    if (this.cfgSize <= R.PCI_CONFIG_SPACE_SIZE) return 0;
    let pos: number = R.PCI_CONFIG_SPACE_SIZE;
    let header = this.read32(pos);
    // Minimum 8 bytes per capability: bounds the walk.
    for (let ttl = (R.PCIE_CONFIG_SPACE_SIZE - R.PCI_CONFIG_SPACE_SIZE) / 8; header && header !== 0xffffffff && ttl > 0; ttl--) {
      if ((header & 0xffff) === id) return pos;
      pos = (header >>> 20) & 0xffc;
      if (pos < R.PCI_CONFIG_SPACE_SIZE) break;
      header = this.read32(pos);
    }
    return 0;
  }

  /** pcie_capability_read_word / _dword (0 when the function has no PCIe capability). */
  pcieRead16(reg: number): number {
    return this.pcieCap ? this.read16(this.pcieCap + reg) : 0;
  }
  pcieRead32(reg: number): number {
    return this.pcieCap ? this.read32(this.pcieCap + reg) : 0;
  }
  pcieWrite16(reg: number, v: number): void {
    if (this.pcieCap) this.write16(this.pcieCap + reg, v);
  }
  /** pcie_capability_clear_and_set_word. */
  pcieClearAndSet16(reg: number, clear: number, set: number): void {
    if (this.pcieCap) this.pcieWrite16(reg, (this.pcieRead16(reg) & ~clear) | set);
  }
}
