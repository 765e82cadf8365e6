/**
 * The hot-plug slot of a PCIe root or downstream port (hw/pci/pcie.c pcie_cap_slot_*,
 * hw/pci/pcie_port.c): Slot Capabilities/Control/Status with QEMU 7.2's write semantics,
 * slot power, the hot-plug interrupt, and the port's role as hotplug handler of its
 * secondary bus in native mode. spec/pcie-slot.md is authoritative; "observed" notes were
 * read from Debian's 7.2.22 through ECAM config accesses under qtest.
 *
 * All slot state lives in config space (as in QEMU), except whether the interrupt condition
 * is currently signalled (QEMU's exp.hpev_notified).
 */
import { QemuError, completeUnplug, type Device, type HotplugHandler } from '@plugboard/qdev';
import { PCIDevice, caps, regs, type PCIBridge, type PCIBus, type PciFunctionModel } from '@plugboard/pci-core';
import { deliverHotplugInterrupt, pcieType, rootPortIntxAfterWrite } from './irq.js';
import { initSlotLink, linkStatusFollowsChild, syncLinkStatus } from './link.js';
import { hotplugInfo } from './query.js';
import {
  PCIE_SLOT_EVENTS, PCIE_UNPLUG_PENDING_MS, PCI_EXP_FLAGS_SLOT, PCI_EXP_HP_EV_ABP, PCI_EXP_HP_EV_CCI, PCI_EXP_HP_EV_PDC,
  PCI_EXP_HP_EV_SUPPORTED, PCI_EXP_LNKCAP_DLLLARC, PCI_EXP_LNKSTA_DLLLA, PCI_EXP_SLTCAP_ABP, PCI_EXP_SLTCAP_AIP, PCI_EXP_SLTCAP_EIP,
  PCI_EXP_SLTCAP_HPC, PCI_EXP_SLTCAP_HPS, PCI_EXP_SLTCAP_PCP, PCI_EXP_SLTCAP_PIP, PCI_EXP_SLTCAP_PSN_SHIFT, PCI_EXP_SLTCTL_ABPE,
  PCI_EXP_SLTCTL_AIC, PCI_EXP_SLTCTL_ATTN_IND_OFF, PCI_EXP_SLTCTL_CCIE, PCI_EXP_SLTCTL_EIC, PCI_EXP_SLTCTL_HPIE, PCI_EXP_SLTCTL_PCC,
  PCI_EXP_SLTCTL_PDCE, PCI_EXP_SLTCTL_PIC, PCI_EXP_SLTCTL_PWR_IND_BLINK, PCI_EXP_SLTCTL_PWR_IND_OFF, PCI_EXP_SLTCTL_PWR_IND_ON,
  PCI_EXP_SLTCTL_PWR_OFF, PCI_EXP_SLTCTL_PWR_ON, PCI_EXP_SLTSTA_ABP, PCI_EXP_SLTSTA_CC, PCI_EXP_SLTSTA_EIS, PCI_EXP_SLTSTA_PDC,
  PCI_EXP_SLTSTA_PDS,
} from './regs.js';

const REG16 = 2;
const DEVFN_0 = 0;
const PROP_SLOT = 'slot';
const PROP_HOTPLUG = 'hotplug';
const PROP_NATIVE_HOTPLUG = 'x-native-hotplug';
const PROP_PCP = 'power_controller_present';
const PROP_LNKSTA_DLLLA = 'x-pcie-lnksta-dllla';
const EVENT_DEVICE_ON = 'X_DEVICE_ON';
/** Slot Control bits the guest may write (pcie_cap_slot_init); PCC only with a power controller. */
const SLTCTL_WRITABLE = PCI_EXP_SLTCTL_PIC | PCI_EXP_SLTCTL_AIC | PCI_EXP_SLTCTL_HPIE | PCI_EXP_SLTCTL_CCIE | PCI_EXP_SLTCTL_PDCE | PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_EIC;
/** Cleared by pcie_cap_slot_reset before AIC is set to off (PIC too: observed 0x00c0 without a power controller). */
const SLTCTL_RESET_CLEARED = PCI_EXP_SLTCTL_EIC | PCI_EXP_SLTCTL_PIC | PCI_EXP_SLTCTL_AIC | PCI_EXP_SLTCTL_HPIE | PCI_EXP_SLTCTL_CCIE | PCI_EXP_SLTCTL_PDCE | PCI_EXP_SLTCTL_ABPE;
const SLTSTA_RESET_CLEARED = PCI_EXP_SLTSTA_EIS | PCI_EXP_SLTSTA_CC | PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_ABP;
/** X_DEVICE_ON (spec §8): slot power on, power indicator on, attention indicator off. */
const SLTCTL_ON_MASK = PCI_EXP_SLTCTL_PCC | PCI_EXP_SLTCTL_PIC | PCI_EXP_SLTCTL_AIC;
const SLTCTL_ON_STATE = PCI_EXP_SLTCTL_PWR_ON | PCI_EXP_SLTCTL_PWR_IND_ON | PCI_EXP_SLTCTL_ATTN_IND_OFF;

