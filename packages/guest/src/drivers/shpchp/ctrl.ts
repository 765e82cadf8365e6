/**
 * The slot half of shpchp (drivers/pci/hotplug/shpchp_ctrl.c, shpchp_core.c; spec/
 * guest-shpchp.md §5–§9): interrupt events become work items on the slot's queue, the
 * attention-button state machine with its 5 s delayed work, the enable and disable
 * sequences, and what the slot's sysfs files do.
 */
import type { Task, TaskBody } from '../../os/sched.js';
import { HZ } from '../pciehp/jiffies.js';
import { Mutex, SHPCHP, hex, type Controller } from './hpc.js';
import { disableSlot, enableSlot } from './power.js';
import * as S from './regs.js';

export class Slot {
  state = S.STATIC_STATE;
  /** Cached status (slot->pwr_save, ...), refreshed by update_slot_info. */
  pwrSave = 0;
  attentionSave = 0;
  latchSave = 0;
  presenceSave = 0;
  isABoard = 0;
  /** 0, or 0xff after a power fault (p_slot->status). */
  status = 0;
  readonly lock: Mutex;
  /** The 5 s delayed work of a button press. */
  work: Task<void> | undefined;
  readonly tasks = new Set<Task<unknown>>();

  constructor(
    readonly ctrl: Controller,
    readonly hpSlot: number,
    /** PCI device number on the secondary bus. */
    readonly device: number,
    /** sysfs name (`1`, `1-1`...). */
    readonly name: string,
  ) {
    this.lock = new Mutex(ctrl.guest.sched.signal(`${SHPCHP}:slot${name}`), ctrl.guest);
  }

  get busNr(): number {
    return this.ctrl.dev.subordinate?.number ?? 0;
  }

  // ---- hpc_ops getters: one slot-register read each ------------------------------------------

  /** The slot register (one MMIO read). */
  reg(): number {
    return this.ctrl.slotReg(this.hpSlot);
  }
  /** 1 enabled, 2 power-only, 0 disabled, 0xff reserved. */
  powerStatus(): number {
    const st = (this.reg() & S.SLOT_STATE_MASK) >>> 0;
    return st === S.SLOT_STATE_PWRONLY ? 2 : st === S.SLOT_STATE_ENABLED ? 1 : st === S.SLOT_STATE_DISABLED ? 0 : 0xff;
  }
  /** 1 on, 2 blink, 0 off, 0xff reserved. */
  attentionStatus(): number {
    const st = (this.reg() & S.ATN_LED_STATE_MASK) >>> S.ATN_LED_STATE_SHIFT;
    return st === S.ATN_LED_STATE_ON ? 1 : st === S.ATN_LED_STATE_BLINK ? 2 : st === S.ATN_LED_STATE_OFF ? 0 : 0xff;
  }
  /** 1 = MRL open. */
  latchStatus(): number {
    return this.reg() & S.MRL_SENSOR ? 1 : 0;
  }
  adapterStatus(): number {
    return ((this.reg() & S.PRSNT_MASK) >>> S.PRSNT_SHIFT) !== S.PRSNT_EMPTY ? 1 : 0;
  }
  /** Power fault: the bit reads 0 on a fault. */
  queryPowerFault(): boolean {
    return !(this.reg() & S.POWER_FAULT);
  }

  updateSlotInfo(): void {
    this.pwrSave = this.powerStatus();
    this.attentionSave = this.attentionStatus();
    this.latchSave = this.latchStatus();
    this.presenceSave = this.adapterStatus();
  }

  /** Runs a work item on the slot's queue (a kworker task). */
  queue(label: string, body: TaskBody<unknown>): void {
    const t = this.ctrl.guest.sched.spawn(`${SHPCHP}-${this.name}:${label}`, body);
    this.tasks.add(t);
    t.onDone(() => this.tasks.delete(t));
  }

  /** cleanup_slots: pending work cancelled. */
  cleanup(): void {
    this.work?.cancel();
    for (const t of [...this.tasks]) t.cancel();
  }

  // ---- interrupt handlers (interrupt context: print, then queue) -----------------------------

