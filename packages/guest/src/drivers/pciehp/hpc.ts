/**
 * The pciehp controller: Slot Control commands and their completion, the hard interrupt
 * handler, slot status queries and the button timer, after drivers/pci/hotplug/pciehp_hpc.c
 * (Linux 6.1, as Debian 12 ships it). Link bring-up is in ./link.ts, pcie_init in ./probe.ts.
 * Register accesses go to the port's PCI Express capability through the GuestView only.
 */
import { caps as C } from '@plugboard/pci-core';
import type { Timer } from '@plugboard/qdev';
import type { LinuxGuest } from '../../os/linux.js';
import type { PciDev } from '../../os/pci-dev.js';
import type { Scheduler, Signal, Task, TaskBody, Wait } from '../../os/sched.js';
import { HZ, Jiffies, jiffiesToMsecs, msecsToJiffies } from './jiffies.js';
import type { PortIrq } from './portdrv.js';
import {
  hash06x, PCI_EXP_LNKCTL_LD, PCI_EXP_LNKSTA_DLLLA, PCI_EXP_SLTCAP_ABP, PCI_EXP_SLTCAP_AIP, PCI_EXP_SLTCAP_HPC, PCI_EXP_SLTCAP_NCCS,
  PCI_EXP_SLTCAP_PIP, PCI_EXP_SLTCTL_ABPE, PCI_EXP_SLTCTL_AIC, PCI_EXP_SLTCTL_ATTN_IND_BLINK, PCI_EXP_SLTCTL_ATTN_IND_OFF,
  PCI_EXP_SLTCTL_ATTN_IND_ON, PCI_EXP_SLTCTL_CCIE, PCI_EXP_SLTCTL_DLLSCE, PCI_EXP_SLTCTL_EIC, PCI_EXP_SLTCTL_HPIE,
  PCI_EXP_SLTCTL_MRLSCE, PCI_EXP_SLTCTL_PCC, PCI_EXP_SLTCTL_PDCE, PCI_EXP_SLTCTL_PFDE, PCI_EXP_SLTCTL_PIC, PCI_EXP_SLTCTL_PWR_OFF,
  PCI_EXP_SLTCTL_PWR_ON, PCI_EXP_SLTSTA_ABP, PCI_EXP_SLTSTA_CC, PCI_EXP_SLTSTA_DLLSC, PCI_EXP_SLTSTA_MRLSS, PCI_EXP_SLTSTA_PDC,
  PCI_EXP_SLTSTA_PDS, PCI_EXP_SLTSTA_PFD, SlotState,
} from './regs.js';

/** The driver's knobs (module parameters, dynamic debug). */
export interface ControllerOptions {
  /** `dyndbg="module pciehp +p"`: print the ctrl_dbg lines (register values, pending events). */
  debug: boolean;
  /** `pciehp.pciehp_poll_mode=1`: no interrupt, a thread polls Slot Status. */
  pollMode: boolean;
  /** `pciehp.pciehp_poll_time` in seconds (clamped to 1..60 as Linux does). */
  pollTime: number;
}

/** Stale-CC erratum (quirk_cmd_compl): these Slot Control fields are the ones that complete. */
const CC_ERRATUM_MASK = PCI_EXP_SLTCTL_PCC | PCI_EXP_SLTCTL_PIC | PCI_EXP_SLTCTL_AIC | PCI_EXP_SLTCTL_EIC;
const EVENT_BITS = PCI_EXP_SLTSTA_ABP | PCI_EXP_SLTSTA_PFD | PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_CC | PCI_EXP_SLTSTA_DLLSC;
const NOTIFY_MASK = PCI_EXP_SLTCTL_PDCE | PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_PFDE | PCI_EXP_SLTCTL_HPIE | PCI_EXP_SLTCTL_CCIE | PCI_EXP_SLTCTL_DLLSCE;
/** PCI_POSSIBLE_ERROR for a 16-bit read: the port stopped answering. */
const NO_RESPONSE16 = 0xffff;
export const ENODEV = -19;
export const EINVAL = -22;
export const EIO = -5;
export const EEXIST = -17;

