/**
 * The Standard Hot-Plug Controller of a `pci-bridge` / `pcie-pci-bridge` as QEMU 7.2 runs it
 * (hw/pci/shpc.c, hw/pci-bridge/pci_bridge_dev.c, pcie_pci_bridge.c; spec/shpc.md): the
 * DWORD SELECT/DATA window in config space, the working registers behind BAR0, commands,
 * the interrupt, and the bridge's role as hotplug handler of its secondary bus. The
 * catalog builds the capability header and the BAR; this model fills them.
 *
 * "Recorded" notes come from fixtures/qemu-7.2-linux/shpchp-*.json (Debian's 7.2.22 with a
 * Linux 6.1 guest, or driven from the monitor in shpchp-probe).
 */
import { QemuError, completeUnplug, type Device, type HotplugHandler } from '@plugboard/qdev';
import { regs as R, type PCIBridge, type PCIBus, type PCIDevice, type PciFunctionModel } from '@plugboard/pci-core';
import { runCommand, setSecondaryBusSpeed, slotSnapshot, type CommandHost, type SlotSnapshot } from './commands.js';
import { EVENT_X_DEVICE_ON, deviceAndPath, shpcHotplugInfo, slotIsOn } from './query.js';
import { ShpcRegisters } from './registers.js';
import {
  SHPC_BAR_SIZE, SHPC_CAP_DWORD_DATA, SHPC_CAP_DWORD_DATA_LEN, SHPC_CAP_DWORD_SELECT, SHPC_CAP_LENGTH, SHPC_CMD_CODE, SHPC_CMD_LEN,
  SHPC_CMD_DETECTED, SHPC_CMD_INT_DIS, SHPC_FIRST_PHYSICAL, SHPC_FIRST_DEV, SHPC_IDX_TO_LOGICAL, SHPC_IDX_TO_PCI, SHPC_INT_COMMAND,
  SHPC_INT_DIS, SHPC_INT_LOCATOR, SHPC_LED_OFF, SHPC_LED_ON, SHPC_NSLOTS, SHPC_PCI_TO_IDX, SHPC_PHYS_BUTTON, SHPC_PHYS_MRL,
  SHPC_PHYS_NUM_UP, SHPC_PHYS_SLOT, SHPC_PROG_IFC, SHPC_PROG_IFC_1_0, SHPC_SEC_BUS_33, SHPC_SERR_INT, SHPC_SERR_INT_MASKS, SHPC_SLOTS_33, SHPC_SLOTS_66,
  SHPC_SLOT_ATTN_LED_MASK, SHPC_SLOT_EVENT_BUTTON, SHPC_SLOT_EVENT_MASKS, SHPC_SLOT_EVENT_MRL, SHPC_SLOT_EVENT_PRESENCE,
  SHPC_SLOT_EVENT_SERR_INT_DIS, SHPC_SLOT_PWR_LED_MASK, SHPC_SLOT_STATE_MASK, SHPC_SLOT_STATUS_66, SHPC_SLOT_STATUS_MRL_OPEN,
  SHPC_SLOT_STATUS_PRSNT_7_5W, SHPC_SLOT_STATUS_PRSNT_EMPTY, SHPC_SLOT_STATUS_PRSNT_MASK, SHPC_STATE_DISABLED, SHPC_STATE_ENABLED,
  SHPC_STATE_PWRONLY,
} from './regs.js';

/** The BAR holding the working registers, at base offset 0 (both bridge types). */
export const SHPC_BAR = 0;
const BYTE = 0xff;
const MIN_ACCESS = 1;
const MAX_ACCESS = 4;

const overlaps = (off: number, len: number, reg: number, regLen: number): boolean => off < reg + regLen && reg < off + len;

/** Devices that already produced X_DEVICE_ON (at most once per device). */
const deviceOnSent = new WeakSet<Device>();

