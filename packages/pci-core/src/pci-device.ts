/**
 * A PCI function: identity, config space with QEMU's masks, BARs, INTx pin, slot
 * allocation rules and device reset (hw/pci/pci.c do_pci_register_device,
 * pci_init_multifunction, pci_do_device_reset, pci_bar_address).
 */
import { Device, QemuError, boolProp, int32Prop, pciDevfnProp, strProp, uint32Prop, type Machine, type TypeImpl } from '@plugboard/qdev';
import { ConfigSpace } from './config-space.js';
import * as R from './regs.js';
import type { PCIBus } from './pci-bus.js';

export type BarType = 'io' | 'mem32' | 'mem64';

export interface BarDef {
  index: number;
  size: number;
  type: BarType;
  prefetch?: boolean;
}

/** Per-class identity, stored as `classData.pci` on a type. */
export interface PciIdentity {
  vendorId: number;
  deviceId: number;
  revision: number;
  /** 24-bit class code: base << 16 | sub << 8 | prog-if. */
  classCode: number;
  /** Absent on type-0 devices means QEMU's default 1af4:1100; bridges have none. */
  subsystemVendorId?: number;
  subsystemId?: number;
  headerType: number;
  /** 0 none, 1..4 INTA..INTD. */
  interruptPin: number;
  bars?: BarDef[];
  /** Size of the default option ROM (Debian's ROM files), 0 when the class has none. */
  romSize?: number;
  /** Default `romfile` name. */
  romfile?: string;
  /** PCIe function: 4 KiB config space on a PCIe bus. */
  express?: boolean;
}

/** Models may vary identity and capabilities with where they sit (virtio on PCIe...). */
export type PciClassHooks = {
  /** Adjust the identity for this instance before config space is built. */
  identity?: (dev: PCIDevice, base: PciIdentity) => PciIdentity;
  /** Add capabilities (after the header and BARs exist). Throw QemuError to refuse. */
  capabilities?: (dev: PCIDevice) => void;
  /** Undo what `capabilities` registered outside the device (chassis slots...). */
  unrealize?: (dev: PCIDevice) => void;
};

export const PCI_BAR_UNMAPPED = -1;

/**
 * Behaviour attached to a function by a backend (through a type extension): live
 * registers in config space, reset values, realize/unrealize work. Hooks run in
 * attachment order; a `configRead` returning a number overrides the stored bytes.
 */
export interface PciFunctionModel {
  /** After capabilities exist and the function sits on its bus (before the hotplug plug). */
  realize?(dev: PCIDevice): void;
  unrealize?(dev: PCIDevice): void;
  /** After the generic device reset. */
  reset?(dev: PCIDevice): void;
  /** Before the stored bytes are returned: refresh live registers, or return a value. */
  configRead?(dev: PCIDevice, off: number, len: number): number | void;
  /** Replaces the default masked write when it returns true. */
  configWrite?(dev: PCIDevice, off: number, value: number, len: number): boolean | void;
  /** After the (default or replaced) write, with the bytes before it. */
  afterConfigWrite?(dev: PCIDevice, off: number, value: number, len: number, before: Uint8Array): void;
}

/** Where a function's MSI/MSI-X writes and INTx changes go (the machine's interrupt fabric). */
export interface PciInterruptSink {
  msi(dev: PCIDevice, address: bigint, data: number): void;
}

const UINT32_MAX = 0xffffffff;

export class PCIDevice extends Device {
  config!: ConfigSpace;
  identity!: PciIdentity;
  devfn = -1;
  /** Slot power (PCIe/SHPC power controllers): unpowered functions are invisible. */
  powered = true;
  /** INTx line level (asserted by the model). */
  intxLevel = 0;
  readonly bars: Array<BarDef | undefined> = new Array(R.PCI_NUM_REGIONS).fill(undefined);
  /** Offsets of capabilities by ID (first instance), filled by addCapability. */
  readonly caps = new Map<number, number>();
  readonly extCaps = new Map<number, number>();
  private lastExtCap = 0;
  private writeSnapshot: Uint8Array | undefined;
  /** Backend behaviour attached through type extensions. */
  readonly models: PciFunctionModel[] = [];