/** Vendors whose bridges drop Command Completed for enable-only writes (pciehp_hpc.c quirk table). */
const CMD_COMPL_ERRATUM: Array<{ vendor: number; device?: number }> = [
  { vendor: 0x8086 }, // Intel, every PCI bridge (QEMU's ioh3420 among them)
  { vendor: 0x17cb, device: 0x010e }, { vendor: 0x17cb, device: 0x0110 }, // Qualcomm
  { vendor: 0x17cb, device: 0x0400 }, { vendor: 0x17cb, device: 0x0401 },
  { vendor: 0x1dbf, device: 0x0401 }, // HXT
];
const PCI_CLASS_BRIDGE_PCI = 0x0604;

const hex = (v: number) => v.toString(16);

export class Controller {
  readonly sched: Scheduler;
  readonly jiffies: Jiffies;
  slotCap = 0;
  inbandPresenceDisabled = false;
  /** Cached last Slot Control value written (ctrl->slot_ctrl). */
  slotCtrl = 0;
  cmdStarted = 0;
  cmdBusy = false;
  /** Command-completion waiters (ctrl->queue). */
  readonly queue: Signal;
  pendingEvents = 0;
  powerFaultDetected = false;
  state: SlotState = SlotState.OFF;
  buttonTimer: Timer | undefined;
  istRunning = false;
  requestResult = 0;
  /** sysfs writers waiting for the IRQ thread (ctrl->requester). */
  readonly requester: Signal;
  readonly brokenCmdCompl: boolean;
  /** Slot name (`1`, `0-1`...), set when the slot is registered. */
  name = '';
  irq: PortIrq | undefined;
  freeIrq: (() => void) | undefined;
  thread: Task<void> | undefined;
  notificationEnabled = false;
  private readonly threadWake: Signal;
  private threadKick = false;
  private locked = false;
  private readonly unlocked: Signal;

  constructor(
    readonly guest: LinuxGuest,
    readonly port: PciDev,
    readonly opts: ControllerOptions,
    jiffies: Jiffies,
  ) {
    this.sched = guest.sched;
    this.jiffies = jiffies;
    this.queue = this.sched.signal(`pciehp-cmd:${port.name}`);
    this.requester = this.sched.signal(`pciehp-req:${port.name}`);
    this.threadWake = this.sched.signal(`pciehp-irq:${port.name}`);
    this.unlocked = this.sched.signal(`pciehp-lock:${port.name}`);
    const erratum = CMD_COMPL_ERRATUM.some((q) => q.vendor === port.vendor && (q.device === undefined || q.device === port.device));
    const sltcap = port.pcieRead32(C.PCI_EXP_SLTCAP);
    this.brokenCmdCompl = erratum && port.class >> 8 === PCI_CLASS_BRIDGE_PCI && (sltcap & PCI_EXP_SLTCAP_HPC) !== 0 && !(sltcap & PCI_EXP_SLTCAP_NCCS);
  }

  // ---- capabilities and log --------------------------------------------------------------

  has(bit: number): boolean {
    return (this.slotCap & bit) !== 0;
  }

  info(text: string): void {
    this.guest.log('pcieport', this.port, `pciehp: ${text}`);
  }

  dbg(text: string): void {
    if (this.opts.debug) this.info(text);
  }

  private get sltctlPos(): string {
    return hex(this.port.pcieCap + C.PCI_EXP_SLTCTL);
  }

  private sltsta(): number {
    return this.port.pcieRead16(C.PCI_EXP_SLTSTA);
  }

  msleep(ms: number): Wait {
    return this.jiffies.msleep(ms);
  }

  // ---- commands (pcie_do_write_cmd) -------------------------------------------------------