/** Devices that already produced X_DEVICE_ON (at most once per device). */
const deviceOnSent = new WeakSet<Device>();

const overlaps = (off: number, len: number, reg: number, regLen: number): boolean => off < reg + regLen && reg < off + len;

/** pcie_sltctl_powered_off: power controller off and power indicator off. */
export function sltctlPoweredOff(sltctl: number): boolean {
  return (sltctl & PCI_EXP_SLTCTL_PCC) === PCI_EXP_SLTCTL_PWR_OFF && (sltctl & PCI_EXP_SLTCTL_PIC) === PCI_EXP_SLTCTL_PWR_IND_OFF;
}

/** Sets a function's slot power (pci_set_power): losing power resets it. */
function setPower(dev: PCIDevice, on: boolean): void {
  if (dev.powered === on) return;
  dev.powered = on;
  if (!on) dev.resetTree();
}

function deviceAndPath(dev: Device): { device?: string; path: string } {
  const path = dev.realizedPath ?? dev.canonicalPath();
  return dev.id !== undefined ? { device: dev.id, path } : { path };
}

export class PcieSlot implements PciFunctionModel, HotplugHandler {
  readonly port: PCIBridge;
  /** Offset of the port's PCI Express capability (0 until realize). */
  private exp = 0;
  /** QEMU's exp.hpev_notified: whether the interrupt condition is currently signalled. */
  private notified = false;

  constructor(port: PCIBridge) {
    this.port = port;
  }

  get expOffset(): number {
    return this.exp;
  }

  get secondaryBus(): PCIBus {
    return this.port.secondaryBus;
  }

  // ---- registers ---------------------------------------------------------------------------

  get sltcap(): number {
    return this.port.config.get32(this.exp + caps.PCI_EXP_SLTCAP);
  }
  get sltctl(): number {
    return this.port.config.get16(this.exp + caps.PCI_EXP_SLTCTL);
  }
  private set sltctl(v: number) {
    this.port.config.set16(this.exp + caps.PCI_EXP_SLTCTL, v);
  }
  get sltsta(): number {
    return this.port.config.get16(this.exp + caps.PCI_EXP_SLTSTA);
  }
  private set sltsta(v: number) {
    this.port.config.set16(this.exp + caps.PCI_EXP_SLTSTA, v);
  }
  private get lnkcap(): number {
    return this.port.config.get32(this.exp + caps.PCI_EXP_LNKCAP);
  }
  private setLnkstaBits(bits: number, on: boolean): void {
    const off = this.exp + caps.PCI_EXP_LNKSTA;
    const v = this.port.config.get16(off);
    this.port.config.set16(off, on ? v | bits : v & ~bits);
  }
  private get hasPowerController(): boolean {
    return (this.sltcap & PCI_EXP_SLTCAP_PCP) !== 0;
  }

  // ---- PciFunctionModel ----------------------------------------------------------------------

