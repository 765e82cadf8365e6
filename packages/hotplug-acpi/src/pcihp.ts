/**
 * ACPI PCI hotplug controller as QEMU 7.2 runs it inside PIIX4_PM (`-M pc`) and ICH9-LPC
 * (`-M q35`): hw/acpi/pcihp.c plus the GPE glue of hw/acpi/piix4.c / hw/acpi/ich9.c.
 * spec/acpi-pcihp.md is authoritative; "observed" notes were checked on Debian's 7.2.22.
 *
 * Lifecycle: the board creates the owner device, builds this object and calls attach()
 * before any `-device` is cold-plugged; attach() makes the controller the root bus' handler
 * so that cold-plugged bridges pass through plug() and get their secondary bus taken over.
 * The first machine reset (Machine.finishInit) drops the root bus if root hotplug is off and
 * numbers the hotpluggable buses (BSEL); every reset ejects the slots still pending removal.
 */
import { QemuError, completeUnplug, type Bus, type Device, type HotplugHandler, type Machine } from '@plugboard/qdev';
import { PCIDevice, type GuestView, type IoRegion, type PCIBus } from '@plugboard/pci-core';
import { assignBsels, findHotplugBus, getBsel, hotplugBusFinder, usableBsel } from './bsel.js';
import { Gpe0Block } from './gpe.js';
import { devicesInSlot, enableSlotPower, noHotplug, secondaryBus } from './slots.js';
import {
  ACPI_PCIHP_ACCESS_SIZE, ACPI_PCIHP_BSEL_DEFAULT, ACPI_PCIHP_IO_BASE_PROP, ACPI_PCIHP_IO_LEN_PROP, ACPI_PCIHP_MAX_HOTPLUG_BUS,
  ACPI_PCIHP_PROP_BSEL, ACPI_PCIHP_SIZE, ACPI_PCI_HOTPLUG_STATUS, ONBOARD_INDEX_MAX, PCIHP_SLOTS, PCI_AIDX_BASE, PCI_DOWN_BASE,
  PCI_EJ_BASE, PCI_RMV_BASE, PCI_SEL_BASE, PCI_UP_BASE,
} from './regs.js';

export interface AcpiPciHotplugOptions {
  machine: Machine;
  /** PIIX4_PM (pc, 00:01.3) or ICH9-LPC (q35, 00:1f.0): target of the buses' `hotplug-handler` link. */
  owner: PCIDevice;
  rootBus: PCIBus;
  /** 0xae00 on pc (PIIX4_PM), 0x0cc0 on q35 (ICH9-LPC). */
  ioBase: number;
  /** `acpi-pci-hotplug-with-bridge-support` */
  bridgeSupport: boolean;
  /** `acpi-root-pci-hotplug` (pc only; always false on q35, whose root bus is never ACPI-hotpluggable). */
  rootHotplug: boolean;
  /** GPE0 block: PIIX4 {0xafe0, 4}; ICH9 {PMBASE+0x20, 16}, base undefined until firmware sets PMBASE. */
  gpe: { base: number | undefined; len: number };
  /** SCI line (default 9). */
  sciLine?: number;
  /** Interrupts go to `guestView.raise({kind: 'sci', ...})`; regions are registered on attach(). */
  guestView?: GuestView;
  /**
   * q35: powers the PCIe slot of a root/downstream port when a device is hot-added below it
   * (pcie_cap_slot_enable_power). Default: clear SLTCTL.PCC in config space when SLTCAP.PCP is
   * set. @plugboard/hotplug-pcie can pass its own to keep its slot model in step.
   */
  slotPowerOn?: (port: PCIDevice) => void;
  /** Other SCI sources (PM1 status & enable) of the chipset model, ORed into the SCI level. */
  extraSciLevel?: () => boolean;
}

/** Per-BSEL state (AcpiPciHpPciStatus). */
export interface PciHpSlotStatus {
  up: number;
  down: number;
  /** RMV: recomputed at reset; 0 until the first reset. */
  hotplugEnable: number;
}