  /** shpc_isr's dispatch of one slot's latched events, in Linux's order. */
  handleEvents(slotReg: number): void {
    const c = this.ctrl;
    if (slotReg & S.MRL_CHANGE_DETECTED) {
      c.dbg('Switch interrupt received');
      this.presenceSave = this.adapterStatus();
      const open = this.latchStatus();
      c.dbg(`Card present ${hex(this.presenceSave)} Power status ${hex(this.pwrSave)}`);
      let event = S.INT_SWITCH_CLOSE;
      if (open) {
        c.info(`Latch open on Slot(${this.name})`);
        event = S.INT_SWITCH_OPEN;
        if (this.pwrSave && this.presenceSave) {
          event = S.INT_POWER_FAULT;
          c.err('Surprise Removal of card');
        }
      } else c.info(`Latch close on Slot(${this.name})`);
      this.queueEvent(event);
    }
    if (slotReg & S.BUTTON_PRESS_DETECTED) {
      c.dbg('Attention button interrupt received');
      this.presenceSave = this.adapterStatus();
      c.info(`Button pressed on Slot(${this.name})`);
      this.queueEvent(S.INT_BUTTON_PRESS);
    }
    if (slotReg & S.PRSNT_CHANGE_DETECTED) {
      c.dbg('Presence/Notify input change');
      this.presenceSave = this.adapterStatus();
      c.info(this.presenceSave ? `Card present on Slot(${this.name})` : `Card not present on Slot(${this.name})`);
      this.queueEvent(this.presenceSave ? S.INT_PRESENCE_ON : S.INT_PRESENCE_OFF);
    }
    if (slotReg & (S.ISO_PFAULT_DETECTED | S.CON_PFAULT_DETECTED)) {
      c.dbg('Power fault interrupt received');
      if (!this.queryPowerFault()) {
        c.info(`Power fault cleared on Slot(${this.name})`);
        this.status = 0;
        this.queueEvent(S.INT_POWER_FAULT_CLEAR);
      } else {
        c.info(`Power fault on Slot(${this.name})`);
        this.status = 0xff;
        c.info(`Power fault bit ${hex(this.hpSlot)} set`);
        this.queueEvent(S.INT_POWER_FAULT);
      }
    }
  }

  private queueEvent(event: number): void {
    this.queue('event', this.interruptEventHandler(event));
  }

  /** interrupt_event_handler, under the slot lock. */
  private *interruptEventHandler(event: number): TaskBody<void> {
    yield* this.lock.lock();
    try {
      if (event === S.INT_BUTTON_PRESS) yield* this.handleButtonPress();
      else if (event === S.INT_POWER_FAULT) {
        this.ctrl.dbg('interrupt_event_handler: Power fault');
        yield* this.ctrl.writeCmd(this.hpSlot, S.SET_ATTN_ON);
        yield* this.ctrl.writeCmd(this.hpSlot, S.SET_PWR_OFF);
      } else this.updateSlotInfo();
    } finally {
      this.lock.unlock();
    }
  }

  // ---- the attention button -------------------------------------------------------------------

  /** handle_button_press_event (spec §6). */
  private *handleButtonPress(): TaskBody<void> {
    const c = this.ctrl;
    switch (this.state) {
      case S.STATIC_STATE: {
        const on = this.powerStatus();
        // The `ignore-unplug` policy: a guest that never lets a device go.
        if (on && c.guest.policy.name === 'ignore-unplug') return;
        this.state = on ? S.BLINKINGOFF_STATE : S.BLINKINGON_STATE;
        c.info(`PCI slot #${this.name} - powering ${on ? 'off' : 'on'} due to button press`);
        yield* c.writeCmd(this.hpSlot, S.SET_PWR_BLINK);
        yield* c.writeCmd(this.hpSlot, S.SET_ATTN_OFF);
        // queue_delayed_work(5 * HZ): a timer-wheel timer, rounded up to its bucket. A task, so
        // that a guest reset (Scheduler.cancelAll) stops it like every other kernel work.
        const ns = c.jiffies.timerNs((S.BUTTON_WAIT_MS / 1000) * HZ);
        this.work = c.guest.sched.spawn(`${SHPCHP}-${this.name}:button`, (function* (slot: Slot): TaskBody<void> {
          yield { kind: 'sleep', ns };
          slot.pushbuttonWork();
        })(this));
        return;
      }
      case S.BLINKINGOFF_STATE:
      case S.BLINKINGON_STATE: {
        c.info(`Button cancel on Slot(${this.name})`);
        this.work?.cancel();
        const wasOff = this.state === S.BLINKINGOFF_STATE;
        yield* c.writeCmd(this.hpSlot, wasOff ? S.SET_PWR_ON : S.SET_PWR_OFF);
        yield* c.writeCmd(this.hpSlot, S.SET_ATTN_OFF);
        c.info(`PCI slot #${this.name} - action canceled due to button press`);
        this.state = S.STATIC_STATE;
        return;
      }
      case S.POWEROFF_STATE:
      case S.POWERON_STATE:
        c.info(`Button ignore on Slot(${this.name})`);
        this.updateSlotInfo();
        return;
      default:
        c.info('Not a valid state');
    }
  }

