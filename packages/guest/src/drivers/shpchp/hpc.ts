/**
 * The controller half of shpchp (drivers/pci/hotplug/shpchp_hpc.c, spec/guest-shpchp.md
 * §3–§5): register access, the probe-time initialisation, commands and the interrupt
 * handler. Probe reads go through the capability's DWORD SELECT/DATA window, everything
 * else through MMIO at BAR0 + base offset, all via the GuestView.
 */
import { regs as R, type GuestView } from '@plugboard/pci-core';
import { pciEnableDevice, pciSetMaster } from '../../os/drivers.js';
import type { LinuxGuest } from '../../os/linux.js';
import type { PciDev } from '../../os/pci-dev.js';
import type { Signal, TaskBody } from '../../os/sched.js';
import { HZ, Jiffies, kernelEpochNs } from '../pciehp/jiffies.js';
import * as S from './regs.js';

export const SHPCHP = 'shpchp';
export const EBUSY = -16;
export const EIO = -5;
export const ENODEV = -19;

export interface ControllerOptions {
  /** shpchp.shpchp_debug: the ctrl_dbg / dbg lines. */
  debug: boolean;
  /** shpchp.shpchp_poll_mode / shpchp_poll_time. */
  pollMode: boolean;
  pollTime: number;
}

/** A mutex for guest tasks (struct mutex). */
export class Mutex {
  private locked = false;
  constructor(private readonly sig: Signal, private readonly guest: LinuxGuest) {}
  *lock(): TaskBody<void> {
    while (this.locked) yield this.guest.sched.wait(this.sig);
    this.locked = true;
  }
  unlock(): void {
    this.locked = false;
    this.sig.wake();
  }
}

export class Controller {
  readonly view: GuestView;
  readonly jiffies: Jiffies;
  capOffset = 0;
  mmioBase = 0;
  numSlots = 0;
  slotDeviceOffset = 0;
  firstSlot = 0;
  slotNumInc = 1;
  /** Bus speeds the probe found (enum pci_bus_speed). */
  maxBusSpeed = S.PCI_SPEED_UNKNOWN;
  curBusSpeed = S.PCI_SPEED_UNKNOWN;
  /** Linux IRQ number (pdev->irq after MSI set-up). */
  irq = 0;
  msi = false;
  readonly cmdLock: Mutex;
  readonly critSect: Mutex;
  /** ctrl->queue: command waiters, woken by the interrupt handler. */
  readonly queue: Signal;
  /** Slot-event handlers the interrupt handler calls (shpchp_ctrl.c). */
  onSlotEvent: ((hpSlot: number, slotReg: number) => void) | undefined;
  private releaseIrq: (() => void) | undefined;
  private pollTimer: { cancel(): void } | undefined;

  constructor(
    readonly guest: LinuxGuest,
    readonly dev: PciDev,
    readonly opts: ControllerOptions,
  ) {
    this.view = guest.view;
    this.jiffies = new Jiffies(guest.sched, kernelEpochNs(guest.klog.stamp(), guest.sched.now()));
    this.cmdLock = new Mutex(guest.sched.signal(`${SHPCHP}:cmd_lock`), guest);
    this.critSect = new Mutex(guest.sched.signal(`${SHPCHP}:crit_sect`), guest);
    this.queue = guest.sched.signal(`${SHPCHP}:queue`);
  }

  // ---- logging (ctrl_dbg / ctrl_info / ctrl_err, dbg) --------------------------------------

  dbg(text: string): void {
    if (this.opts.debug) this.guest.log(SHPCHP, this.dev, text);
  }
  info(text: string): void {
    this.guest.log(SHPCHP, this.dev, text);
  }
  err(text: string): void {
    this.guest.log(SHPCHP, this.dev, text);
  }

  // ---- register access ---------------------------------------------------------------------

  readb(off: number): number {
    return this.view.mmioRead(this.mmioBase + off, 1);
  }
  readw(off: number): number {
    return this.view.mmioRead(this.mmioBase + off, 2);
  }
  readl(off: number): number {
    return this.view.mmioRead(this.mmioBase + off, 4) >>> 0;
  }
  writew(off: number, v: number): void {
    this.view.mmioWrite(this.mmioBase + off, v & 0xffff, 2);
  }
  writel(off: number, v: number): void {
    this.view.mmioWrite(this.mmioBase + off, v >>> 0, 4);
  }
  slotReg(i: number): number {
    return this.readl(S.SLOT_REG(i));
  }