const UNSUPPORTED_BUS = `Unsupported bus. Bus doesn't have property '${ACPI_PCIHP_PROP_BSEL}' set`;
const ALL_SLOTS = 0xffffffff;
/** QEMU's TYPE_PCIE_ROOT_PORT / TYPE_XIO3130_DOWNSTREAM: ports whose slot power gets the fixup. */
const POWER_FIXUP_PORT_TYPES = ['pcie-root-port-base', 'xio3130-downstream'];
const TYPE_PCIE_SLOT = 'pcie-slot';

const slotBit = (slot: number): number => (1 << slot) >>> 0;
/** ctz32: index of the lowest set bit, 32 for 0. */
const ctz32 = (v: number): number => (v === 0 ? 32 : 31 - Math.clz32((v & -v) >>> 0));

export class AcpiPciHotplug implements HotplugHandler {
  readonly machine: Machine;
  readonly owner: PCIDevice;
  readonly rootBus: PCIBus;
  readonly ioBase: number;
  readonly bridgeSupport: boolean;
  readonly rootHotplug: boolean;
  readonly gpe: Gpe0Block;
  /**
   * 7.2 PIIX4 maps the block only when some ACPI hotplug is on (piix4_acpi_system_hot_add_init);
   * with both properties off the controller still handles bridges but the guest sees no
   * registers (observed: 0xae00 reads all-ones, bridge buses still get a BSEL).
   */
  readonly ioMapped: boolean;
  /** acpi_pcihp_init's legacy_piix: bridge support off: SEL forced to 0, UP not cleared, no takeover. */
  readonly legacyPiix: boolean;
  guestView: GuestView | undefined;
  private readonly status: PciHpSlotStatus[] = Array.from({ length: ACPI_PCIHP_MAX_HOTPLUG_BUS }, () => ({ up: 0, down: 0, hotplugEnable: 0 }));
  private hotplugSelect = 0;
  /** AIDX latch (acpi_index), reset by every write. */
  private acpiIndexLatch = 0;
  /** pci_acpi_index_list: indexes claimed by pre_plug, freed by unplug. */
  private readonly usedAcpiIndexes = new Set<number>();
  private readonly slotPowerOn: (port: PCIDevice) => void;
  private bselAssigned = false;
  private rootDisabled = false;
  private attached = false;
  private regions: IoRegion[] | undefined;

  constructor(opts: AcpiPciHotplugOptions) {
    this.machine = opts.machine;
    this.owner = opts.owner;
    this.rootBus = opts.rootBus;
    this.ioBase = opts.ioBase;
    this.bridgeSupport = opts.bridgeSupport;
    this.rootHotplug = opts.rootHotplug;
    this.ioMapped = opts.bridgeSupport || opts.rootHotplug;
    this.legacyPiix = this.ioMapped && !opts.bridgeSupport;
    this.gpe = new Gpe0Block({ base: opts.gpe.base, len: opts.gpe.len, sciLine: opts.sciLine, extraSciLevel: opts.extraSciLevel });
    this.slotPowerOn = opts.slotPowerOn ?? enableSlotPower;
    this.guestView = opts.guestView;
    this.gpe.guestView = opts.guestView;
  }

  // ---- wiring ---------------------------------------------------------------------------------

  /** The pcihp block (when mapped) and GPE0, for the machine's GuestView. */
  ioRegions(): IoRegion[] {
    if (!this.regions) {
      const pcihp: IoRegion = {
        name: 'acpi-pci-hotplug',
        base: this.ioBase,
        size: ACPI_PCIHP_SIZE,
        read: (offset, size) => this.read(offset, size),
        write: (offset, value, size) => this.write(offset, value, size),
      };
      this.regions = this.ioMapped ? [pcihp, this.gpe.ioRegion()] : [this.gpe.ioRegion()];
    }
    return this.regions;
  }

  /** Registers the regions with `gv` and sends the SCI there. */
  connectGuestView(gv: GuestView): void {
    this.guestView = gv;
    this.gpe.guestView = gv;
    for (const r of this.ioRegions()) gv.addIoRegion(r);
  }

