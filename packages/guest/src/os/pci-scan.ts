/**
 * PCI enumeration as Linux 6.1 does it (drivers/pci/probe.c): pci_scan_child_bus_extend,
 * pci_scan_slot, pci_scan_single_device, pci_setup_device, __pci_read_base,
 * pci_read_bridge_windows, pci_scan_bridge_extend, pci_read_bridge_bases. Only config
 * cycles through the GuestView. Scans are task bodies: the only waits are the CRS retries.
 */
import { caps as C, regs as R, type GuestView } from '@plugboard/pci-core';
import type { KernelLog } from './klog.js';
import type { Scheduler, TaskBody } from './sched.js';
import { formatResource, GuestPciBus, PCI_EXP_LNKCAP_DLLLARC, PCI_EXP_SLTCAP_HPC, PciDev } from './pci-dev.js';
import { legacyIde, readBases } from './pci-bars.js';
import { pciAerInit } from '../drivers/aer/index.js';

const PCI_CLASS_REVISION = 0x08;
const PCI_CLASS_BRIDGE_HOST = 0x0600;
const PCI_CLASS_BRIDGE_PCI = 0x0604;
const PCI_CLASS_STORAGE_IDE = 0x0101;
/** CRS: how long enumeration keeps retrying a device that answers "retry" (60 s). */
export const PCI_CRS_TIMEOUT_MS = 60_000;
const PCI_CAP_ID_PCIX = 0x07;
const PCI_X_STATUS = 4;
const PCI_X_STATUS_266MHZ = 0x40000000;
const PCI_X_STATUS_533MHZ = 0x80000000;

const hex = (v: number, w: number) => v.toString(16).padStart(w, '0');

export class PciCore {
  readonly roots: GuestPciBus[] = [];

  constructor(
    readonly view: GuestView,
    readonly klog: KernelLog,
    readonly sched: Scheduler,
  ) {}

  private info(dev: PciDev, text: string): void {
    this.klog.dev('pci', dev.name, text);
  }

  /** Every function found so far, depth first from the root buses. */
  devices(): PciDev[] {
    return this.roots.flatMap((r) => [...r.walk()]);
  }

  /** pci_find_bus. */
  findBus(domain: number, nr: number): GuestPciBus | undefined {
    const find = (b: GuestPciBus): GuestPciBus | undefined => (b.number === nr ? b : b.children.map(find).find(Boolean));
    return this.roots.filter((r) => r.domain === domain).map(find).find(Boolean);
  }

  /** pci_scan_root_bus (what the ACPI PNP0A03/PNP0A08 root driver does on x86). */
  *scanRootBus(domain: number, busnr = 0): TaskBody<GuestPciBus> {
    const root = new GuestPciBus(domain, busnr, undefined, undefined, 0xff);
    this.roots.push(root);
    this.klog.printk(`PCI host bridge to bus ${root.name}`);
    this.klog.printk(`pci_bus ${root.name}: root bus resource ${formatResource({ kind: 'bus', start: busnr, end: 0xff })}`);
    const max = yield* this.scanChildBus(root);
    root.busnEnd = max;
    return root;
  }

  /** pci_scan_child_bus_extend: every slot, fix-up (bridge windows), then bridges in two passes. */
  *scanChildBus(bus: GuestPciBus): TaskBody<number> {
    let max = bus.number;
    for (let devfn = 0; devfn < 0x100; devfn += 8) yield* this.scanSlot(bus, devfn);
    if (bus.self) this.readBridgeBases(bus);
    for (const pass of [0, 1]) {
      for (const dev of bus.devices.filter((d) => d.isBridge)) max = yield* this.scanBridge(bus, dev, max, pass);
    }
    return max;
  }

  /** only_one_child: below a PCIe downstream port only device 0 exists. */
  private onlyOneChild(bus: GuestPciBus): boolean {
    return !!bus.self && bus.self.isPcieDownstreamPort;
  }