  /** shpc_indirect_read: the index byte, then the data dword. */
  private indirectRead(index: number): number {
    this.dev.write8(this.capOffset + S.DWORD_SELECT, index);
    return this.dev.read32(this.capOffset + S.DWORD_DATA) >>> 0;
  }

  // ---- probe (shpc_init) -------------------------------------------------------------------

  /** shpc_init. Returns false when the controller cannot be used. */
  init(): boolean {
    const pdev = this.dev;
    this.dbg('Hotplug Controller:');
    this.capOffset = pdev.findCapability(R.PCI_CAP_ID_SHPC);
    if (!this.capOffset) {
      this.err('Cannot find PCI capability');
      return false;
    }
    this.dbg(` cap_offset = ${hex(this.capOffset)}`);
    const baseOffset = this.indirectRead(0);
    this.numSlots = this.indirectRead(S.SLOT_CONFIG_INDEX) & S.SLOT_NUM;
    this.dbg(` num_slots (indirect) ${hex(this.numSlots)}`);
    for (let i = 0; i < S.INDIRECT_CONTROLLER_DWORDS + this.numSlots; i++) this.dbg(` offset ${i}: value ${hex(this.indirectRead(i))}`);
    const bar = pdev.resources[0];
    this.mmioBase = (bar?.start ?? 0) + baseOffset;
    this.info(`HPC vendor_id ${hex(pdev.vendor)} device_id ${hex(pdev.device)} ss_vid ${hex(pdev.subsystemVendor)} ss_did ${hex(pdev.subsystemDevice)}`);
    pciEnableDevice(pdev, this.guest);
    if (!bar || bar.kind !== 'mem') {
      this.err('Cannot reserve MMIO region');
      return false;
    }
    // %p of an ioremap cookie: hashed; before the hash key exists (boot) it prints like this.
    this.dbg('ctrl->creg (____ptrval____)');
    const slotConfig = this.readl(S.SLOT_CONFIG);
    this.slotDeviceOffset = (slotConfig & S.FIRST_DEV_NUM) >> S.FIRST_DEV_NUM_SHIFT;
    this.numSlots = slotConfig & S.SLOT_NUM;
    this.firstSlot = (slotConfig & S.PSN) >> S.PSN_SHIFT;
    this.slotNumInc = slotConfig & S.UPDOWN ? 1 : -1;
    // Mask the global, SERR, command and arbiter interrupts, then every slot event.
    let serrInt = this.readl(S.SERR_INTR_ENABLE);
    this.dbg(`SERR_INTR_ENABLE = ${hex(serrInt)}`);
    serrInt = (serrInt | S.GLOBAL_INTR_MASK | S.GLOBAL_SERR_MASK | S.COMMAND_INTR_MASK | S.ARBITER_SERR_MASK) & ~S.SERR_INTR_RSVDZ_MASK;
    this.writel(S.SERR_INTR_ENABLE, serrInt);
    this.dbg(`SERR_INTR_ENABLE = ${hex(this.readl(S.SERR_INTR_ENABLE))}`);
    for (let i = 0; i < this.numSlots; i++) {
      const reg = this.slotReg(i);
      this.dbg(`Default Logical Slot Register ${i} value ${hex(reg)}`);
      this.writel(S.SLOT_REG(i), (reg | S.SLOT_ALL_MASKS) & ~S.SLOT_REG_RSVDZ_MASK);
    }
    if (this.opts.pollMode) {
      this.startPollTimer(S.POLL_FIRST_S);
    } else {
      this.msi = enableMsi(this.guest, pdev, () => this.isr());
      if (!this.msi) {
        this.info("Can't get msi for the hotplug controller");
        this.info('Use INTx for the hotplug controller');
      } else pciSetMaster(pdev);
      this.irq = this.msi ? this.msiIrq : pdev.irq;
      if (!this.msi) this.releaseIrq = this.guest.irq.requestIrq(pdev.irq, SHPCHP, () => this.isr());
      this.dbg(`request_irq ${this.irq} (returns 0)`);
    }
    this.dbg(`HPC at ${pdev.name} irq=${hex(this.irq)}`);
    this.getMaxBusSpeed();
    this.getCurBusSpeed();
    for (let i = 0; i < this.numSlots; i++) {
      const reg = this.slotReg(i);
      this.dbg(`Default Logical Slot Register ${i} value ${hex(reg)}`);
      this.writel(S.SLOT_REG(i), reg & ~(S.SLOT_INTR_MASKS | S.SLOT_REG_RSVDZ_MASK));
    }
    if (!this.opts.pollMode) {
      const v = this.readl(S.SERR_INTR_ENABLE) & ~(S.GLOBAL_INTR_MASK | S.COMMAND_INTR_MASK | S.SERR_INTR_RSVDZ_MASK);
      this.writel(S.SERR_INTR_ENABLE, v);
      this.dbg(`SERR_INTR_ENABLE = ${hex(this.readl(S.SERR_INTR_ENABLE))}`);
    }
    return true;
  }