export class ShpcController implements PciFunctionModel, HotplugHandler, CommandHost {
  readonly bridge: PCIBridge;
  readonly regs = new ShpcRegisters();
  /** Offset of the SHPC capability in config space; 0 while SHPC is absent (`shpc=off`). */
  cap = 0;
  /** QEMU's msi_requested: the interrupt level last signalled by MSI. */
  private msiRequested = 0;
  /**
   * Slots whose guest asked for "enabled" while power-only: QEMU 7.2 keeps the register at
   * power-only (recorded), where the QEMU the X_DEVICE_ON series is based on (8.0's
   * "more generic handle hot-unplug in shpc_slot_command") moves it to enabled. The
   * series' conditions (X_DEVICE_ON, slot-state) are evaluated on that effective state.
   */
  private readonly enableRequested: boolean[];
  private savedBar: { read: PCIDevice['barRead']; write: PCIDevice['barWrite'] } | undefined;

  constructor(bridge: PCIBridge) {
    this.bridge = bridge;
    this.enableRequested = new Array<boolean>(this.regs.nslots).fill(false);
  }

  get secondaryBus(): PCIBus {
    return this.bridge.secondaryBus;
  }

  get present(): boolean {
    return this.cap !== 0;
  }

  // ---- PciFunctionModel --------------------------------------------------------------------

  /**
   * shpc_init: registers reset, window writable, BAR0 served, handler of the secondary bus.
   * Runs inside the bridge's realize, before the plug hook of the bridge's own bus: that is
   * where an ACPI controller takes cold-plugged bridges' buses over, in QEMU's order.
   * Without the capability (`shpc=off`) the bus keeps no handler (recorded: `Bus 'br0' does
   * not support hotplugging`).
   */
  realize(dev: PCIDevice): void {
    const cap = dev.caps.get(R.PCI_CAP_ID_SHPC);
    if (cap === undefined) return;
    this.cap = cap;
    const c = dev.config;
    c.set8(cap + SHPC_CAP_DWORD_SELECT, 0);
    c.set32(cap + SHPC_CAP_DWORD_DATA, 0);
    c.wmask[cap + SHPC_CAP_DWORD_SELECT] = BYTE;
    c.wmask.fill(BYTE, cap + SHPC_CAP_DWORD_DATA, cap + SHPC_CAP_DWORD_DATA + SHPC_CAP_DWORD_DATA_LEN);
    this.resetRegisters();
    this.updateDword();
    this.serveBar(dev);
    this.secondaryBus.setHotplugHandler(this, dev);
  }

  unrealize(dev: PCIDevice): void {
    if (!this.savedBar) return;
    dev.barRead = this.savedBar.read;
    dev.barWrite = this.savedBar.write;
    this.savedBar = undefined;
  }

  /** Bridge reset (system_reset, hot-add): registers re-derived from the devices present. */
  reset(): void {
    if (this.present) this.resetRegisters();
  }

  /**
   * shpc_cap_write_config, after the bridge's own write. A write touching DWORD DATA does
   * not store the written value: QEMU writes the working-register dword found at the
   * capability's config offset + 4 (0x44 = slot 9's register) to dword SELECT (recorded:
   * SELECT 5 turned slot 9's 0x7f000d0f into command 0x0d0f and ran it). Any write to the
   * capability refreshes DWORD DATA; nothing else does (recorded: stale after a hot-add).
   */
  afterConfigWrite(_dev: PCIDevice, off: number, _value: number, len: number): void {
    if (!this.present || !overlaps(off, len, this.cap, SHPC_CAP_LENGTH)) return;
    if (overlaps(off, len, this.cap + SHPC_CAP_DWORD_DATA, SHPC_CAP_DWORD_DATA_LEN)) {
      this.write(this.select() * SHPC_CAP_DWORD_DATA_LEN, this.regs.read(this.cap + SHPC_CAP_DWORD_DATA, SHPC_CAP_DWORD_DATA_LEN), SHPC_CAP_DWORD_DATA_LEN);
    }
    this.updateDword();
  }