  attachModel(m: PciFunctionModel): void {
    this.models.push(m);
  }

  constructor(type: TypeImpl, machine: Machine) {
    super(type, machine);
    // The legacy twin of `addr` ("SS.F"), a class property of pci-device listed with it.
    this.defineProperty({ name: 'legacy-addr', type: 'str', get: () => pciDevfnProp.print(this.prop<number>('addr')) }, { classLevel: true });
  }

  get pciBus(): PCIBus {
    return this.parentBus as PCIBus;
  }

  get slot(): number {
    return R.PCI_SLOT(this.devfn);
  }
  get fn(): number {
    return R.PCI_FUNC(this.devfn);
  }

  get isBridge(): boolean {
    return (this.identity.headerType & 0x7f) === R.PCI_HEADER_TYPE_BRIDGE;
  }

  /** Whether this function has a 4 KiB (extended) config space. */
  get isExpress(): boolean {
    return !!this.identity.express && this.pciBus.isExpress;
  }

  get hooks(): PciClassHooks {
    return (this.type.classData.pciHooks as PciClassHooks | undefined) ?? {};
  }

  // ---- realize ------------------------------------------------------------------------------

  protected override onRealize(): void {
    const bus = this.pciBus;
    const base = this.type.classData.pci as PciIdentity | undefined;
    if (!base) throw new Error(`type '${this.typeName}' has no PCI identity`);
    this.identity = this.hooks.identity ? this.hooks.identity(this, base) : base;
    const devfn = this.allocateDevfn(bus);
    this.devfn = devfn;
    this.values.set('addr', devfn); // qom-get addr reports the devfn actually used
    // QEMU sizes config space by the function (pci_config_size: 4 KiB for a PCIe function on
    // any bus, hw/pci/pci.c pci_qdev_realize); what the guest reaches is the bus's (CF8/CFC on
    // a conventional bus carries an 8-bit register number, hw/pci/pci_host.c).
    this.config = new ConfigSpace(this.isExpress ? R.PCIE_CONFIG_SPACE_SIZE : R.PCI_CONFIG_SPACE_SIZE, this.identity.express ? R.PCIE_CONFIG_SPACE_SIZE : R.PCI_CONFIG_SPACE_SIZE);
    this.initHeader();
    this.checkMultifunction(bus);
    for (const b of this.identity.bars ?? []) this.registerBar(b);
    const rom = this.romSize();
    if (rom > 0) this.registerBar({ index: R.PCI_ROM_SLOT, size: rom, type: 'mem32' });
    // pci_add_option_rom: the class's ROM becomes the property value, its size romsize.
    if (this.type.property('romfile') && this.prop('romfile') === null && this.identity.romfile) this.values.set('romfile', this.identity.romfile);
    if (rom > 0) this.values.set('romsize', rom);
    this.hooks.capabilities?.(this);
    bus.place(this);
    this.realizeModel();
    for (const m of this.models) m.realize?.(this);
  }

  /** For subclasses: model-specific realize after config space and slot exist. */
  protected realizeModel(): void {}

  protected override onUnrealize(): void {
    for (const m of this.models) m.unrealize?.(this);
    this.unrealizeModel();
    this.hooks.unrealize?.(this);
    this.pciBus?.unplace(this);
  }

  protected unrealizeModel(): void {}