  /** pci_scan_slot: function 0, then the others if it is multi-function. Returns new functions. */
  *scanSlot(bus: GuestPciBus, devfn: number): TaskBody<PciDev[]> {
    const found: PciDev[] = [];
    if (this.onlyOneChild(bus) && devfn > 0) return found;
    let fn = 0;
    do {
      const existing = bus.devices.find((d) => d.devfn === devfn + fn);
      const dev = existing ?? (yield* this.scanDevice(bus, devfn + fn));
      if (dev) {
        if (!existing) found.push(dev);
        if (fn > 0) dev.multifunction = true;
      } else if (fn === 0) break;
      // next_fn: only a multi-function device has functions 1-7.
      fn = fn >= 7 || (dev && !dev.multifunction) ? -1 : fn + 1;
    } while (fn >= 0);
    return found;
  }

  /** pci_bus_read_dev_vendor_id with the CRS retry loop (pci_bus_wait_crs). */
  *readVendorId(bus: GuestPciBus, devfn: number, timeoutMs = PCI_CRS_TIMEOUT_MS): TaskBody<number | undefined> {
    const at = { domain: bus.domain, bus: bus.number, devfn };
    let l = this.view.configRead(at, R.PCI_VENDOR_ID, 4);
    if (l === 0xffffffff || l === 0 || l === 0x0000ffff || l === 0xffff0000) return undefined;
    let delay = 1;
    const name = `pci ${hex(bus.domain, 4)}:${hex(bus.number, 2)}:${hex(R.PCI_SLOT(devfn), 2)}.${R.PCI_FUNC(devfn)}`;
    if ((l & 0xffff) !== 0x0001) return l;
    while ((l & 0xffff) === 0x0001) {
      if (delay > timeoutMs) {
        this.klog.printk(`${name}: not ready after ${delay - 1}ms; giving up`);
        return undefined;
      }
      if (delay >= 1000) this.klog.printk(`${name}: not ready after ${delay - 1}ms; waiting`);
      yield this.sched.sleep(delay);
      delay *= 2;
      l = this.view.configRead(at, R.PCI_VENDOR_ID, 4);
    }
    if (delay >= 1000) this.klog.printk(`${name}: ready after ${delay - 1}ms`);
    return l === 0xffffffff ? undefined : l;
  }

  /** pci_scan_device + pci_device_add. */
  *scanDevice(bus: GuestPciBus, devfn: number): TaskBody<PciDev | undefined> {
    const l = yield* this.readVendorId(bus, devfn);
    if (l === undefined) return undefined;
    const dev = new PciDev(this.view, bus, devfn);
    dev.vendor = l & 0xffff;
    dev.device = l >>> 16;
    if (!this.setupDevice(dev)) return undefined;
    // pci_device_add -> pci_init_capabilities: AER status cleared, error reporting on.
    pciAerInit(dev);
    bus.devices.push(dev);
    return dev;
  }

