/**
 * `ged-pci-hotplug`: a PCI hotplug controller QEMU does not have, after cloud-hypervisor's
 * ACPI GED-style hotplug. A system-bus device the user adds with `-device`; at realize it
 * becomes the hotplug handler of a root PCI bus and maps its register window (./regs.ts) into
 * the machine's guest view.
 *
 * Round trip: device_add -> plug(): the controller programs the new function's BARs (as
 * cloud-hypervisor's VMM does), sets the slot's PCIU bit and GDAT's PCI bit, and pulses the
 * GED interrupt. device_del -> unplugRequest(): the device is pending, PCID bit, interrupt.
 * The guest reads GDAT/PCIU/PCID (each read clears), scans or removes the slot, and writes
 * B0EJ for the slots it let go: the controller unplugs them (DEVICE_DELETED). A reset ejects
 * what is still pending (cloud-hypervisor forgets a removed device's config at once, so a
 * reboot never brings it back) and clears the registers.
 */
import {
  Device, QemuError, completeUnplug, findBus, strProp, uint32Prop, type HotplugHandler, type Machine, type TypeDef, type TypeImpl,
} from '@plugboard/qdev';
import { PCIBus, PCIDevice, regs as R, type GuestView, type IoRegion } from '@plugboard/pci-core';
import {
  GED_B0EJ, GED_DEFAULT_BASE, GED_DEFAULT_IO_WINDOW, GED_DEFAULT_IRQ, GED_DEFAULT_MEM_WINDOW, GED_GDAT, GED_GIRQ, GED_GSIG,
  GED_IO_PER_SLOT, GED_MEM_PER_SLOT, GED_MMIO_SIZE, GED_PCID, GED_PCIU, GED_PCI_DEVICES_CHANGED, GED_PSEG, GED_SIGNATURE, PCI_SLOTS, slotBit,
} from './regs.js';

export const TYPE_GED_PCI_HOTPLUG = 'ged-pci-hotplug';

/** What the controller needs of the machine: Plugboard's machines all have a guest view. */
type MachineWithView = Machine & { guestView?: GuestView; pciRoots?: readonly PCIBus[] };

const controllers = new WeakMap<Machine, GedPciHotplug>();

/** The machine's GED controller, if one was added. */
export function gedOf(machine: Machine): GedPciHotplug | undefined {
  return controllers.get(machine);
}

const err = (text: string) => new QemuError(`${TYPE_GED_PCI_HOTPLUG}: ${text}`);

export class GedPciHotplug extends Device implements HotplugHandler {
  /** The root bus this controller hot-plugs on, and its PCI segment (host bridge index). */
  bus!: PCIBus;
  segment = 0;
  /** Registers: GDAT, the segment's PCIU/PCID bitmaps, PSEG. */
  gdat = 0;
  up = 0;
  down = 0;
  pseg = 0;
  private view!: GuestView;

  constructor(type: TypeImpl, machine: Machine) {
    super(type, machine);
  }

  get base(): number {
    return this.prop<number>('mmio-base');
  }

  get irq(): number {
    return this.prop<number>('irq');
  }

  protected override onRealize(): void {
    const m = this.machine as MachineWithView;
    if (!m.guestView) throw err('this machine has no guest view to map registers into');
    if (controllers.has(m)) throw err('only one per machine');
    const bus = this.targetBus(m);
    this.bus = bus;
    this.segment = Math.max(0, m.pciRoots?.indexOf(bus) ?? 0);
    this.view = m.guestView;
    const region: IoRegion = {
      base: this.base, size: GED_MMIO_SIZE, name: TYPE_GED_PCI_HOTPLUG,
      read: (off, size) => this.read(off, size),
      write: (off, value) => this.write(off, value),
    };
    this.view.addMmioRegion(region);
    controllers.set(m, this);
    // Devices hot-added from now on go through this controller. The board's own controller
    // may drop the bus at the first reset (q35's ACPI does for pcie.0): the reset hook,
    // registered after the board's, claims it again.
    this.claimBus();
    m.onReset(() => this.afterReset());
  }