  private allocateDevfn(bus: PCIBus): number {
    const name = this.typeName;
    const want = this.prop<number>('addr');
    if (want < 0) {
      for (let devfn = bus.minDevfn; devfn < 256; devfn += R.PCI_FUNC_MAX) {
        if (!bus.deviceAt(devfn) && !bus.isReserved(devfn)) return devfn;
      }
      throw new QemuError(`PCI: no slot/function available for ${name}, all in use or reserved`);
    }
    const slot = R.PCI_SLOT(want);
    const fn = R.PCI_FUNC(want);
    if (bus.isReserved(want)) throw new QemuError(`PCI: slot ${slot} function ${fn} not available for ${name}, reserved`);
    const occupant = bus.deviceAt(want);
    if (occupant) {
      throw new QemuError(`PCI: slot ${slot} function ${fn} not available for ${name}, in use by ${occupant.typeName},id=${occupant.id ?? '(null)'}`);
    }
    // pci_get_function_0: behind a PCIe root/downstream port only device 0 exists for the
    // guest, so any hot-added function other than 00.0 joins "function 0" at devfn 0.
    const f0devfn = bus.hasUpstreamPort ? 0 : R.PCI_DEVFN(slot, 0);
    const f0 = want === f0devfn ? undefined : bus.deviceAt(f0devfn);
    if (this.hotplugged && f0) {
      throw new QemuError(`PCI: slot ${R.PCI_SLOT(f0devfn)} function 0 already occupied by ${f0.typeName}, new func ${name} cannot be exposed to guest.`);
    }
    return want;
  }

  /** pci_init_multifunction. */
  private checkMultifunction(bus: PCIBus): void {
    const slot = this.slot;
    const multi = this.prop<boolean>('multifunction');
    if (this.fn > 0) {
      const f0 = bus.deviceAt(R.PCI_DEVFN(slot, 0));
      if (f0 && !f0.prop<boolean>('multifunction')) {
        throw new QemuError(`PCI: single function device can't be populated in function ${slot.toString(16)}.${this.fn.toString(16)}`);
      }
      return;
    }
    if (multi) return;
    for (let fn = 1; fn < R.PCI_FUNC_MAX; fn++) {
      if (bus.deviceAt(R.PCI_DEVFN(slot, fn))) {
        const s = slot.toString(16);
        throw new QemuError(`PCI: ${s}.0 indicates single function, but ${s}.${fn.toString(16)} is already populated.`);
      }
    }
  }

  private initHeader(): void {
    const c = this.config;
    const id = this.identity;
    c.set16(R.PCI_VENDOR_ID, id.vendorId);
    c.set16(R.PCI_DEVICE_ID, id.deviceId);
    c.set8(R.PCI_REVISION_ID, id.revision);
    c.set8(R.PCI_CLASS_PROG, id.classCode & 0xff);
    c.set16(R.PCI_CLASS_DEVICE, id.classCode >>> 8);
    let header = id.headerType;
    if (this.prop<boolean>('multifunction')) header |= R.PCI_HEADER_TYPE_MULTI_FUNCTION;
    c.set8(R.PCI_HEADER_TYPE, header);
    c.set8(R.PCI_INTERRUPT_PIN, id.interruptPin);
    if (!this.isBridge) {
      c.set16(R.PCI_SUBSYSTEM_VENDOR_ID, id.subsystemVendorId ?? R.PCI_SUBVENDOR_ID_REDHAT_QUMRANET);
      c.set16(R.PCI_SUBSYSTEM_ID, id.subsystemId ?? R.PCI_SUBDEVICE_ID_QEMU);
    }
    // pci_init_wmask: header control bits and everything past the header writable;
    // capabilities clear their own ranges again.
    c.wmask[R.PCI_CACHE_LINE_SIZE] = 0xff;
    c.wmask[R.PCI_INTERRUPT_LINE] = 0xff;
    c.setMask16(c.wmask, R.PCI_COMMAND, R.PCI_COMMAND_IO | R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_MASTER | R.PCI_COMMAND_INTX_DISABLE);
    c.wmask.fill(0xff, R.PCI_CONFIG_HEADER_SIZE, c.size);
    // pci_init_w1cmask: error bits of the status register.
    c.setMask16(c.w1cmask, R.PCI_STATUS, R.PCI_STATUS_PARITY | R.PCI_STATUS_SIG_TARGET_ABORT | R.PCI_STATUS_REC_TARGET_ABORT | R.PCI_STATUS_REC_MASTER_ABORT | R.PCI_STATUS_SIG_SYSTEM_ERROR | R.PCI_STATUS_DETECTED_PARITY);
    if (this.isBridge) this.initBridgeMasks();
  }