  /** shpchp_queue_pushbutton_work: BLINKING -> POWER state, then the pushbutton thread. */
  pushbuttonWork(): void {
    this.work = undefined;
    this.queue('pushbutton', (function* (slot: Slot): TaskBody<void> {
      yield* slot.lock.lock();
      let go = true;
      if (slot.state === S.BLINKINGOFF_STATE) slot.state = S.POWEROFF_STATE;
      else if (slot.state === S.BLINKINGON_STATE) slot.state = S.POWERON_STATE;
      else go = false;
      slot.lock.unlock();
      if (go) slot.queue('pushbutton-thread', slot.pushbuttonThread());
    })(this));
  }

  /** shpchp_pushbutton_thread. */
  private *pushbuttonThread(): TaskBody<void> {
    yield* this.lock.lock();
    if (this.state === S.POWEROFF_STATE) {
      this.lock.unlock();
      yield* this.disableSlot();
      yield* this.lock.lock();
      this.state = S.STATIC_STATE;
    } else if (this.state === S.POWERON_STATE) {
      this.lock.unlock();
      if (yield* this.enableSlot()) yield* this.ctrl.writeCmd(this.hpSlot, S.SET_PWR_OFF);
      yield* this.lock.lock();
      this.state = S.STATIC_STATE;
    }
    this.lock.unlock();
  }

  // ---- enable / disable (./power.ts) ----------------------------------------------------------

  *enableSlot(): TaskBody<number> {
    return yield* enableSlot(this);
  }

  *disableSlot(): TaskBody<number> {
    return yield* disableSlot(this);
  }

  // ---- sysfs ---------------------------------------------------------------------------------

  /** shpchp_sysfs_enable_slot (`power` <- 1): no 5 s wait. */
  *sysfsEnable(): TaskBody<number> {
    yield* this.lock.lock();
    let rc = -19;
    const st = this.state;
    if (st === S.BLINKINGON_STATE || st === S.STATIC_STATE) {
      if (st === S.BLINKINGON_STATE) this.work?.cancel();
      this.state = S.POWERON_STATE;
      this.lock.unlock();
      rc = yield* this.enableSlot();
      yield* this.lock.lock();
      this.state = S.STATIC_STATE;
    } else if (st === S.POWERON_STATE) {
      this.ctrl.info(`Slot ${this.name} is already in powering on state`);
    } else if (st === S.BLINKINGOFF_STATE || st === S.POWEROFF_STATE) {
      this.ctrl.info(`Already enabled on slot ${this.name}`);
    } else {
      this.ctrl.err(`Not a valid state on slot ${this.name}`);
    }
    this.lock.unlock();
    return rc;
  }

  /** shpchp_sysfs_disable_slot (`power` <- 0). */
  *sysfsDisable(): TaskBody<number> {
    yield* this.lock.lock();
    let rc = -19;
    const st = this.state;
    if (st === S.BLINKINGOFF_STATE || st === S.STATIC_STATE) {
      if (st === S.BLINKINGOFF_STATE) this.work?.cancel();
      this.state = S.POWEROFF_STATE;
      this.lock.unlock();
      rc = yield* this.disableSlot();
      yield* this.lock.lock();
      this.state = S.STATIC_STATE;
    } else if (st === S.POWEROFF_STATE) {
      this.ctrl.info(`Slot ${this.name} is already in powering off state`);
    } else if (st === S.BLINKINGON_STATE || st === S.POWERON_STATE) {
      this.ctrl.info(`Already disabled on slot ${this.name}`);
    } else {
      this.ctrl.err(`Not a valid state on slot ${this.name}`);
    }
    this.lock.unlock();
    return rc;
  }
}