  /**
   * Installs the controller: handler of the root bus (piix4_pm_realize / ich9 init do this
   * before `-device` options are applied), QOM properties on the owner, the reset hook, and
   * the takeover of bridges cold-plugged before this call.
   */
  attach(): void {
    if (this.attached) throw new Error('AcpiPciHotplug.attach() called twice');
    this.attached = true;
    this.rootBus.setHotplugHandler(this, this.owner);
    if (this.ioMapped) {
      this.defineOwnerProperty(ACPI_PCIHP_IO_BASE_PROP, 'uint16', () => this.ioBase);
      this.defineOwnerProperty(ACPI_PCIHP_IO_LEN_PROP, 'uint16', () => ACPI_PCIHP_SIZE);
    }
    this.defineOwnerProperty('gpe0_blk', 'uint32', () => this.gpe.base ?? 0);
    this.defineOwnerProperty('gpe0_blk_len', 'uint32', () => this.gpe.len);
    this.machine.onReset(() => this.reset());
    this.adoptColdPluggedBridges();
    if (this.guestView) for (const r of this.ioRegions()) this.guestView.addIoRegion(r);
    // Attached after the first reset: do what that reset would have done.
    if (this.machine.phase === 'ready') {
      this.firstResetSetup();
      this.updateAll();
    }
  }

  /**
   * Takes over the secondary bus of every cold-plugged bridge below the buses this controller
   * handles, as plug() does for bridges cold-plugged after attach(). Idempotent; hot-plugged
   * bridges keep their own (SHPC / PCIe native) handler.
   */
  adoptColdPluggedBridges(from: Bus = this.rootBus): void {
    if (from.hotplugHandler !== this) return;
    for (const dev of from.children()) {
      if (!(dev instanceof PCIDevice) || dev.hotplugged) continue;
      const sec = secondaryBus(dev);
      if (!sec || this.legacyPiix) continue;
      this.takeOverBridge(dev, sec);
      this.adoptColdPluggedBridges(sec);
    }
  }

  /** ICH9: firmware programmed PMBASE (GPE0 = PMBASE + 0x20) or turned ACPI decoding off. */
  setGpeBase(base: number | undefined): void {
    this.gpe.setBase(base);
  }

  /** acpi_send_event for other GPE sources sharing the block (CPU/memory hotplug, power-down). */
  sendEvent(bits: number): void {
    this.gpe.sendEvent(bits);
  }

  /** The bus' `acpi-pcihp-bsel` (undefined before the first reset or for buses without one). */
  bselOf(bus: Bus): number | undefined {
    return getBsel(bus);
  }

  /** A copy of the UP/DOWN/RMV state of one selector (for the AML builder, tests, debugging). */
  slotStatus(bsel: number): PciHpSlotStatus {
    const st = this.status[bsel];
    if (!st) throw new RangeError(`bsel ${bsel} out of range`);
    return { ...st };
  }

  // ---- HotplugHandler -------------------------------------------------------------------------

  /** acpi_pcihp_device_pre_plug_cb: BSEL (hot-plug only), then acpi-index range and uniqueness. */
  prePlug(dev: Device): void {
    if (!(dev instanceof PCIDevice)) return;
    if (dev.hotplugged && usableBsel(dev.parentBus) < 0) throw new QemuError(UNSUPPORTED_BUS);
    const index = dev.prop<number>('acpi-index') ?? 0;
    if (index > ONBOARD_INDEX_MAX) throw new QemuError(`acpi-index should be less or equal to ${ONBOARD_INDEX_MAX}`);
    if (index) {
      if (this.usedAcpiIndexes.has(index)) throw new QemuError(`a PCI device with acpi-index = ${index} already exist`);
      // Claimed here and only released by unplug: a realize failing after pre_plug leaks the
      // index (observed on 7.2: `addr` in use with acpi-index=7, then acpi-index=7 elsewhere
      // is refused as a duplicate).
      this.usedAcpiIndexes.add(index);
    }
  }