  /** pci_init_mask_bridge. */
  private initBridgeMasks(): void {
    const c = this.config;
    // Bridges implement SERR# forwarding: the command bit is writable (QEMU_PCI_CAP_SERR).
    c.setMask16(c.wmask, R.PCI_COMMAND, c.get16Mask(R.PCI_COMMAND) | R.PCI_COMMAND_SERR);
    c.set32(R.PCI_BASE_ADDRESS_0 + 8, 0); // no BARs 2-5 on a type 1 header
    c.wmask[R.PCI_PRIMARY_BUS] = 0xff;
    c.wmask[R.PCI_SECONDARY_BUS] = 0xff;
    c.wmask[R.PCI_SUBORDINATE_BUS] = 0xff;
    c.wmask[R.PCI_SEC_LATENCY_TIMER] = 0xff;
    c.wmask[R.PCI_IO_BASE] = 0xf0;
    c.wmask[R.PCI_IO_LIMIT] = 0xf0;
    c.setMask16(c.wmask, R.PCI_MEMORY_BASE, 0xfff0);
    c.setMask16(c.wmask, R.PCI_MEMORY_LIMIT, 0xfff0);
    c.setMask16(c.wmask, R.PCI_PREF_MEMORY_BASE, 0xfff0);
    c.setMask16(c.wmask, R.PCI_PREF_MEMORY_LIMIT, 0xfff0);
    c.setMask32(c.wmask, R.PCI_PREF_BASE_UPPER32, 0xffffffff);
    c.setMask32(c.wmask, R.PCI_PREF_LIMIT_UPPER32, 0xffffffff);
    c.setMask16(c.wmask, R.PCI_IO_BASE_UPPER16, 0xffff);
    c.setMask16(c.wmask, R.PCI_IO_LIMIT_UPPER16, 0xffff);
    c.setMask16(
      c.wmask,
      R.PCI_BRIDGE_CONTROL,
      R.PCI_BRIDGE_CTL_PARITY | R.PCI_BRIDGE_CTL_SERR | R.PCI_BRIDGE_CTL_ISA | R.PCI_BRIDGE_CTL_VGA | R.PCI_BRIDGE_CTL_VGA_16BIT | R.PCI_BRIDGE_CTL_MASTER_ABORT | R.PCI_BRIDGE_CTL_BUS_RESET | R.PCI_BRIDGE_CTL_FAST_BACK,
    );
    c.setMask16(c.w1cmask, R.PCI_SEC_STATUS, R.PCI_STATUS_PARITY | R.PCI_STATUS_SIG_TARGET_ABORT | R.PCI_STATUS_REC_TARGET_ABORT | R.PCI_STATUS_REC_MASTER_ABORT | R.PCI_STATUS_SIG_SYSTEM_ERROR | R.PCI_STATUS_DETECTED_PARITY);
    // 64-bit prefetchable window (pci_init_mask_bridge); I/O stays 16-bit.
    c.set16(R.PCI_PREF_MEMORY_BASE, R.PCI_PREF_RANGE_TYPE_64);
    c.set16(R.PCI_PREF_MEMORY_LIMIT, R.PCI_PREF_RANGE_TYPE_64);
  }

  private romSize(): number {
    if (!this.type.property('romfile')) return 0;
    const file = this.prop<string | null>('romfile');
    const size = this.prop<number>('romsize');
    if (!this.prop<number>('rombar') || file === '') return 0;
    if (size !== undefined && size !== 0xffffffff && size > 0) return size;
    return file === null || file === this.identity.romfile ? (this.identity.romSize ?? 0) : 0;
  }