  /**
   * pcie_cap_slot_init. Runs in the port's realize, before the plug hook of the port's own
   * bus: that is where q35's ACPI controller takes the secondary bus over from us, as in QEMU.
   */
  realize(dev: PCIDevice): void {
    const exp = dev.caps.get(regs.PCI_CAP_ID_EXP);
    if (exp === undefined) throw new Error(`${dev.typeName}: a PCIe slot needs a PCI Express capability`);
    this.exp = exp;
    const c = dev.config;
    c.set16(exp + caps.PCI_EXP_FLAGS, c.get16(exp + caps.PCI_EXP_FLAGS) | PCI_EXP_FLAGS_SLOT);
    let sltcap = (dev.prop<number>(PROP_SLOT) << PCI_EXP_SLTCAP_PSN_SHIFT) | PCI_EXP_SLTCAP_EIP | PCI_EXP_SLTCAP_PIP | PCI_EXP_SLTCAP_AIP | PCI_EXP_SLTCAP_ABP;
    // spec §3: HPC/HPS need hotplug=on and native hotplug exposed, or a hot-plugged port.
    if (dev.prop<boolean>(PROP_HOTPLUG) && (dev.prop<boolean>(PROP_NATIVE_HOTPLUG) || dev.hotplugged)) sltcap |= PCI_EXP_SLTCAP_HPS | PCI_EXP_SLTCAP_HPC;
    let sltctlMask = SLTCTL_WRITABLE;
    let sltctl = c.get16(exp + caps.PCI_EXP_SLTCTL);
    if (dev.prop<boolean>(PROP_PCP)) {
      sltcap |= PCI_EXP_SLTCAP_PCP;
      sltctl &= ~PCI_EXP_SLTCTL_PCC;
      sltctlMask |= PCI_EXP_SLTCTL_PCC;
    }
    c.set32(exp + caps.PCI_EXP_SLTCAP, sltcap >>> 0);
    c.set16(exp + caps.PCI_EXP_SLTCTL, (sltctl & ~(PCI_EXP_SLTCTL_PIC | PCI_EXP_SLTCTL_AIC)) | PCI_EXP_SLTCTL_PWR_IND_OFF | PCI_EXP_SLTCTL_ATTN_IND_OFF);
    c.setMask16(c.wmask, exp + caps.PCI_EXP_SLTCTL, sltctlMask);
    c.setMask16(c.w1cmask, exp + caps.PCI_EXP_SLTSTA, PCI_EXP_HP_EV_SUPPORTED);
    initSlotLink(dev, exp);
    this.notified = false;
    this.secondaryBus.setHotplugHandler(this, dev);
  }

  /** pcie_cap_slot_reset (spec §3 reset values). PDS and DLLLA are left alone. */
  reset(): void {
    if (!this.exp) return;
    let ctl = (this.sltctl & ~SLTCTL_RESET_CLEARED) | PCI_EXP_SLTCTL_ATTN_IND_OFF;
    if (this.hasPowerController) {
      const populated = this.secondaryBus.deviceAt(DEVFN_0) !== undefined;
      ctl = populated ? (ctl & ~PCI_EXP_SLTCTL_PCC) | PCI_EXP_SLTCTL_PWR_IND_ON : ctl | PCI_EXP_SLTCTL_PWR_OFF | PCI_EXP_SLTCTL_PWR_IND_OFF;
    }
    this.sltctl = ctl;
    this.sltsta = this.sltsta & ~SLTSTA_RESET_CLEARED;
    this.updatePower();
    this.notified = this.eventPending();
  }

  /** Reading LNKSTA re-syncs speed/width from the device below (pci_default_read_config). */
  configRead(dev: PCIDevice, off: number, len: number): void {
    if (overlaps(off, len, this.exp + caps.PCI_EXP_LNKSTA, REG16) && linkStatusFollowsChild(dev, this.exp)) syncLinkStatus(dev, this.exp, this.secondaryBus);
  }

  /**
   * pcie_cap_slot_write_config after the masked write (spec §4). `value` is the raw written
   * value at `off`: QEMU tests its bits unshifted, so a byte write to SLTCTL's high byte never
   * powers the slot down, and a dword write at SLTCTL decides the W1C undo with SLTCTL's bits
   * (observed).
   */
  afterConfigWrite(dev: PCIDevice, off: number, value: number, len: number, before: Uint8Array): void {
    const oldCtl = before[this.exp + caps.PCI_EXP_SLTCTL]! | (before[this.exp + caps.PCI_EXP_SLTCTL + 1]! << 8);
    const oldSta = before[this.exp + caps.PCI_EXP_SLTSTA]! | (before[this.exp + caps.PCI_EXP_SLTSTA + 1]! << 8);
    this.slotWrite(off, value >>> 0, len, oldCtl, oldSta);
    if (pcieType(dev, this.exp) === caps.PCI_EXP_TYPE_ROOT_PORT) rootPortIntxAfterWrite(dev);
  }