  /** pci_setup_device: header, PCIe type, class, config size, BARs, bridge specifics. */
  setupDevice(dev: PciDev): boolean {
    const hdr = dev.read8(R.PCI_HEADER_TYPE);
    dev.hdrType = hdr & 0x7f;
    dev.multifunction = (hdr & R.PCI_HEADER_TYPE_MULTI_FUNCTION) !== 0;
    // set_pcie_port_type
    dev.pcieCap = dev.findCapability(R.PCI_CAP_ID_EXP);
    if (dev.pcieCap) {
      dev.pcieFlags = dev.read16(dev.pcieCap + C.PCI_EXP_FLAGS);
      dev.devcap = dev.read32(dev.pcieCap + C.PCI_EXP_DEVCAP);
    }
    const cls = dev.read32(PCI_CLASS_REVISION);
    dev.revision = cls & 0xff;
    dev.class = cls >>> 8;
    dev.cfgSize = this.cfgSpaceSize(dev);
    // quirk_mmio_always_on (an early fix-up): host bridges keep decoding while BARs are sized.
    dev.mmioAlwaysOn = dev.class >> 8 === PCI_CLASS_BRIDGE_HOST;
    this.info(dev, `[${hex(dev.vendor, 4)}:${hex(dev.device, 4)}] type ${hex(dev.hdrType, 2)} class 0x${hex(dev.class, 6)}`);
    dev.brokenIntxMasking = this.intxMaskBroken(dev);
    const cls16 = dev.class >> 8;
    switch (dev.hdrType) {
      case R.PCI_HEADER_TYPE_NORMAL:
        if (cls16 === PCI_CLASS_BRIDGE_PCI) return this.bad(dev, cls16);
        this.readIrq(dev);
        readBases(dev, 6, R.PCI_ROM_ADDRESS, (t) => this.info(dev, t));
        dev.subsystemVendor = dev.read16(R.PCI_SUBSYSTEM_VENDOR_ID);
        dev.subsystemDevice = dev.read16(R.PCI_SUBSYSTEM_ID);
        if (cls16 === PCI_CLASS_STORAGE_IDE) legacyIde(dev, (t) => this.info(dev, t));
        return true;
      case R.PCI_HEADER_TYPE_BRIDGE: {
        this.readIrq(dev);
        dev.transparent = (dev.class & 0xff) === 1;
        readBases(dev, 2, R.PCI_ROM_ADDRESS1, (t) => this.info(dev, t));
        this.readBridgeWindows(dev);
        // set_pcie_hotplug_bridge
        if (dev.pcieCap && dev.pcieFlags & C.PCI_EXP_FLAGS_SLOT && dev.pcieRead32(C.PCI_EXP_SLTCAP) & PCI_EXP_SLTCAP_HPC) dev.isHotplugBridge = true;
        const ssvid = dev.findCapability(R.PCI_CAP_ID_SSVID);
        if (ssvid) {
          dev.subsystemVendor = dev.read16(ssvid + R.PCI_SSVID_VENDOR_ID);
          dev.subsystemDevice = dev.read16(ssvid + R.PCI_SSVID_DEVICE_ID);
        }
        return true;
      }
      default:
        // CardBus is not modelled by any board here.
        this.klog.dev('pci', dev.name, `unknown header type ${hex(dev.hdrType, 2)}, ignoring device`);
        return false;
    }
  }

  private bad(dev: PciDev, cls16: number): boolean {
    this.klog.dev('pci', dev.name, `ignoring class 0x${hex(cls16, 4)} (doesn't match header type ${hex(dev.hdrType, 2)})`);
    return false;
  }

  /** pci_cfg_space_size: 4 KiB if PCIe (or a host bridge) and offset 0x100 answers. */
  private cfgSpaceSize(dev: PciDev): number {
    let ext = dev.class >> 8 === PCI_CLASS_BRIDGE_HOST || dev.isPcie;
    if (!ext) {
      const pcix = dev.findCapability(PCI_CAP_ID_PCIX);
      ext = pcix !== 0 && (dev.read32(pcix + PCI_X_STATUS) & (PCI_X_STATUS_266MHZ | PCI_X_STATUS_533MHZ)) !== 0;
    }
    if (!ext) return R.PCI_CONFIG_SPACE_SIZE;
    return dev.read32(R.PCI_CONFIG_SPACE_SIZE) === 0xffffffff ? R.PCI_CONFIG_SPACE_SIZE : R.PCIE_CONFIG_SPACE_SIZE;
  }

  /** pci_intx_mask_broken: toggle INTx Disable and see whether it sticks. */
  private intxMaskBroken(dev: PciDev): boolean {
    const orig = dev.read16(R.PCI_COMMAND);
    const toggle = orig ^ R.PCI_COMMAND_INTX_DISABLE;
    dev.write16(R.PCI_COMMAND, toggle);
    const now = dev.read16(R.PCI_COMMAND);
    dev.write16(R.PCI_COMMAND, orig);
    return now !== toggle;
  }

  /** pci_read_irq: the pin, and the line firmware programmed. */
  private readIrq(dev: PciDev): void {
    dev.pin = dev.read8(R.PCI_INTERRUPT_PIN);
    if (dev.pin) dev.irq = dev.read8(R.PCI_INTERRUPT_LINE);
  }