  /** pci_register_bar: size must be a power of two. */
  registerBar(b: BarDef): void {
    const c = this.config;
    const off = b.index === R.PCI_ROM_SLOT ? (this.isBridge ? R.PCI_ROM_ADDRESS1 : R.PCI_ROM_ADDRESS) : R.PCI_BASE_ADDRESS_0 + 4 * b.index;
    this.bars[b.index] = b;
    let typeBits = 0;
    if (b.type === 'io') typeBits = R.PCI_BASE_ADDRESS_SPACE_IO;
    else if (b.type === 'mem64') typeBits = R.PCI_BASE_ADDRESS_MEM_TYPE_64;
    if (b.prefetch) typeBits |= R.PCI_BASE_ADDRESS_MEM_PREFETCH;
    const lowMask = b.size >= 2 ** 32 ? 0 : (~(b.size - 1) >>> 0);
    if (b.index === R.PCI_ROM_SLOT) {
      c.set32(off, 0);
      c.setMask32(c.wmask, off, (lowMask | R.PCI_ROM_ADDRESS_ENABLE) >>> 0);
      return;
    }
    c.set32(off, typeBits);
    c.setMask32(c.wmask, off, (lowMask & ~(b.type === 'io' ? 0x3 : 0xf)) >>> 0);
    if (b.type === 'mem64') {
      c.set32(off + 4, 0);
      c.setMask32(c.wmask, off + 4, b.size >= 2 ** 32 ? (~(b.size / 2 ** 32 - 1) >>> 0) : 0xffffffff);
    }
  }

  barOffset(index: number): number {
    return index === R.PCI_ROM_SLOT ? (this.isBridge ? R.PCI_ROM_ADDRESS1 : R.PCI_ROM_ADDRESS) : R.PCI_BASE_ADDRESS_0 + 4 * index;
  }

  /** pci_bar_address: the address a BAR decodes now, or PCI_BAR_UNMAPPED (-1). */
  barAddress(index: number): number {
    const b = this.bars[index];
    if (!b || !this.powered) return PCI_BAR_UNMAPPED;
    const c = this.config;
    const cmd = c.get16(R.PCI_COMMAND);
    const off = this.barOffset(index);
    if (b.type === 'io') {
      if (!(cmd & R.PCI_COMMAND_IO)) return PCI_BAR_UNMAPPED;
      const addr = (c.get32(off) & ~(b.size - 1)) >>> 0;
      const last = addr + b.size - 1;
      if (last <= addr || last >= UINT32_MAX || addr === 0) return PCI_BAR_UNMAPPED;
      return addr;
    }
    if (!(cmd & R.PCI_COMMAND_MEMORY)) return PCI_BAR_UNMAPPED;
    let raw = b.type === 'mem64' ? Number(c.get64(off)) : c.get32(off);
    if (index === R.PCI_ROM_SLOT && !(raw & R.PCI_ROM_ADDRESS_ENABLE)) return PCI_BAR_UNMAPPED;
    raw = raw - (raw % b.size);
    const last = raw + b.size - 1;
    if (last <= raw || raw === 0) return PCI_BAR_UNMAPPED;
    if (b.type !== 'mem64' && last >= UINT32_MAX) return PCI_BAR_UNMAPPED;
    return raw;
  }

  // ---- capabilities --------------------------------------------------------------------

  /** pci_add_capability: links the cap into the list, makes its bytes read-only. */
  addCapability(capId: number, offset: number, size: number): number {
    const c = this.config;
    // New capabilities go to the head of the list (hw/pci/pci.c pci_add_capability).
    c.set8(offset + R.PCI_CAP_LIST_ID, capId);
    c.set8(offset + R.PCI_CAP_LIST_NEXT, c.get8(R.PCI_CAPABILITY_LIST));
    c.set8(R.PCI_CAPABILITY_LIST, offset);
    c.set16(R.PCI_STATUS, c.get16(R.PCI_STATUS) | R.PCI_STATUS_CAP_LIST);
    c.clearMasks(offset, size);
    if (!this.caps.has(capId)) this.caps.set(capId, offset);
    return offset;
  }

  /** pcie_add_capability: header = id | version << 16 | next << 20. */
  addExtCapability(capId: number, version: number, offset: number, size: number): number {
    const c = this.config;
    if (this.lastExtCap !== 0) {
      const h = c.get32(this.lastExtCap);
      c.set32(this.lastExtCap, ((h & 0xfffff) | (offset << 20)) >>> 0);
    }
    c.set32(offset, (capId | (version << 16)) >>> 0);
    c.clearMasks(offset, size);
    this.lastExtCap = offset;
    if (!this.extCaps.has(capId)) this.extCaps.set(capId, offset);
    return offset;
  }

  // ---- guest-visible access ---------------------------------------------------------------