  private select(): number {
    return this.bridge.config.get8(this.cap + SHPC_CAP_DWORD_SELECT);
  }

  /** shpc_cap_update_dword. */
  private updateDword(): void {
    this.bridge.config.set32(this.cap + SHPC_CAP_DWORD_DATA, this.regs.read(this.select() * SHPC_CAP_DWORD_DATA_LEN, SHPC_CAP_DWORD_DATA_LEN));
  }

  /**
   * BAR0 (256 bytes) is the working register set; the rest of the BAR reads 0. QEMU's
   * shpc_mmio_ops accept 1 to 4 bytes but not unaligned accesses (no `valid.unaligned`):
   * memory_region_access_valid refuses them, so they read 0 and write nothing.
   */
  private serveBar(dev: PCIDevice): void {
    const read = dev.barRead;
    const write = dev.barWrite;
    this.savedBar = { read, write };
    const valid = (offset: number, size: number) => size >= MIN_ACCESS && size <= MAX_ACCESS && offset % size === 0;
    dev.barRead = (bar, offset, size) => {
      if (bar !== SHPC_BAR || offset >= SHPC_BAR_SIZE) return read.call(dev, bar, offset, size);
      return valid(offset, size) ? this.read(offset, size) : 0;
    };
    dev.barWrite = (bar, offset, value, size) => {
      if (bar !== SHPC_BAR || offset >= SHPC_BAR_SIZE) write.call(dev, bar, offset, value, size);
      else if (valid(offset, size)) this.write(offset, value, size);
    };
  }

  // ---- the working registers as the guest sees them -----------------------------------------

  /** shpc_read: 1–4 bytes at any offset. */
  read(offset: number, size: number): number {
    return this.regs.read(offset, size);
  }

  /** shpc_write: masked write, a command if the code or target byte was written, interrupt update. */
  write(offset: number, value: number, size: number): void {
    const l = this.regs.write(offset, value, size);
    if (l === 0) return;
    if (overlaps(offset, l, SHPC_CMD_CODE, SHPC_CMD_LEN)) runCommand(this);
    this.interruptUpdate();
  }

  /** shpc_reset (7.2: the attention indicator is left at 0, "no information"; recorded 0x7f000006). */
  resetRegisters(): void {
    const r = this.regs;
    r.data.fill(0);
    r.set8(SHPC_NSLOTS, r.nslots);
    r.set32(SHPC_SLOTS_33, r.nslots);
    r.set32(SHPC_SLOTS_66, 0);
    r.set8(SHPC_FIRST_DEV, SHPC_IDX_TO_PCI(0));
    r.set16(SHPC_PHYS_SLOT, SHPC_FIRST_PHYSICAL | SHPC_PHYS_NUM_UP | SHPC_PHYS_MRL | SHPC_PHYS_BUTTON);
    r.set32(SHPC_SERR_INT, SHPC_SERR_INT_MASKS);
    r.set8(SHPC_PROG_IFC, SHPC_PROG_IFC_1_0);
    for (let i = 0; i < r.nslots; i++) {
      r.set8(SHPC_SLOT_EVENT_SERR_INT_DIS(i), SHPC_SLOT_EVENT_MASKS);
      const occupied = this.secondaryBus.deviceAt(R.PCI_DEVFN(SHPC_IDX_TO_PCI(i), 0)) !== undefined;
      r.setStatus(i, occupied ? SHPC_STATE_ENABLED : SHPC_STATE_DISABLED, SHPC_SLOT_STATE_MASK);
      r.setStatus(i, occupied ? 0 : 1, SHPC_SLOT_STATUS_MRL_OPEN);
      r.setStatus(i, occupied ? SHPC_SLOT_STATUS_PRSNT_7_5W : SHPC_SLOT_STATUS_PRSNT_EMPTY, SHPC_SLOT_STATUS_PRSNT_MASK);
      r.setStatus(i, occupied ? SHPC_LED_ON : SHPC_LED_OFF, SHPC_SLOT_PWR_LED_MASK);
      r.setStatus(i, 0, SHPC_SLOT_STATUS_66);
      this.enableRequested[i] = false;
    }
    setSecondaryBusSpeed(r, SHPC_SEC_BUS_33);
    this.msiRequested = 0;
    this.interruptUpdate();
  }