  private slotWrite(off: number, value: number, len: number, oldCtl: number, oldSta: number): void {
    let sta = this.sltsta;
    if (overlaps(off, len, this.exp + caps.PCI_EXP_SLTSTA, REG16)) {
      // Writing 1 to an event bit that was not set undoes the whole W1C (guests clearing
      // everything at init would otherwise lose events). Observed: 0x1f with only CC set.
      if (value & ~oldSta & PCIE_SLOT_EVENTS) {
        sta = (sta & ~PCIE_SLOT_EVENTS) | (oldSta & PCIE_SLOT_EVENTS);
        this.sltsta = sta;
      }
      this.clearEvents();
    }
    if (!overlaps(off, len, this.exp + caps.PCI_EXP_SLTCTL, REG16)) return;
    let ctl = this.sltctl;
    if (ctl & PCI_EXP_SLTCTL_EIC) {
      // EIC always reads 0; writing 1 toggles the interlock status.
      ctl &= ~PCI_EXP_SLTCTL_EIC;
      this.sltctl = ctl;
      sta ^= PCI_EXP_SLTSTA_EIS;
      this.sltsta = sta;
    }
    // Powered down by the guest: a write with PCC off and PIC off while the slot was not
    // already in that state detaches every device below (spec §4 step 2).
    const wasPoweredOff = (oldCtl & PCI_EXP_SLTCTL_PCC) !== 0 && (oldCtl & PCI_EXP_SLTCTL_PWR_IND_OFF) === PCI_EXP_SLTCTL_PWR_IND_OFF;
    if (sta & PCI_EXP_SLTSTA_PDS && value & PCI_EXP_SLTCTL_PCC && (value & PCI_EXP_SLTCTL_PWR_IND_OFF) === PCI_EXP_SLTCTL_PWR_IND_OFF && !wasPoweredOff) {
      this.unplugAll();
    }
    this.updatePower();
    this.maybeDeviceOn(oldCtl);
    this.notify();
    // Commands complete at once (6.7.3.2): CC after every Slot Control write.
    this.slotEvent(PCI_EXP_HP_EV_CCI);
  }

  // ---- events and interrupts ------------------------------------------------------------------

  /** hotplug_event_update_event_status: HPIE and an enabled event pending. */
  private eventPending(): boolean {
    const ctl = this.sltctl;
    return (ctl & PCI_EXP_SLTCTL_HPIE) !== 0 && (this.sltsta & ctl & PCI_EXP_HP_EV_SUPPORTED) !== 0;
  }

  /** hotplug_event_notify: deliver on a change of the pending condition only (spec §5). */
  private notify(): void {
    const prev = this.notified;
    this.notified = this.eventPending();
    if (prev !== this.notified) deliverHotplugInterrupt(this.port, this.exp, this.notified);
  }

  /** hotplug_event_clear (status write): INTx drops once nothing is pending; no message. */
  private clearEvents(): void {
    this.notified = this.eventPending();
    const p = this.port;
    if (!p.msixEnabled() && !p.msiEnabled() && !this.notified) p.setIrq(0);
  }

  /** pcie_cap_slot_event: latch events; nothing new when they were all set already. */
  private slotEvent(events: number): void {
    const sta = this.sltsta;
    if ((sta & events) === events) return;
    this.sltsta = sta | events;
    this.notify();
  }

  // ---- power, presence, removal ---------------------------------------------------------------

  /** pcie_cap_update_power: devices below follow PCC (always powered without a power controller). */
  private updatePower(): void {
    const on = !this.hasPowerController || (this.sltctl & PCI_EXP_SLTCTL_PCC) === PCI_EXP_SLTCTL_PWR_ON;
    for (const d of [...this.secondaryBus.inDevfnOrder()]) setPower(d, on);
  }

  /** pcie_cap_slot_enable_power: raw PCC := on, no side effects (q35 ACPI hot-add). */
  enablePower(): void {
    if (this.exp && this.hasPowerController) this.sltctl = this.sltctl & ~PCI_EXP_SLTCTL_PCC;
  }

  /** Presence detected: PDS, and DLLLA when the child reports it or the port can. */
  private setPresent(dev: Device): void {
    this.sltsta = this.sltsta | PCI_EXP_SLTSTA_PDS;
    if (dev.prop<boolean>(PROP_LNKSTA_DLLLA) !== false || this.lnkcap & PCI_EXP_LNKCAP_DLLLARC) this.setLnkstaBits(PCI_EXP_LNKSTA_DLLLA, true);
  }

  /** pcie_cap_slot_do_unplug: every device on the secondary bus goes (devfn order), presence lost. */
  private unplugAll(): void {
    for (const d of [...this.secondaryBus.inDevfnOrder()]) completeUnplug(d);
    this.sltsta = this.sltsta & ~PCI_EXP_SLTSTA_PDS;
    if (this.port.prop<boolean>(PROP_LNKSTA_DLLLA) !== false || this.lnkcap & PCI_EXP_LNKCAP_DLLLARC) this.setLnkstaBits(PCI_EXP_LNKSTA_DLLLA, false);
    this.sltsta = this.sltsta | PCI_EXP_SLTSTA_PDC;
  }