  /** Config read as the guest sees it (hw/pci/pci_host.c): all-ones when unpowered. */
  configRead(off: number, len: number): number {
    if (!this.powered || off + len > this.config.size) return len === 4 ? 0xffffffff : (1 << (8 * len)) - 1;
    return this.readConfigHook(off, len);
  }

  configWrite(off: number, value: number, len: number): void {
    if (!this.powered || off + len > this.config.size) return;
    this.writeConfigHook(off, value, len);
  }

  /** Override points for models with live registers (slot status, SHPC window...). */
  protected readConfigHook(off: number, len: number): number {
    for (const m of this.models) {
      const v = m.configRead?.(this, off, len);
      if (typeof v === 'number') return v;
    }
    return this.config.read(off, len);
  }

  protected writeConfigHook(off: number, value: number, len: number): void {
    const before = this.config.get16(R.PCI_COMMAND);
    // One reusable buffer per function: a config write must not allocate (guests write often).
    let snapshot = this.config.data;
    if (this.models.length) {
      snapshot = this.writeSnapshot ??= new Uint8Array(this.config.data.length);
      snapshot.set(this.config.data);
    }
    let handled = false;
    for (const m of this.models) if (!handled && m.configWrite?.(this, off, value, len)) handled = true;
    if (!handled) this.config.write(off, value, len);
    for (const m of this.models) m.afterConfigWrite?.(this, off, value, len, snapshot);
    const after = this.config.get16(R.PCI_COMMAND);
    if (before !== after) this.commandChanged(before, after);
    if (this.isBridge && rangesOverlap(off, len, R.PCI_BRIDGE_CONTROL, 2)) {
      const ctl = this.config.get16(R.PCI_BRIDGE_CONTROL);
      if (ctl & R.PCI_BRIDGE_CTL_BUS_RESET) this.secondaryBusReset();
    }
  }

  protected commandChanged(_before: number, _after: number): void {}

  /** Secondary bus reset: every device below is reset. */
  secondaryBusReset(): void {
    for (const b of this.childBuses) for (const d of b.children()) d.resetTree();
  }

  /** Interrupt line as programmed by firmware (config byte 0x3c). */
  get interruptLine(): number {
    return this.config.get8(R.PCI_INTERRUPT_LINE);
  }

  /** INTx level change from the model (pci_set_irq). */
  setIrq(level: number): void {
    if (this.intxLevel === level) return;
    this.intxLevel = level;
    const c = this.config;
    const st = c.get16(R.PCI_STATUS);
    c.set16(R.PCI_STATUS, level ? st | R.PCI_STATUS_INTERRUPT : st & ~R.PCI_STATUS_INTERRUPT);
    if (c.get16(R.PCI_COMMAND) & R.PCI_COMMAND_INTX_DISABLE) return;
    this.pciBus.intx(this, level);
  }

  // ---- message signalled interrupts ----------------------------------------------------------

  /** The host bridge's interrupt sink, found through the root bus. */
  get interruptSink(): PciInterruptSink | undefined {
    let bus: PCIBus = this.pciBus;
    while (!bus.isRoot) bus = bus.bridge!.pciBus;
    return bus.msiSink;
  }

  msiEnabled(): boolean {
    const off = this.caps.get(R.PCI_CAP_ID_MSI);
    return off !== undefined && (this.config.get16(off + R.PCI_MSI_FLAGS) & R.PCI_MSI_FLAGS_ENABLE) !== 0;
  }

  msixEnabled(): boolean {
    const off = this.caps.get(R.PCI_CAP_ID_MSIX);
    return off !== undefined && (this.config.get16(off + R.PCI_MSIX_FLAGS) & R.PCI_MSIX_FLAGS_ENABLE) !== 0;
  }