  /**
   * acpi_pcihp_device_plug_cb. Cold plug: bridge takeover only. Hot plug: q35 slot power
   * fixup, UP bit, GPE. A function > 0 sets the slot's UP bit at once, with or without
   * function 0 (observed: addr=6.1 alone gives UP=0x40; the guest rescans the whole slot).
   */
  plug(dev: Device): void {
    if (!(dev instanceof PCIDevice)) return;
    if (!dev.hotplugged) {
      const sec = secondaryBus(dev);
      if (sec && !this.legacyPiix) this.takeOverBridge(dev, sec);
      return;
    }
    const bus = dev.pciBus;
    const port = bus.bridge;
    if (port && POWER_FIXUP_PORT_TYPES.some((t) => port.type.isA(t))) this.slotPowerOn(port);
    const bsel = usableBsel(bus);
    if (bsel < 0) return; // pre_plug refused this already (QEMU asserts)
    this.status[bsel]!.up = (this.status[bsel]!.up | slotBit(dev.slot)) >>> 0;
    this.gpe.sendEvent(ACPI_PCI_HOTPLUG_STATUS);
  }

  /**
   * acpi_pcihp_device_unplug_request_cb: DOWN bit and GPE; the pending flag expires at the
   * current virtual-clock ms (7.2.3+), so a repeat is accepted once the clock is past 0
   * (spec/qdev-hotplug.md §5; in `-S` prelaunch the clock reads 0 = never expires).
   */
  unplugRequest(dev: Device): void {
    const bsel = usableBsel(dev.parentBus);
    if (!(dev instanceof PCIDevice) || bsel < 0) throw new QemuError(UNSUPPORTED_BUS);
    dev.pendingDeletion = true;
    dev.pendingDeletionExpiresMs = this.machine.clock.nowMs();
    this.status[bsel]!.down = (this.status[bsel]!.down | slotBit(dev.slot)) >>> 0;
    this.gpe.sendEvent(ACPI_PCI_HOTPLUG_STATUS);
  }

  /** acpi_pcihp_device_unplug_cb: frees the acpi-index; qdev's completeUnplug unrealizes. */
  unplug(dev: Device): void {
    if (!(dev instanceof PCIDevice)) return;
    const index = dev.prop<number>('acpi-index') ?? 0;
    if (index) this.usedAcpiIndexes.delete(index);
  }

  // ---- guest registers (pci_read / pci_write) -------------------------------------------------

  read(offset: number, size: number): number {
    // Only aligned 4-byte accesses are valid; others read 0 without side effects (observed:
    // `i /b 0xae00` gives 0 and leaves UP set).
    if (size !== ACPI_PCIHP_ACCESS_SIZE || offset % ACPI_PCIHP_ACCESS_SIZE !== 0) return 0;
    const bsel = this.hotplugSelect;
    // An out-of-range selector reads 0 everywhere, SEL included (observed after SEL=0x1234).
    if (bsel >= ACPI_PCIHP_MAX_HOTPLUG_BUS) return 0;
    const st = this.status[bsel]!;
    switch (offset) {
      case PCI_UP_BASE: {
        const v = st.up;
        if (!this.legacyPiix) st.up = 0; // read-to-clear outside legacy PIIX mode
        return v;
      }
      case PCI_DOWN_BASE:
        return st.down;
      case PCI_EJ_BASE:
        return 0;
      case PCI_RMV_BASE:
        return st.hotplugEnable;
      case PCI_SEL_BASE:
        return this.hotplugSelect;
      case PCI_AIDX_BASE: {
        const v = this.acpiIndexLatch;
        this.acpiIndexLatch = 0;
        return v;
      }
      default:
        return 0;
    }
  }