  /** pci_read_bridge_windows: which windows the bridge implements (probes unset ones). */
  private readBridgeWindows(dev: PciDev): void {
    let io = dev.read16(R.PCI_IO_BASE);
    if (!io) {
      dev.write16(R.PCI_IO_BASE, 0xe0f0);
      io = dev.read16(R.PCI_IO_BASE);
      dev.write16(R.PCI_IO_BASE, 0);
    }
    dev.ioWindow = io !== 0;
    let pmem = dev.read32(R.PCI_PREF_MEMORY_BASE);
    if (!pmem) {
      dev.write32(R.PCI_PREF_MEMORY_BASE, 0xffe0fff0);
      pmem = dev.read32(R.PCI_PREF_MEMORY_BASE);
      dev.write32(R.PCI_PREF_MEMORY_BASE, 0);
    }
    if (!pmem) return;
    dev.prefWindow = true;
    if ((pmem & R.PCI_PREF_RANGE_TYPE_MASK) === R.PCI_PREF_RANGE_TYPE_64) {
      const upper = dev.read32(R.PCI_PREF_BASE_UPPER32);
      dev.write32(R.PCI_PREF_BASE_UPPER32, 0xffffffff);
      const tmp = dev.read32(R.PCI_PREF_BASE_UPPER32);
      dev.write32(R.PCI_PREF_BASE_UPPER32, upper);
      dev.pref64Window = tmp !== 0;
    }
  }

  /** pci_read_bridge_bases (from pcibios_fixup_bus): log and record the secondary bus windows. */
  readBridgeBases(bus: GuestPciBus): void {
    const dev = bus.self!;
    this.info(dev, `PCI bridge to ${formatResource({ kind: 'bus', start: bus.number, end: bus.busnEnd })}${dev.transparent ? ' (subtractive decode)' : ''}`);
    const ioLo = dev.read8(R.PCI_IO_BASE);
    const ioLimLo = dev.read8(R.PCI_IO_LIMIT);
    let ioBase = (ioLo & 0xf0) << 8;
    let ioLimit = (ioLimLo & 0xf0) << 8;
    if ((ioLo & R.PCI_IO_RANGE_TYPE_MASK) === R.PCI_IO_RANGE_TYPE_32) {
      ioBase += dev.read16(R.PCI_IO_BASE_UPPER16) * 0x10000;
      ioLimit += dev.read16(R.PCI_IO_LIMIT_UPPER16) * 0x10000;
    }
    bus.windows[0] = ioBase <= ioLimit ? { kind: 'io', start: ioBase, end: ioLimit + 0xfff } : undefined;
    const memBase = (dev.read16(R.PCI_MEMORY_BASE) & 0xfff0) * 0x10000;
    const memLimit = (dev.read16(R.PCI_MEMORY_LIMIT) & 0xfff0) * 0x10000;
    bus.windows[1] = memBase <= memLimit ? { kind: 'mem', start: memBase, end: memLimit + 0xfffff } : undefined;
    const pLo = dev.read16(R.PCI_PREF_MEMORY_BASE);
    const pLimLo = dev.read16(R.PCI_PREF_MEMORY_LIMIT);
    let pBase = (pLo & 0xfff0) * 0x10000;
    let pLimit = (pLimLo & 0xfff0) * 0x10000;
    const p64 = (pLo & R.PCI_PREF_RANGE_TYPE_MASK) === R.PCI_PREF_RANGE_TYPE_64;
    if (p64) {
      const hi = dev.read32(R.PCI_PREF_BASE_UPPER32);
      const limHi = dev.read32(R.PCI_PREF_LIMIT_UPPER32);
      // Some bridges reset base > limit in the upper half: treat as unused then.
      if (hi <= limHi) {
        pBase += hi * 2 ** 32;
        pLimit += limHi * 2 ** 32;
      }
    }
    bus.windows[2] = pBase <= pLimit ? { kind: 'mem', start: pBase, end: pLimit + 0xfffff, pref: true, is64: p64 } : undefined;
    for (const w of bus.windows) if (w) this.info(dev, `  bridge window ${formatResource(w)}`);
  }