  /** msi_notify: address/data from the capability, vector added to the data (hw/pci/msi.c). */
  msiNotify(vector: number): void {
    const off = this.caps.get(R.PCI_CAP_ID_MSI);
    if (off === undefined || !this.msiEnabled()) return;
    const c = this.config;
    const flags = c.get16(off + R.PCI_MSI_FLAGS);
    const is64 = (flags & R.PCI_MSI_FLAGS_64BIT) !== 0;
    const mask = flags & R.PCI_MSI_FLAGS_MASKBIT ? c.get32(off + (is64 ? R.PCI_MSI_MASK_64 : R.PCI_MSI_MASK_32)) : 0;
    if (mask & (1 << vector)) return;
    const address = BigInt(c.get32(off + R.PCI_MSI_ADDRESS_LO)) | (is64 ? BigInt(c.get32(off + R.PCI_MSI_ADDRESS_HI)) << 32n : 0n);
    const data = (c.get16(off + (is64 ? R.PCI_MSI_DATA_64 : R.PCI_MSI_DATA_32)) | vector) >>> 0;
    this.interruptSink?.msi(this, address, data);
  }

  /** MSI-X table (16 bytes per vector) and where it sits in BAR space. */
  msixTable: Uint8Array | undefined;
  msixLayout: { vectors: number; tableBar: number; tableOffset: number; pbaBar: number; pbaOffset: number } | undefined;

  /** BAR memory reads as the guest sees them: the MSI-X table and PBA, else 0. */
  barRead(bar: number, offset: number, size: number): number {
    const l = this.msixLayout;
    if (l && this.msixTable && bar === l.tableBar && offset >= l.tableOffset && offset < l.tableOffset + this.msixTable.length) {
      const o = offset - l.tableOffset;
      let v = 0;
      for (let i = 0; i < Math.min(size, 4); i++) v |= (this.msixTable[o + i] ?? 0) << (8 * i);
      return v >>> 0;
    }
    return 0;
  }

  barWrite(bar: number, offset: number, value: number, size: number): void {
    const l = this.msixLayout;
    if (l && this.msixTable && bar === l.tableBar && offset >= l.tableOffset && offset < l.tableOffset + this.msixTable.length) {
      const o = offset - l.tableOffset;
      for (let i = 0; i < Math.min(size, 4); i++) this.msixTable[o + i] = (value >>> (8 * i)) & 0xff;
    }
  }

  /** msix_notify: the table entry's address/data unless masked (hw/pci/msix.c). */
  msixNotify(vector: number): void {
    const off = this.caps.get(R.PCI_CAP_ID_MSIX);
    if (off === undefined || !this.msixEnabled() || !this.msixTable) return;
    if (this.config.get16(off + R.PCI_MSIX_FLAGS) & R.PCI_MSIX_FLAGS_MASKALL) return;
    const t = new DataView(this.msixTable.buffer, this.msixTable.byteOffset + vector * R.PCI_MSIX_ENTRY_SIZE, R.PCI_MSIX_ENTRY_SIZE);
    if (t.getUint32(12, true) & 1) return; // vector control: masked
    const address = BigInt(t.getUint32(0, true)) | (BigInt(t.getUint32(4, true)) << 32n);
    this.interruptSink?.msi(this, address, t.getUint32(8, true));
  }

  // ---- reset -------------------------------------------------------------------------------------

  /** pci_do_device_reset: command, status errors, BARs, ROM, interrupt line, bridge numbers. */
  override reset(): void {
    if (!this.config) return;
    const c = this.config;
    if (this.intxLevel) this.setIrq(0);
    c.set16(R.PCI_COMMAND, c.get16(R.PCI_COMMAND) & ~c.get16Mask(R.PCI_COMMAND));
    c.set16(R.PCI_STATUS, c.get16(R.PCI_STATUS) & ~(c.w1cmask[R.PCI_STATUS]! | (c.w1cmask[R.PCI_STATUS + 1]! << 8)));
    c.set8(R.PCI_CACHE_LINE_SIZE, 0);
    c.set8(R.PCI_INTERRUPT_LINE, 0);
    for (const b of this.bars) {
      if (!b) continue;
      const off = this.barOffset(b.index);
      const keep = b.index === R.PCI_ROM_SLOT ? 0 : b.type === 'io' ? R.PCI_BASE_ADDRESS_SPACE_IO : c.get32(off) & 0xf;
      c.set32(off, keep);
      if (b.type === 'mem64') c.set32(off + 4, 0);
    }
    if (this.isBridge) this.resetBridge();
    this.resetModel();
    for (const m of this.models) m.reset?.(this);
  }