  /** X_DEVICE_ON (spec §8): the slot went to "on" with a device present; once per device. */
  private maybeDeviceOn(oldCtl: number): void {
    const ctl = this.sltctl;
    if (!(this.sltsta & PCI_EXP_SLTSTA_PDS) || (ctl & SLTCTL_ON_MASK) !== SLTCTL_ON_STATE || (oldCtl & SLTCTL_ON_MASK) === SLTCTL_ON_STATE) return;
    const child = this.secondaryBus.inDevfnOrder().next().value;
    if (!child || deviceOnSent.has(child)) return;
    deviceOnSent.add(child);
    this.port.machine.events.emit(EVENT_DEVICE_ON, deviceAndPath(child));
  }

  /** Whether X_DEVICE_ON was sent for `dev` (HotplugInfo `device-on`). */
  deviceOn(dev: Device): boolean {
    return deviceOnSent.has(dev);
  }

  // ---- HotplugHandler --------------------------------------------------------------------------

  /** Only devices on our own bus while we are still its handler (ACPI may have taken it over). */
  private owns(dev: Device): boolean {
    return dev.parentBus === this.secondaryBus && this.secondaryBus.hotplugHandler === this;
  }

  private portName(): string {
    return this.port.id ?? '(null)';
  }

  /** pcie_cap_slot_plug_common: a locked slot refuses plug and unplug requests. */
  private checkInterlock(): void {
    if (this.sltsta & PCI_EXP_SLTSTA_EIS) throw new QemuError('slot is electromechanically locked: Device or resource busy');
  }

  /** pcie_cap_slot_pre_plug_cb (spec §6). */
  prePlug(dev: Device): void {
    if (!this.owns(dev)) return;
    if (dev.hotplugged && !(this.sltcap & PCI_EXP_SLTCAP_HPC)) throw new QemuError(`Hot-plug failed: unsupported by the port device '${this.portName()}'`);
    this.checkInterlock();
  }

  /**
   * pcie_cap_slot_plug_cb. Cold plug: presence only. Hot plug: presence and PDC|ABP once
   * function 0 exists; slot power is not switched on (the guest clears PCC).
   */
  plug(dev: Device): void {
    if (!this.owns(dev)) return;
    if (!dev.hotplugged) {
      this.setPresent(dev);
      this.updatePower();
      return;
    }
    if (!this.secondaryBus.deviceAt(DEVFN_0)) return; // multifunction hot-add: function 0 comes last
    this.setPresent(dev);
    this.slotEvent(PCI_EXP_HP_EV_PDC | PCI_EXP_HP_EV_ABP);
    this.updatePower();
  }

  /** pcie_cap_slot_unplug_request_cb (spec §6, checks in QEMU's order). */
  unplugRequest(dev: Device): void {
    if (!(this.sltcap & PCI_EXP_SLTCAP_HPC)) throw new QemuError(`Hot-unplug failed: unsupported by the port device '${this.portName()}'`);
    this.checkInterlock();
    const ctl = this.sltctl;
    if ((ctl & PCI_EXP_SLTCTL_PIC) === PCI_EXP_SLTCTL_PWR_IND_BLINK) throw new QemuError('Hot-unplug failed: guest is busy (power indicator blinking)');
    dev.pendingDeletion = true;
    dev.pendingDeletionExpiresMs = this.port.machine.clock.nowMs() + PCIE_UNPLUG_PENDING_MS;
    // A function the guest never saw (no device at devfn 0): removed without the guest.
    if (dev instanceof PCIDevice && dev.devfn !== DEVFN_0 && !this.secondaryBus.deviceAt(DEVFN_0)) {
      completeUnplug(dev);
      return;
    }
    if (sltctlPoweredOff(ctl)) {
      this.unplugAll();
      this.notify();
      this.sltsta = this.sltsta & ~PCI_EXP_SLTSTA_ABP;
      return;
    }
    this.pressButton();
  }

  /** pcie_cap_slot_unplug_cb: unrealize only; qdev's completeUnplug does that. */
  unplug(_dev: Device): void {}

  /** The attention button (pcie_cap_slot_push_attention_button, the old `pcie_abp`). */
  pressAttentionButton(_dev?: Device): void {
    this.pressButton();
  }

  private pressButton(): void {
    this.slotEvent(PCI_EXP_HP_EV_ABP);
  }

  /** x-query-hotplug for a device in this slot (spec §8). */
  queryHotplug(dev: Device): Record<string, unknown> {
    return hotplugInfo({
      bus: deviceAndPath(this.port),
      child: deviceAndPath(dev),
      deviceOn: this.deviceOn(dev),
      sltcap: this.sltcap,
      sltctl: this.sltctl,
    });
  }
}