  /** ctrl_lock: one Slot Control command at a time. */
  private *lock(): TaskBody<void> {
    while (this.locked) yield this.sched.wait(this.unlocked);
    this.locked = true;
  }

  private unlock(): void {
    this.locked = false;
    this.unlocked.wake();
  }

  /** pcie_wait_cmd: wait for the previous command (interrupt or polling), 1 s after it was issued. */
  *waitCmd(): TaskBody<void> {
    if (this.has(PCI_EXP_SLTCAP_NCCS) || !this.cmdBusy) return;
    const deadline = this.cmdStarted + msecsToJiffies(this.opts.pollMode ? 2500 : 1000);
    const now = this.jiffies.now();
    const timeout = deadline <= now ? 1 : deadline - now;
    let done: boolean;
    if (this.slotCtrl & PCI_EXP_SLTCTL_HPIE && this.slotCtrl & PCI_EXP_SLTCTL_CCIE) done = yield* this.waitEvent(this.queue, () => !this.cmdBusy, timeout);
    else done = yield* this.pollCmd(jiffiesToMsecs(timeout));
    if (!done) this.info(`Timeout on hotplug command ${hash06x(this.slotCtrl)} (issued ${jiffiesToMsecs(this.jiffies.now() - this.cmdStarted)} msec ago)`);
  }

  /** wait_event_timeout with a jiffies timeout (a wheel timer, like schedule_timeout). */
  *waitEvent(signal: Signal, cond: () => boolean, timeout: number): TaskBody<boolean> {
    const deadline = this.sched.now() + this.jiffies.timerNs(timeout);
    while (!cond()) {
      const left = deadline - this.sched.now();
      if (left <= 0) return cond();
      yield { kind: 'wait', signal, ns: left };
    }
    return true;
  }

  /** pcie_poll_cmd: Slot Status every 10 ms until CC, which is then cleared. */
  private *pollCmd(timeoutMs: number): TaskBody<boolean> {
    let timeout = timeoutMs;
    do {
      const sta = this.sltsta();
      if (sta === NO_RESPONSE16) {
        this.info('pcie_poll_cmd: no response from device');
        return false;
      }
      if (sta & PCI_EXP_SLTSTA_CC) {
        this.port.pcieWrite16(C.PCI_EXP_SLTSTA, PCI_EXP_SLTSTA_CC);
        this.cmdBusy = false;
        return true;
      }
      yield this.msleep(10);
      timeout -= 10;
    } while (timeout >= 0);
    return false;
  }

  /**
   * Read-modify-write of Slot Control under `mask`, after the previous command completed;
   * with `wait` also waits for this one. After the write the task steps aside once, so an
   * interrupt the write raised is taken before the driver goes on (as a CPU takes it right
   * after the config write): pciehp's own debug lines print after the handler's.
   */
  *writeCmd(cmd: number, mask: number, wait: boolean): TaskBody<void> {
    yield* this.lock();
    try {
      yield* this.waitCmd();
      const orig = this.port.pcieRead16(C.PCI_EXP_SLTCTL);
      if (orig === NO_RESPONSE16) {
        this.info('pcie_do_write_cmd: no response from device');
        return;
      }
      const value = (orig & ~mask) | (cmd & mask);
      this.cmdBusy = true;
      this.slotCtrl = value;
      this.port.pcieWrite16(C.PCI_EXP_SLTCTL, value);
      this.cmdStarted = this.jiffies.now();
      if (this.brokenCmdCompl && (orig & CC_ERRATUM_MASK) === (value & CC_ERRATUM_MASK)) this.cmdBusy = false;
      yield this.sched.sleep(0);
      if (wait) yield* this.waitCmd();
    } finally {
      this.unlock();
    }
  }