  private msiIrq = 0;

  /** shpc_get_max_bus_speed (conventional part; QEMU has 33 MHz slots only). */
  private getMaxBusSpeed(): void {
    this.readb(S.PROG_INTERFACE);
    const avail1 = this.readl(S.SLOT_AVAIL1);
    const avail2 = this.readl(S.SLOT_AVAIL2);
    let speed = S.PCI_SPEED_UNKNOWN;
    if (avail1 & S.SLOT_133MHZ_PCIX) speed = S.PCI_SPEED_133MHz_PCIX;
    else if (avail1 & S.SLOT_100MHZ_PCIX) speed = S.PCI_SPEED_100MHz_PCIX;
    else if (avail1 & S.SLOT_66MHZ_PCIX) speed = S.PCI_SPEED_66MHz_PCIX;
    else if (avail2 & S.SLOT_66MHZ) speed = S.PCI_SPEED_66MHz;
    else if (avail1 & S.SLOT_33MHZ) speed = S.PCI_SPEED_33MHz;
    this.maxBusSpeed = speed;
    this.dbg(`Max bus speed = ${speed}`);
  }

  /** shpc_get_cur_bus_speed (its line is a plain dbg: `shpchp: ...`). */
  private getCurBusSpeed(): void {
    const sec = this.readw(S.SEC_BUS_CONFIG);
    const pi = this.readb(S.PROG_INTERFACE);
    const mode = pi === 2 ? sec & 0xf : sec & 0x7;
    this.curBusSpeed = pi === 1 && mode > S.PCI_SPEED_133MHz_PCIX ? S.PCI_SPEED_UNKNOWN : mode <= S.PCI_SPEED_133MHz_PCIX ? mode : S.PCI_SPEED_UNKNOWN;
    if (this.opts.debug) this.guest.printk(`${SHPCHP}: Current bus speed = ${this.curBusSpeed}`);
  }

  // ---- commands ----------------------------------------------------------------------------

  private busy(): boolean {
    return (this.readw(S.CMD_STATUS) & S.CMD_STATUS_BUSY) !== 0;
  }

  /** shpc_poll_ctrl_busy: true once not busy, re-reading every 100 ms for 1 s. */
  private *pollBusy(): TaskBody<boolean> {
    if (!this.busy()) return true;
    for (let i = 0; i < S.BUSY_POLL_TRIES; i++) {
      yield this.jiffies.msleep(S.BUSY_POLL_MS);
      if (!this.busy()) return true;
    }
    return false;
  }