  // ---- interrupts ----------------------------------------------------------------------------

  /**
   * shpc_interrupt_update: recompute the locator; level = global INT unmasked and locator
   * non-zero. With MSI enabled a message goes out whenever the level changes, falling edges
   * included (so a guest masking the global interrupt gets one more message); otherwise
   * INTx follows the level.
   */
  interruptUpdate(): void {
    const r = this.regs;
    let locator = 0;
    for (let i = 0; i < r.nslots; i++) if (r.latch(i) & ~r.intMask(i)) locator |= 1 << SHPC_IDX_TO_LOGICAL(i);
    const serrInt = r.get32(SHPC_SERR_INT);
    if (serrInt & SHPC_CMD_DETECTED && !(serrInt & SHPC_CMD_INT_DIS)) locator |= SHPC_INT_COMMAND;
    r.set32(SHPC_INT_LOCATOR, locator >>> 0);
    const level = !(serrInt & SHPC_INT_DIS) && locator !== 0 ? 1 : 0;
    if (this.bridge.msiEnabled() && this.msiRequested !== level) this.bridge.msiNotify(0);
    else this.bridge.setIrq(level);
    this.msiRequested = level;
  }

  // ---- CommandHost ---------------------------------------------------------------------------

  /** shpc_free_devices_in_slot: every function of the slot, in devfn order. */
  freeDevicesInSlot(i: number): void {
    const first = R.PCI_DEVFN(SHPC_IDX_TO_PCI(i), 0);
    for (let devfn = first; devfn < first + R.PCI_FUNC_MAX; devfn++) {
      const dev = this.secondaryBus.deviceAt(devfn);
      if (dev) completeUnplug(dev);
    }
  }

  /** Effective state for the series' conditions (see enableRequested). */
  private effective(i: number, s: SlotSnapshot): SlotSnapshot {
    return s.state === SHPC_STATE_PWRONLY && this.enableRequested[i] ? { ...s, state: SHPC_STATE_ENABLED } : s;
  }

  slotOperation(i: number, requested: { state: number }, before: SlotSnapshot): void {
    const was = this.effective(i, before);
    const now = slotSnapshot(this.regs, i);
    if (now.state !== before.state) this.enableRequested[i] = false;
    else if (now.state === SHPC_STATE_PWRONLY && requested.state === SHPC_STATE_ENABLED) this.enableRequested[i] = true;
    if (slotIsOn(was) || !slotIsOn(this.effective(i, now))) return;
    const fn0 = this.secondaryBus.deviceAt(R.PCI_DEVFN(SHPC_IDX_TO_PCI(i), 0));
    if (!fn0 || deviceOnSent.has(fn0)) return;
    deviceOnSent.add(fn0);
    this.bridge.machine.events.emit(EVENT_X_DEVICE_ON, deviceAndPath(fn0) as unknown as Record<string, unknown>);
  }

  // ---- HotplugHandler ------------------------------------------------------------------------

  /** shpc_device_plug_common: slot index of `dev`, refusing device 0 (and anything past the slots). */
  private slotOf(dev: Device): number {
    const pciSlot = R.PCI_SLOT((dev as PCIDevice).devfn);
    const i = SHPC_PCI_TO_IDX(pciSlot);
    if (pciSlot < SHPC_IDX_TO_PCI(0) || i >= this.regs.nslots) {
      throw new QemuError(`Unsupported PCI slot ${pciSlot} for standard hotplug controller. Valid slots are between ${SHPC_IDX_TO_PCI(0)} and ${SHPC_IDX_TO_PCI(this.regs.nslots) - 1}.`);
    }
    return i;
  }