  private targetBus(m: MachineWithView): PCIBus {
    const name = this.prop<string | null>('pci-bus');
    const bus = name ? findBus(m, name) : (m.pciRoots?.[0] ?? [...m.buses()].find((b): b is PCIBus => b instanceof PCIBus && b.isRoot));
    if (!(bus instanceof PCIBus)) throw err(name ? `'${name}' is not a PCI bus` : 'this machine has no PCI bus');
    if (!bus.isRoot) throw err(`'${bus.name}' is not a root bus: the controller serves the root bus of a PCI segment`);
    return bus;
  }

  private claimBus(): void {
    this.bus.setHotplugHandler(this, this);
  }

  // ---- HotplugHandler ---------------------------------------------------------------------------

  prePlug(dev: Device): void {
    if (!(dev instanceof PCIDevice)) throw err(`${dev.typeName} is not a PCI device`);
    const want = dev.prop<number>('addr');
    // cloud-hypervisor adds and ejects whole slots: functions > 0 only at cold plug.
    if (dev.hotplugged && want >= 0 && R.PCI_FUNC(want) !== 0) throw err('only function 0 of a slot can be hot-plugged');
  }

  plug(dev: Device): void {
    if (!dev.hotplugged || !(dev instanceof PCIDevice)) return; // cold plug: firmware finds it
    this.assignBars(dev); // throws (and realize rolls back) before anything is visible
    const bit = slotBit(dev.slot);
    this.up = (this.up | bit) >>> 0;
    this.down = (this.down & ~bit) >>> 0;
    this.notify();
  }

  unplugRequest(dev: Device): void {
    if (!(dev instanceof PCIDevice)) throw err(`${dev.typeName} is not a PCI device`);
    // As QEMU's ACPI hotplug: pending with no expiry, a second device_del is refused.
    dev.pendingDeletion = true;
    dev.pendingDeletionExpiresMs = 0;
    this.down = (this.down | slotBit(dev.slot)) >>> 0;
    this.notify();
  }

  unplug(dev: Device): void {
    if (!(dev instanceof PCIDevice)) return;
    const bit = slotBit(dev.slot);
    this.up = (this.up & ~bit) >>> 0;
    this.down = (this.down & ~bit) >>> 0;
  }

  // ---- registers ---------------------------------------------------------------------------------

  /** One edge on the GED's GSI (cloud-hypervisor triggers an edge-triggered interrupt). */
  private notify(): void {
    this.gdat |= GED_PCI_DEVICES_CHANGED;
    // 'sci' is the guest view's kind for a legacy IRQ line by number; no level = an edge.
    this.view.raise({ kind: 'sci', line: this.irq });
  }

  private read(off: number, size: number): number {
    const reg = off & ~3;
    let v = 0;
    switch (reg) {
      case GED_GDAT:
        v = this.gdat;
        this.gdat = 0;
        break;
      case GED_GSIG:
        v = GED_SIGNATURE;
        break;
      case GED_GIRQ:
        v = this.irq;
        break;
      case GED_PCIU:
        v = this.pseg === this.segment ? this.up : 0;
        if (this.pseg === this.segment) this.up = 0;
        break;
      case GED_PCID:
        v = this.pseg === this.segment ? this.down : 0;
        if (this.pseg === this.segment) this.down = 0;
        break;
      case GED_PSEG:
        v = this.pseg;
        break;
      default:
        v = 0; // B0EJ and the reserved dwords read 0
    }
    const shifted = v >>> (8 * (off & 3));
    return size >= 4 ? shifted >>> 0 : shifted & ((1 << (8 * size)) - 1);
  }

  private write(off: number, value: number): void {
    if (off === GED_PSEG) this.pseg = value >>> 0;
    else if (off === GED_B0EJ && this.pseg === this.segment) this.eject(value >>> 0);
  }

  /** B0EJ: every removable function in each slot of the bitmap goes, newest first. */
  private eject(slots: number): void {
    for (let slot = 0; slot < PCI_SLOTS; slot++) {
      if (!(slots & slotBit(slot))) continue;
      for (const dev of [...this.bus.children()].reverse()) {
        if (dev instanceof PCIDevice && dev.slot === slot && dev.isHotpluggable()) completeUnplug(dev);
      }
    }
  }

  private afterReset(): void {
    for (const dev of [...this.bus.children()].reverse()) if (dev.pendingDeletion) completeUnplug(dev);
    this.gdat = 0;
    this.up = 0;
    this.down = 0;
    this.pseg = 0;
    this.claimBus();
  }