  /** shpc_write_cmd: 0, or -EBUSY / -EIO. `hpSlot` is the slot index (target = index + 1). */
  *writeCmd(hpSlot: number, cmd: number): TaskBody<number> {
    yield* this.cmdLock.lock();
    try {
      if (!(yield* this.pollBusy())) {
        this.err('Controller is still busy after 1 sec');
        return EBUSY;
      }
      const target = hpSlot + 1;
      this.dbg(`shpc_write_cmd: t_slot ${hex(target)} cmd ${hex(cmd)}`);
      this.writew(S.CMD, (target << 8) | (cmd & 0xff));
      // The CPU takes the completion interrupt right after the write.
      yield this.guest.sched.sleep(0);
      // shpc_wait_cmd: the condition is checked before any sleep.
      let done: boolean;
      if (this.opts.pollMode) done = yield* this.pollBusy();
      else done = yield* this.guest.sched.waitEvent(this.queue, () => !this.busy(), S.CMD_TIMEOUT_MS);
      if (!done && this.busy()) {
        this.err('Command not completed in 1000 msec');
        return EIO;
      }
      const status = this.checkCmdStatus();
      if (status) {
        this.err(`Failed to issued command 0x${hex(cmd)} (error code = ${status})`);
        return EIO;
      }
      return 0;
    } finally {
      this.cmdLock.unlock();
    }
  }

  /** hpc_check_cmd_status. */
  private checkCmdStatus(): number {
    const status = this.readw(S.CMD_STATUS) & S.CMD_STATUS_ERRORS;
    switch (status >> 1) {
      case 0:
        return 0;
      case S.SWITCH_OPEN:
        this.err('Switch opened!');
        return S.SWITCH_OPEN;
      case S.INVALID_CMD:
        this.err('Invalid HPC command!');
        return S.INVALID_CMD;
      case S.INVALID_SPEED_MODE:
        this.err('Invalid bus speed/mode!');
        return S.INVALID_SPEED_MODE;
      default:
        return status;
    }
  }

  // ---- the interrupt handler (shpc_isr) ------------------------------------------------------

  isr(): boolean {
    const intrLoc = this.readl(S.INTR_LOC);
    if (!intrLoc) return false;
    this.dbg(`shpc_isr: intr_loc = ${hex(intrLoc)}`);
    if (!this.opts.pollMode) {
      // Mask the global interrupt (SHPC 1.0 p. 139); bits 16/17 go back as read: W1C.
      this.writel(S.SERR_INTR_ENABLE, (this.readl(S.SERR_INTR_ENABLE) | S.GLOBAL_INTR_MASK) & ~S.SERR_INTR_RSVDZ_MASK);
      this.dbg(`shpc_isr: intr_loc2 = ${hex(this.readl(S.INTR_LOC))}`);
    }
    if (intrLoc & S.CMD_INTR_PENDING) {
      this.writel(S.SERR_INTR_ENABLE, this.readl(S.SERR_INTR_ENABLE) & ~S.SERR_INTR_RSVDZ_MASK);
      this.queue.wake();
    }
    if (intrLoc & ~S.CMD_INTR_PENDING) {
      for (let i = 0; i < this.numSlots; i++) {
        if (!(intrLoc & S.SLOT_INTR_PENDING(i))) continue;
        const reg = this.slotReg(i);
        this.dbg(`Slot ${hex(i)} with intr, slot register = ${hex(reg)}`);
        this.onSlotEvent?.(i, reg);
        // Writing back what was read clears exactly the events just handled.
        this.writel(S.SLOT_REG(i), reg & ~S.SLOT_REG_RSVDZ_MASK);
      }
    }
    if (!this.opts.pollMode) this.writel(S.SERR_INTR_ENABLE, this.readl(S.SERR_INTR_ENABLE) & ~(S.GLOBAL_INTR_MASK | S.SERR_INTR_RSVDZ_MASK));
    return true;
  }

  /**
   * start_int_poll_timer / int_poll_timeout: the interrupt logic from a timer, first after
   * `seconds`, then every shpchp_poll_time seconds (clamped to 1..60, else 2). A task, so a
   * guest reset stops it.
   */
  private startPollTimer(seconds: number): void {
    const clamp = (s: number) => (s <= 0 || s > S.POLL_MAX_S ? S.POLL_DEFAULT_S : s);
    this.pollTimer = this.guest.sched.spawn(`${SHPCHP}:poll`, (function* (c: Controller): TaskBody<void> {
      for (let s = clamp(seconds); ; s = clamp(c.opts.pollTime || S.POLL_DEFAULT_S)) {
        yield { kind: 'sleep', ns: c.jiffies.timerNs(s * HZ) };
        c.isr();
      }
    })(this));
  }