  /** pci_bridge_reset, then the port's own disable_base_limit where it has one. */
  protected resetBridge(): void {
    const c = this.config;
    c.set8(R.PCI_PRIMARY_BUS, 0);
    c.set8(R.PCI_SECONDARY_BUS, 0);
    c.set8(R.PCI_SUBORDINATE_BUS, 0);
    c.set8(R.PCI_SEC_LATENCY_TIMER, 0);
    c.set8(R.PCI_IO_BASE, c.get8(R.PCI_IO_BASE) & R.PCI_IO_RANGE_TYPE_MASK);
    c.set8(R.PCI_IO_LIMIT, c.get8(R.PCI_IO_LIMIT) & R.PCI_IO_RANGE_TYPE_MASK);
    c.set16(R.PCI_MEMORY_BASE, 0);
    c.set16(R.PCI_MEMORY_LIMIT, 0);
    c.set16(R.PCI_PREF_MEMORY_BASE, c.get16(R.PCI_PREF_MEMORY_BASE) & R.PCI_PREF_RANGE_TYPE_MASK);
    c.set16(R.PCI_PREF_MEMORY_LIMIT, c.get16(R.PCI_PREF_MEMORY_LIMIT) & R.PCI_PREF_RANGE_TYPE_MASK);
    c.set32(R.PCI_PREF_BASE_UPPER32, 0);
    c.set32(R.PCI_PREF_LIMIT_UPPER32, 0);
    c.set16(R.PCI_IO_BASE_UPPER16, 0);
    c.set16(R.PCI_IO_LIMIT_UPPER16, 0);
    c.set16(R.PCI_BRIDGE_CONTROL, 0);
    if (this.type.classData.disableBaseLimitOnReset) disableBaseLimit(c);
  }

  /** For subclasses: extra reset (capability registers...). */
  protected resetModel(): void {}
}

/** pci_bridge_disable_base_limit: base above limit closes each window (PCIe ports). */
export function disableBaseLimit(c: ConfigSpace): void {
  c.set8(R.PCI_IO_BASE, c.get8(R.PCI_IO_BASE) | 0xf0);
  c.set8(R.PCI_IO_LIMIT, c.get8(R.PCI_IO_LIMIT) & 0x0f);
  c.set16(R.PCI_MEMORY_BASE, c.get16(R.PCI_MEMORY_BASE) | 0xfff0);
  c.set16(R.PCI_MEMORY_LIMIT, c.get16(R.PCI_MEMORY_LIMIT) & 0x000f);
  c.set16(R.PCI_PREF_MEMORY_BASE, c.get16(R.PCI_PREF_MEMORY_BASE) | 0xfff0);
  c.set16(R.PCI_PREF_MEMORY_LIMIT, c.get16(R.PCI_PREF_MEMORY_LIMIT) & 0x000f);
  c.set32(R.PCI_PREF_BASE_UPPER32, 0);
  c.set32(R.PCI_PREF_LIMIT_UPPER32, 0);
}

function rangesOverlap(a: number, alen: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + alen;
}

/** Properties every PCI device has (hw/pci/pci.c pci_props). */
export const pciDeviceProperties = [
  { name: 'addr', kind: pciDevfnProp, default: -1, description: 'Slot and optional function number, example: 06.0 or 06' },
  { name: 'romfile', kind: strProp, default: null },
  { name: 'romsize', kind: uint32Prop, default: 0xffffffff },
  { name: 'rombar', kind: uint32Prop, default: 1 },
  { name: 'multifunction', kind: boolProp, default: false, description: 'on/off' },
  { name: 'x-pcie-lnksta-dllla', kind: boolProp, default: true, description: 'on/off' },
  { name: 'x-pcie-extcap-init', kind: boolProp, default: true, description: 'on/off' },
  { name: 'failover_pair_id', kind: strProp, default: null },
  { name: 'acpi-index', kind: uint32Prop, default: 0 },
] as const;

export { int32Prop };