  /** pciehp_set_indicators: either indicator may be left alone (undefined = INDICATOR_NOOP). */
  *setIndicators(pwr: number | undefined, attn: number | undefined): TaskBody<void> {
    let cmd = 0;
    let mask = 0;
    if (this.has(PCI_EXP_SLTCAP_PIP) && pwr !== undefined) {
      cmd |= pwr & PCI_EXP_SLTCTL_PIC;
      mask |= PCI_EXP_SLTCTL_PIC;
    }
    if (this.has(PCI_EXP_SLTCAP_AIP) && attn !== undefined) {
      cmd |= attn & PCI_EXP_SLTCTL_AIC;
      mask |= PCI_EXP_SLTCTL_AIC;
    }
    if (!cmd) return;
    yield* this.writeCmd(cmd, mask, false);
    this.dbg(`pciehp_set_indicators: SLOTCTRL ${this.sltctlPos} write cmd ${hex(cmd)}`);
  }

  /** pciehp_power_on_slot: clear a stale power fault, PCC on (waited), then Link Disable off. */
  *powerOnSlot(): TaskBody<number> {
    if (this.sltsta() & PCI_EXP_SLTSTA_PFD) this.port.pcieWrite16(C.PCI_EXP_SLTSTA, PCI_EXP_SLTSTA_PFD);
    this.powerFaultDetected = false;
    yield* this.writeCmd(PCI_EXP_SLTCTL_PWR_ON, PCI_EXP_SLTCTL_PCC, true);
    this.dbg(`pciehp_power_on_slot: SLOTCTRL ${this.sltctlPos} write cmd ${hex(PCI_EXP_SLTCTL_PWR_ON)}`);
    // 6.1.y (and Debian's build) clears LD through the RMW accessor, without the old debug line.
    this.port.pcieClearAndSet16(C.PCI_EXP_LNKCTL, PCI_EXP_LNKCTL_LD, 0);
    return 0;
  }

  *powerOffSlot(): TaskBody<void> {
    yield* this.writeCmd(PCI_EXP_SLTCTL_PWR_OFF, PCI_EXP_SLTCTL_PCC, true);
    this.dbg(`pciehp_power_off_slot: SLOTCTRL ${this.sltctlPos} write cmd ${hex(PCI_EXP_SLTCTL_PWR_OFF)}`);
  }

  *enableNotification(): TaskBody<void> {
    let cmd = PCI_EXP_SLTCTL_DLLSCE | (this.has(PCI_EXP_SLTCAP_ABP) ? PCI_EXP_SLTCTL_ABPE : PCI_EXP_SLTCTL_PDCE);
    if (!this.opts.pollMode) cmd |= PCI_EXP_SLTCTL_HPIE | PCI_EXP_SLTCTL_CCIE;
    yield* this.writeCmd(cmd, NOTIFY_MASK, false);
    this.dbg(`pcie_enable_notification: SLOTCTRL ${this.sltctlPos} write cmd ${hex(cmd)}`);
  }

  *disableNotification(): TaskBody<void> {
    yield* this.writeCmd(0, NOTIFY_MASK | PCI_EXP_SLTCTL_MRLSCE, true);
    this.dbg(`pcie_disable_notification: SLOTCTRL ${this.sltctlPos} write cmd 0`);
  }

  // ---- status ----------------------------------------------------------------------------

  /** pciehp_get_power_status: 1 when PCC says on. */
  getPowerStatus(): number {
    const v = this.port.pcieRead16(C.PCI_EXP_SLTCTL);
    this.dbg(`pciehp_get_power_status: SLOTCTRL ${this.sltctlPos} value read ${hex(v)}`);
    return (v & PCI_EXP_SLTCTL_PCC) === PCI_EXP_SLTCTL_PWR_ON ? 1 : 0;
  }

  /** pciehp_get_attention_status: 1 on, 2 blink, 0 off, 0xff reserved. */
  getAttentionStatus(): number {
    const v = this.port.pcieRead16(C.PCI_EXP_SLTCTL);
    this.dbg(`pciehp_get_attention_status: SLOTCTRL ${this.sltctlPos}, value read ${hex(v)}`);
    const aic = v & PCI_EXP_SLTCTL_AIC;
    return aic === PCI_EXP_SLTCTL_ATTN_IND_ON ? 1 : aic === PCI_EXP_SLTCTL_ATTN_IND_BLINK ? 2 : aic === PCI_EXP_SLTCTL_ATTN_IND_OFF ? 0 : 0xff;
  }