  // ---- BARs ---------------------------------------------------------------------------------------

  /** The slot's fixed windows, largest BAR first, each aligned to its size. */
  private assignBars(dev: PCIDevice): void {
    const plan: Array<{ index: number; addr: number }> = [];
    const place = (kind: 'mem' | 'io', base: number, room: number) => {
      const bars = dev.bars
        .filter((b): b is NonNullable<typeof b> => !!b && b.index !== R.PCI_ROM_SLOT && (b.type === 'io') === (kind === 'io'))
        .sort((a, b) => b.size - a.size || a.index - b.index);
      let at = base;
      for (const b of bars) {
        at = Math.ceil(at / b.size) * b.size;
        if (at + b.size > base + room) {
          const need = bars.reduce((n, x) => n + x.size, 0);
          throw err(`${dev.describe()} needs 0x${need.toString(16)} bytes of ${kind} BAR space, a slot has 0x${room.toString(16)}`);
        }
        plan.push({ index: b.index, addr: at });
        at += b.size;
      }
    };
    place('mem', this.prop<number>('mem-window') + dev.slot * GED_MEM_PER_SLOT, GED_MEM_PER_SLOT);
    place('io', this.prop<number>('io-window') + dev.slot * GED_IO_PER_SLOT, GED_IO_PER_SLOT);
    for (const { index, addr } of plan) {
      const off = dev.barOffset(index);
      const typeBits = dev.config.get32(off) & (dev.bars[index]!.type === 'io' ? 0x3 : 0xf);
      dev.config.set32(off, (addr | typeBits) >>> 0);
      if (dev.bars[index]!.type === 'mem64') dev.config.set32(off + 4, 0);
    }
  }

  /** A management view of the state (no side effect, unlike the guest's reads). */
  status(): { base: number; irq: number; bus: string; segment: number; gdat: number; up: number; down: number; slots: Array<{ slot: number; device: string; pending: boolean }> } {
    // What a management stack can device_del: user devices (board devices sit in /machine/unattached).
    const m = this.machine;
    const slots = [...this.bus.children()]
      .filter((d): d is PCIDevice => d instanceof PCIDevice && d.isHotpluggable() && (d.parent === m.peripheral || d.parent === m.peripheralAnon))
      .map((d) => ({ slot: d.slot, device: d.id ?? d.canonicalPath(), pending: d.pendingDeletion }));
    return { base: this.base, irq: this.irq, bus: this.bus.name, segment: this.segment, gdat: this.gdat, up: this.up, down: this.down, slots };
  }
}

/**
 * The type with its register window at `base` by default (the plugin's `mmio-base` option):
 * the address the platform gives the GED, as cloud-hypervisor's DSDT does.
 */
export function gedPciHotplugTypeAt(base: number): TypeDef {
  return {
    ...gedPciHotplugType,
    properties: gedPciHotplugType.properties!.map((p) => (p.name === 'mmio-base' ? { ...p, default: base } : p)),
  };
}

export const gedPciHotplugType: TypeDef = {
  name: TYPE_GED_PCI_HOTPLUG,
  parent: 'sys-bus-device',
  category: 'bridge',
  description: 'ACPI GED-style PCI hotplug controller (cloud-hypervisor PCIU/PCID/B0EJ)',
  // Added with -device before the machine runs; it is part of the board, never hot-plugged.
  userCreatable: true,
  hotpluggable: false,
  properties: [
    { name: 'pci-bus', kind: strProp, default: null, description: 'root PCI bus to serve (default: the first host bridge\'s)' },
    { name: 'mmio-base', kind: uint32Prop, default: GED_DEFAULT_BASE, description: 'guest physical address of the register window' },
    { name: 'irq', kind: uint32Prop, default: GED_DEFAULT_IRQ, description: 'GSI of the GED interrupt' },
    { name: 'mem-window', kind: uint32Prop, default: GED_DEFAULT_MEM_WINDOW, description: 'base of the per-slot memory BAR windows (4 MiB each)' },
    { name: 'io-window', kind: uint32Prop, default: GED_DEFAULT_IO_WINDOW, description: 'base of the per-slot I/O BAR windows (128 bytes each)' },
  ],
  instantiate: (t, m) => new GedPciHotplug(t, m),
};