  write(offset: number, value: number, size: number): void {
    if (size !== ACPI_PCIHP_ACCESS_SIZE || offset % ACPI_PCIHP_ACCESS_SIZE !== 0) return;
    value >>>= 0;
    this.acpiIndexLatch = 0;
    const sel = this.hotplugSelect;
    switch (offset) {
      case PCI_AIDX_BASE: {
        if (sel >= ACPI_PCIHP_MAX_HOTPLUG_BUS) return;
        const bus = findHotplugBus(this.rootBus, sel);
        const dev = bus && devicesInSlot(bus, ctz32(value))[0];
        if (dev) this.acpiIndexLatch = dev.prop<number>('acpi-index') ?? 0;
        return;
      }
      case PCI_EJ_BASE:
        if (sel < ACPI_PCIHP_MAX_HOTPLUG_BUS) this.ejectSlot(sel, value);
        return;
      case PCI_SEL_BASE:
        this.hotplugSelect = this.legacyPiix ? ACPI_PCIHP_BSEL_DEFAULT : value;
        return;
      default:
        return;
    }
  }

  // ---- eject and reset ------------------------------------------------------------------------

  /**
   * acpi_pcihp_eject_slot: lowest set bit = slot; clears UP/DOWN for it and unplugs every
   * removable function there, newest first (qdev keeps bus children newest first; observed
   * DEVICE_DELETED for 6.0 before 6.1). No device_del is needed: a guest may eject anything
   * removable.
   */
  private ejectSlot(bsel: number, slots: number): void {
    const slot = ctz32(slots);
    const bus = findHotplugBus(this.rootBus, bsel);
    if (!bus || slot >= PCIHP_SLOTS) return;
    const st = this.status[bsel]!;
    st.down = (st.down & ~slotBit(slot)) >>> 0;
    st.up = (st.up & ~slotBit(slot)) >>> 0;
    for (const dev of devicesInSlot(bus, slot)) {
      if (!noHotplug(dev)) completeUnplug(dev);
    }
  }

  /**
   * The reset hook (piix4_pm_reset / ich9_pm_reset): GPE0 cleared, then acpi_pcihp_reset:
   * root bus dropped (once) when root hotplug is off, BSELs assigned (once), pending
   * removals ejected, RMV recomputed. UP and SEL survive (observed).
   */
  reset(): void {
    this.gpe.reset();
    this.firstResetSetup();
    this.updateAll();
  }

  private firstResetSetup(): void {
    if (!this.rootHotplug && !this.rootDisabled) {
      // acpi_pcihp_disable_root_bus: no handler = the bus is not hotpluggable.
      this.rootBus.setHotplugHandler(undefined);
      this.rootDisabled = true;
    }
    if (!this.bselAssigned) {
      assignBsels(this.rootBus);
      this.bselAssigned = true;
    }
  }

  /** acpi_pcihp_update over every selector. */
  private updateAll(): void {
    let find: ((bsel: number) => PCIBus | undefined) | undefined;
    for (let bsel = 0; bsel < ACPI_PCIHP_MAX_HOTPLUG_BUS; bsel++) {
      const st = this.status[bsel]!;
      while (st.down) {
        const before = st.down;
        this.ejectSlot(bsel, st.down);
        find = undefined; // an eject changes the tree
        if (st.down === before) st.down = 0; // the bus is gone: nothing left to eject (QEMU would spin)
      }
      st.hotplugEnable = ALL_SLOTS;
      find ??= hotplugBusFinder(this.rootBus);
      const bus = find(bsel);
      if (!bus) continue;
      for (const dev of bus.children()) {
        if (dev instanceof PCIDevice && noHotplug(dev)) st.hotplugEnable = (st.hotplugEnable & ~slotBit(dev.slot)) >>> 0;
      }
    }
  }

  /** Cold-plugged bridge: its secondary bus becomes ours, or handler-less for a `hotplug=off` slot. */
  private takeOverBridge(bridge: PCIDevice, sec: PCIBus): void {
    if (bridge.type.isA(TYPE_PCIE_SLOT) && bridge.prop<boolean>('hotplug') === false) sec.setHotplugHandler(undefined);
    else sec.setHotplugHandler(this, this.owner);
  }

  private defineOwnerProperty(name: string, type: string, get: () => unknown): void {
    if (!this.owner.hasProperty(name)) this.owner.defineProperty({ name, type, get });
  }
}