  getLatchStatus(): number {
    return this.sltsta() & PCI_EXP_SLTSTA_MRLSS ? 1 : 0;
  }

  queryPowerFault(): boolean {
    return (this.sltsta() & PCI_EXP_SLTSTA_PFD) !== 0;
  }

  cardPresent(): number {
    const sta = this.sltsta();
    if (sta === NO_RESPONSE16) return ENODEV;
    return sta & PCI_EXP_SLTSTA_PDS ? 1 : 0;
  }

  checkLinkActive(): number {
    const lnk = this.port.pcieRead16(C.PCI_EXP_LNKSTA);
    if (lnk === NO_RESPONSE16) return ENODEV;
    this.dbg(`pciehp_check_link_active: lnk_status = ${hex(lnk)}`);
    return lnk & PCI_EXP_LNKSTA_DLLLA ? 1 : 0;
  }

  cardPresentOrLinkActive(): number {
    const r = this.cardPresent();
    return r ? r : this.checkLinkActive();
  }

  // ---- interrupt ---------------------------------------------------------------------------

  /**
   * pciehp_isr, the hard-IRQ half: collect Slot Status events, acknowledge exactly those bits
   * (W1C; QEMU undoes a W1C that names a bit not set), re-read while MSI is in use, complete
   * commands at once and hand the rest to the IRQ thread.
   */
  isr(): 'none' | 'handled' | 'wake' {
    if (!(this.slotCtrl & PCI_EXP_SLTCTL_HPIE) && !this.opts.pollMode) return 'none';
    let events = 0;
    for (;;) {
      let status = this.sltsta();
      if (status === NO_RESPONSE16) {
        this.info('pciehp_isr: no response from device');
        return 'none';
      }
      status &= EVENT_BITS;
      if (this.powerFaultDetected) status &= ~PCI_EXP_SLTSTA_PFD;
      else if (status & PCI_EXP_SLTSTA_PFD) this.powerFaultDetected = true;
      events |= status;
      if (!events) return 'none';
      if (!status) break;
      this.port.pcieWrite16(C.PCI_EXP_SLTSTA, status);
      if (!this.irq?.msiEnabled || this.opts.pollMode) break;
    }
    this.dbg(`pending interrupts ${hash06x(events)} from Slot Status`);
    if (events & PCI_EXP_SLTSTA_CC) {
      this.cmdBusy = false;
      this.queue.wake();
      if (events === PCI_EXP_SLTSTA_CC) return 'handled';
      events &= ~PCI_EXP_SLTSTA_CC;
    }
    this.pendingEvents |= events;
    return 'wake';
  }

  /** irq_wake_thread: the IRQ thread runs (again) as soon as it can. */
  wakeThread(): void {
    this.threadKick = true;
    this.threadWake.wake();
  }

  /** The IRQ thread's wait for its next run. */
  *threadWait(): TaskBody<void> {
    while (!this.threadKick) yield this.sched.wait(this.threadWake);
    this.threadKick = false;
  }

  /** pciehp_request: queue an action for the IRQ thread. */
  request(action: number): void {
    this.pendingEvents |= action;
    if (!this.opts.pollMode) this.wakeThread();
  }

  /** schedule_delayed_work(&button_work, 5 * HZ): a no-op while already pending. */
  scheduleButtonWork(work: () => void): void {
    if (this.buttonTimer?.active) return;
    this.buttonTimer = this.sched.clock.setTimer(this.jiffies.timerNs(5 * HZ), work, `guest:pciehp-button:${this.port.name}`);
  }

  cancelButtonWork(): void {
    this.buttonTimer?.cancel();
    this.buttonTimer = undefined;
  }
}