  /**
   * shpc_device_plug_cb (after the device's realize, as in QEMU). Cold plug: card present
   * with the MRL closed, no event (the first reset enables the slot). Hot plug into an empty
   * slot: MRL closed, present, button + MRL + presence events (recorded 0x7f0d000f: the
   * slot stays disabled with its power LED off); into a populated one (another function, or
   * a removal being cancelled): a button press only.
   */
  plug(dev: Device): void {
    const i = this.slotOf(dev);
    const r = this.regs;
    if (!dev.hotplugged) {
      r.setStatus(i, 0, SHPC_SLOT_STATUS_MRL_OPEN);
      r.setStatus(i, SHPC_SLOT_STATUS_PRSNT_7_5W, SHPC_SLOT_STATUS_PRSNT_MASK);
      return;
    }
    if (r.status(i, SHPC_SLOT_STATUS_MRL_OPEN)) {
      r.setStatus(i, 0, SHPC_SLOT_STATUS_MRL_OPEN);
      r.setStatus(i, SHPC_SLOT_STATUS_PRSNT_7_5W, SHPC_SLOT_STATUS_PRSNT_MASK);
      r.addEvents(i, SHPC_SLOT_EVENT_BUTTON | SHPC_SLOT_EVENT_MRL | SHPC_SLOT_EVENT_PRESENCE);
    } else {
      r.addEvents(i, SHPC_SLOT_EVENT_BUTTON);
    }
    r.setStatus(i, 0, SHPC_SLOT_STATUS_66);
    this.interruptUpdate();
  }

  /**
   * shpc_device_unplug_request_cb. A slot the guest left disabled with its power LED off is
   * emptied at once (every function, DEVICE_DELETED); otherwise the attention button is
   * pressed and the guest has to act. No pending flag: a repeated device_del presses again.
   */
  unplugRequest(dev: Device): void {
    const i = this.slotOf(dev);
    const r = this.regs;
    if (r.status(i, SHPC_SLOT_STATE_MASK) === SHPC_STATE_DISABLED && r.status(i, SHPC_SLOT_PWR_LED_MASK) === SHPC_LED_OFF) {
      this.freeDevicesInSlot(i);
      r.setStatus(i, 1, SHPC_SLOT_STATUS_MRL_OPEN);
      r.setStatus(i, SHPC_SLOT_STATUS_PRSNT_EMPTY, SHPC_SLOT_STATUS_PRSNT_MASK);
      r.addEvents(i, SHPC_SLOT_EVENT_MRL | SHPC_SLOT_EVENT_PRESENCE);
    } else {
      r.addEvents(i, SHPC_SLOT_EVENT_BUTTON);
    }
    r.setStatus(i, 0, SHPC_SLOT_STATUS_66);
    this.interruptUpdate();
  }

  /** shpc_device_unplug_cb: unrealize only; qdev's completeUnplug does that. */
  unplug(_dev: Device): void {}

  /** The slot's attention button (the `__org.plugboard_press-attention-button` command). */
  pressAttentionButton(dev: Device): void {
    const i = this.slotOf(dev);
    this.regs.addEvents(i, SHPC_SLOT_EVENT_BUTTON);
    this.interruptUpdate();
  }

  /** Whether X_DEVICE_ON was sent for `dev`. */
  deviceOn(dev: Device): boolean {
    return deviceOnSent.has(dev);
  }

  /** x-query-hotplug for a device in one of the slots (HotplugInfo, type `shpc`). */
  queryHotplug(dev: Device): Record<string, unknown> {
    const i = this.slotOf(dev);
    const s = this.effective(i, slotSnapshot(this.regs, i));
    return shpcHotplugInfo({
      bridge: this.bridge, child: dev, pciSlot: SHPC_IDX_TO_PCI(i), deviceOn: this.deviceOn(dev),
      state: s.state, power: this.regs.status(i, SHPC_SLOT_PWR_LED_MASK), attention: this.regs.status(i, SHPC_SLOT_ATTN_LED_MASK),
    });
  }
}