  /**
   * pci_scan_bridge_extend. Pass 0 descends into buses firmware numbered; pass 1 numbers
   * the others (hot-added bridges) from max + 1. Master-abort reporting is off meanwhile.
   */
  *scanBridge(bus: GuestPciBus, dev: PciDev, max: number, pass: number): TaskBody<number> {
    const buses = dev.read32(R.PCI_PRIMARY_BUS);
    let primary = buses & 0xff;
    const secondary = (buses >>> 8) & 0xff;
    const subordinate = (buses >>> 16) & 0xff;
    if (!primary && primary !== bus.number && secondary && subordinate) {
      this.klog.dev('pci', dev.name, 'Primary bus is hard wired to 0');
      primary = bus.number;
    }
    let broken = false;
    if (!pass && (primary !== bus.number || secondary <= bus.number || secondary > subordinate)) {
      this.info(dev, `bridge configuration invalid ([bus ${hex(secondary, 2)}-${hex(subordinate, 2)}]), reconfiguring`);
      broken = true;
    }
    const bctl = dev.read16(R.PCI_BRIDGE_CONTROL);
    dev.write16(R.PCI_BRIDGE_CONTROL, bctl & ~R.PCI_BRIDGE_CTL_MASTER_ABORT);
    if ((secondary || subordinate) && !broken) {
      if (!pass) {
        const child = this.findBus(bus.domain, secondary) ?? this.addBus(bus, dev, secondary, subordinate);
        const cmax = yield* this.scanChildBus(child);
        if (cmax > subordinate) this.klog.dev('pci', dev.name, `bridge has subordinate ${hex(subordinate, 2)} but max busn ${hex(cmax, 2)}`);
        if (subordinate > max) max = subordinate;
      }
    } else if (!pass) {
      // Stop forwarding config cycles until pass 1 gives this bridge a free range.
      if (broken) dev.write32(R.PCI_PRIMARY_BUS, buses & 0xff000000);
    } else {
      dev.write16(R.PCI_STATUS, 0xffff); // clear errors
      const next = max + 1;
      const child = this.findBus(bus.domain, next) ?? this.addBus(bus, dev, next, bus.busnEnd);
      max++;
      dev.write32(R.PCI_PRIMARY_BUS, ((buses & 0xff000000) | bus.number | (child.number << 8) | (child.busnEnd << 16)) >>> 0);
      max = yield* this.scanChildBus(child);
      child.busnEnd = max;
      dev.write8(R.PCI_SUBORDINATE_BUS, max);
    }
    dev.write16(R.PCI_BRIDGE_CONTROL, bctl);
    return max;
  }

  /** pci_add_new_bus / pci_alloc_child_bus (+ pci_set_bus_speed: link active reporting). */
  private addBus(parent: GuestPciBus, bridge: PciDev, nr: number, end: number): GuestPciBus {
    const child = new GuestPciBus(parent.domain, nr, bridge, parent, end);
    bridge.subordinate = child;
    parent.children.push(child);
    if (bridge.isPcie) {
      const lnkcap = bridge.pcieRead32(C.PCI_EXP_LNKCAP);
      bridge.linkActiveReporting = (lnkcap & PCI_EXP_LNKCAP_DLLLARC) !== 0;
      bridge.pcieRead16(C.PCI_EXP_LNKSTA); // current link speed of the new bus
    }
    return child;
  }

  /** pci_stop_and_remove_bus_device: drop a function (and what is below it) from the tree. */
  removeDevice(dev: PciDev): void {
    if (dev.subordinate) {
      for (const d of [...dev.subordinate.devices].reverse()) this.removeDevice(d);
      const kids = dev.bus.children;
      kids.splice(kids.indexOf(dev.subordinate), 1);
      dev.subordinate = undefined;
    }
    const list = dev.bus.devices;
    if (list.includes(dev)) list.splice(list.indexOf(dev), 1);
  }
}