  /** hpc_release_ctlr: mask every slot and the controller, free the interrupt. */
  release(): void {
    for (let i = 0; i < this.numSlots; i++) this.writel(S.SLOT_REG(i), (this.slotReg(i) | S.SLOT_ALL_MASKS) & ~S.SLOT_REG_RSVDZ_MASK);
    this.writel(S.SERR_INTR_ENABLE, (this.readl(S.SERR_INTR_ENABLE) | S.GLOBAL_INTR_MASK | S.GLOBAL_SERR_MASK | S.COMMAND_INTR_MASK | S.ARBITER_SERR_MASK) & ~S.SERR_INTR_RSVDZ_MASK);
    this.pollTimer?.cancel();
    this.releaseIrq?.();
    this.releaseIrq = undefined;
  }

  /** Remembers the MSI's Linux IRQ and how to free it (set by enableMsi). */
  setMsi(irq: number, free: () => void): void {
    this.msiIrq = irq;
    this.releaseIrq = free;
  }
}

export const hex = (v: number): string => (v >>> 0).toString(16);

/**
 * pci_enable_msi for one vector (drivers/pci/msi/msi.c msi_capability_init): MSI off while
 * it is set up, the vector masked, address and data written, INTx disabled, MSI on, the
 * vector unmasked by request_irq.
 */
function enableMsi(guest: LinuxGuest, dev: PciDev, handler: () => boolean): boolean {
  const cap = dev.findCapability(R.PCI_CAP_ID_MSI);
  const ctrl = controllers.get(dev);
  if (!cap || !ctrl) return false;
  const flags = dev.read16(cap + R.PCI_MSI_FLAGS);
  if (flags & R.PCI_MSI_FLAGS_ENABLE) dev.write16(cap + R.PCI_MSI_FLAGS, flags & ~R.PCI_MSI_FLAGS_ENABLE);
  const is64 = (flags & R.PCI_MSI_FLAGS_64BIT) !== 0;
  const maskReg = cap + (is64 ? R.PCI_MSI_MASK_64 : R.PCI_MSI_MASK_32);
  const maskable = (flags & R.PCI_MSI_FLAGS_MASKBIT) !== 0;
  if (maskable) dev.write32(maskReg, 1);
  const msg = guest.irq.allocMsi(`${SHPCHP}:${dev.name}`, () => handler());
  if (!msg.active) {
    // No free vector: pci_enable_msi fails and shpchp falls back to INTx.
    msg.free();
    if (maskable) dev.write32(maskReg, 0);
    return false;
  }
  dev.write32(cap + R.PCI_MSI_ADDRESS_LO, msg.address);
  if (is64) dev.write32(cap + R.PCI_MSI_ADDRESS_HI, 0);
  dev.write16(cap + (is64 ? R.PCI_MSI_DATA_64 : R.PCI_MSI_DATA_32), msg.data);
  const cmd = dev.read16(R.PCI_COMMAND);
  if (!(cmd & R.PCI_COMMAND_INTX_DISABLE)) dev.write16(R.PCI_COMMAND, cmd | R.PCI_COMMAND_INTX_DISABLE);
  dev.write16(cap + R.PCI_MSI_FLAGS, (dev.read16(cap + R.PCI_MSI_FLAGS) & ~R.PCI_MSI_FLAGS_QSIZE) | R.PCI_MSI_FLAGS_ENABLE);
  if (maskable) dev.write32(maskReg, 0);
  ctrl.setMsi(msg.irq, () => {
    // free_irq + pci_disable_msi: MSI off, INTx back.
    msg.free();
    dev.write16(cap + R.PCI_MSI_FLAGS, dev.read16(cap + R.PCI_MSI_FLAGS) & ~R.PCI_MSI_FLAGS_ENABLE);
    dev.write16(R.PCI_COMMAND, dev.read16(R.PCI_COMMAND) & ~R.PCI_COMMAND_INTX_DISABLE);
  });
  return true;
}

/** Controllers by bridge (pci_get_drvdata). */
export const controllers = new WeakMap<PciDev, Controller>();
