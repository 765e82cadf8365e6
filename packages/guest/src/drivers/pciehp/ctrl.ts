/**
 * pciehp's state machine (drivers/pci/hotplug/pciehp_ctrl.c) and its IRQ thread
 * (pciehp_ist in pciehp_hpc.c): attention button with the cancellable 5 s wait, presence and
 * link changes, slot enable (power, link, scan, bind) and disable (unbind, power off), and
 * the sysfs `power` requests. Each function is a task body run by the controller's thread.
 */
import type { TaskBody } from '../../os/sched.js';
import { EEXIST, EINVAL, EIO, ENODEV, type Controller } from './hpc.js';
import { checkLinkStatus } from './link.js';
import { configureDevice, unconfigureDevice } from './pci.js';
import {
  DISABLE_SLOT, hashx, PCI_EXP_SLTCAP_ABP, PCI_EXP_SLTCAP_MRLSP, PCI_EXP_SLTCAP_PCP, PCI_EXP_SLTCTL_ATTN_IND_OFF,
  PCI_EXP_SLTCTL_ATTN_IND_ON, PCI_EXP_SLTCTL_PWR_IND_BLINK, PCI_EXP_SLTCTL_PWR_IND_OFF, PCI_EXP_SLTCTL_PWR_IND_ON,
  PCI_EXP_SLTSTA_ABP, PCI_EXP_SLTSTA_DLLSC, PCI_EXP_SLTSTA_PDC, PCI_EXP_SLTSTA_PFD, SlotState,
} from './regs.js';

const SAFE_REMOVAL = true;
const SURPRISE_REMOVAL = false;

/** The IRQ thread: one pciehp_ist per wake-up, forever (stopped by cancelling the task). */
export function* irqThread(c: Controller): TaskBody<void> {
  for (;;) {
    yield* c.threadWait();
    yield* ist(c);
  }
}

/** pciehp_ist: take the pending events and act on them, button first. */
export function* ist(c: Controller): TaskBody<void> {
  c.istRunning = true;
  const events = c.pendingEvents;
  c.pendingEvents = 0;
  if (events) {
    if (events & PCI_EXP_SLTSTA_ABP) {
      c.info(`Slot(${c.name}): Attention button pressed`);
      yield* handleButtonPress(c);
    }
    if (events & PCI_EXP_SLTSTA_PFD) {
      c.info(`Slot(${c.name}): Power fault`);
      yield* c.setIndicators(PCI_EXP_SLTCTL_PWR_IND_OFF, PCI_EXP_SLTCTL_ATTN_IND_ON);
    }
    // A disable request wins over presence/link events (pciehp_ist).
    if (events & DISABLE_SLOT) yield* handleDisableRequest(c);
    else if (events & (PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_DLLSC)) yield* handlePresenceOrLinkChange(c, events);
  }
  c.istRunning = false;
  c.requester.wake();
}

/** pciehp_queue_pushbutton_work: the 5 s after a press are over. */
function buttonWork(c: Controller): void {
  c.buttonTimer = undefined;
  if (c.state === SlotState.BLINKINGOFF) c.request(DISABLE_SLOT);
  else if (c.state === SlotState.BLINKINGON) c.request(PCI_EXP_SLTSTA_PDC);
}

/**
 * pciehp_handle_button_press. The `ignore-unplug` guest policy drops presses while the slot
 * is on: the unplug request is never answered and the device stays, as with a guest that
 * ignores the button.
 */
export function* handleButtonPress(c: Controller): TaskBody<void> {
  switch (c.state) {
    case SlotState.OFF:
    case SlotState.ON:
      if (c.state === SlotState.ON) {
        if (c.guest.policy.name === 'ignore-unplug') return;
        c.state = SlotState.BLINKINGOFF;
        c.info(`Slot(${c.name}): Powering off due to button press`);
      } else {
        c.state = SlotState.BLINKINGON;
        // Linux 6.1 prints this one without the colon.
        c.info(`Slot(${c.name}) Powering on due to button press`);
      }
      yield* c.setIndicators(PCI_EXP_SLTCTL_PWR_IND_BLINK, PCI_EXP_SLTCTL_ATTN_IND_OFF);
      c.scheduleButtonWork(() => buttonWork(c));
      return;
    case SlotState.BLINKINGOFF:
    case SlotState.BLINKINGON:
      // A second press within the 5 s cancels the pending action.
      c.info(`Slot(${c.name}): Button cancel`);
      c.cancelButtonWork();
      if (c.state === SlotState.BLINKINGOFF) {
        c.state = SlotState.ON;
        yield* c.setIndicators(PCI_EXP_SLTCTL_PWR_IND_ON, PCI_EXP_SLTCTL_ATTN_IND_OFF);
      } else {
        c.state = SlotState.OFF;
        yield* c.setIndicators(PCI_EXP_SLTCTL_PWR_IND_OFF, PCI_EXP_SLTCTL_ATTN_IND_OFF);
      }
      c.info(`Slot(${c.name}): Action canceled due to button press`);
      return;
    default:
      c.info(`Slot(${c.name}): Ignoring invalid state ${hashx(c.state)}`);
  }
}

export function* handleDisableRequest(c: Controller): TaskBody<void> {
  if (c.state === SlotState.BLINKINGON || c.state === SlotState.BLINKINGOFF) c.cancelButtonWork();
  c.state = SlotState.POWEROFF;
  c.requestResult = yield* disableSlot(c, SAFE_REMOVAL);
}

/**
 * pciehp_handle_presence_or_link_change: an ON slot is always torn down first (the card may
 * be a different one); then an occupied slot is brought up. With QEMU, device_add latches
 * ABP together with PDC, so the button logic arms the 5 s timer and this cancels it at once.
 */
export function* handlePresenceOrLinkChange(c: Controller, events: number): TaskBody<void> {
  if (c.state === SlotState.BLINKINGOFF) c.cancelButtonWork();
  if (c.state === SlotState.ON || c.state === SlotState.BLINKINGOFF) {
    c.state = SlotState.POWEROFF;
    if (events & PCI_EXP_SLTSTA_DLLSC) c.info(`Slot(${c.name}): Link Down`);
    if (events & PCI_EXP_SLTSTA_PDC) c.info(`Slot(${c.name}): Card not present`);
    yield* disableSlot(c, SURPRISE_REMOVAL);
  }
  const present = c.cardPresent();
  const linkActive = c.checkLinkActive();
  if (present <= 0 && linkActive <= 0) {
    // 6.1.y stable ("Cancel bringup sequence if card is not present"): a blinking slot whose
    // card went away goes back to OFF.
    if (c.state === SlotState.BLINKINGON) {
      c.state = SlotState.OFF;
      c.cancelButtonWork();
      yield* c.setIndicators(PCI_EXP_SLTCTL_PWR_IND_OFF, undefined);
      c.info(`Slot(${c.name}): Card not present`);
    }
    return;
  }
  if (c.state === SlotState.BLINKINGON) c.cancelButtonWork();
  if (c.state === SlotState.OFF || c.state === SlotState.BLINKINGON) {
    c.state = SlotState.POWERON;
    if (present) c.info(`Slot(${c.name}): Card present`);
    if (linkActive) c.info(`Slot(${c.name}): Link Up`);
    c.requestResult = yield* enableSlot(c);
  }
}

/** pciehp_enable_slot: on failure a slot with a button has its power indicator turned off. */
function* enableSlot(c: Controller): TaskBody<number> {
  const ret = yield* enableSlotChecked(c);
  if (ret && c.has(PCI_EXP_SLTCAP_ABP)) yield* c.setIndicators(PCI_EXP_SLTCTL_PWR_IND_OFF, undefined);
  c.state = ret ? SlotState.OFF : SlotState.ON;
  return ret;
}

function* enableSlotChecked(c: Controller): TaskBody<number> {
  if (c.has(PCI_EXP_SLTCAP_MRLSP) && c.getLatchStatus()) {
    c.info(`Slot(${c.name}): Latch open`);
    return ENODEV;
  }
  if (c.has(PCI_EXP_SLTCAP_PCP) && c.getPowerStatus()) {
    c.info(`Slot(${c.name}): Already enabled`);
    return 0;
  }
  return yield* boardAdded(c);
}

/** board_added: power, blinking indicator, link, power-fault check, scan and bind, indicators on. */
function* boardAdded(c: Controller): TaskBody<number> {
  if (c.has(PCI_EXP_SLTCAP_PCP)) {
    const r = yield* c.powerOnSlot();
    if (r) return r;
  }
  yield* c.setIndicators(PCI_EXP_SLTCTL_PWR_IND_BLINK, undefined);
  let ret = yield* checkLinkStatus(c);
  if (!ret && (c.powerFaultDetected || c.queryPowerFault())) {
    c.info(`Slot(${c.name}): Power fault`);
    ret = EIO;
  }
  if (!ret) {
    ret = yield* configureDevice(c);
    if (ret === EEXIST) ret = 0;
    else if (ret) {
      const bus = c.port.subordinate!;
      c.info(`Cannot add device at ${bus.name}:00`);
    }
    if (!ret) {
      yield* c.setIndicators(PCI_EXP_SLTCTL_PWR_IND_ON, PCI_EXP_SLTCTL_ATTN_IND_OFF);
      return 0;
    }
  }
  yield* setSlotOff(c);
  return ret;
}

/** set_slot_off: power off, 1 s for the power to go, power indicator off + attention on. */
function* setSlotOff(c: Controller): TaskBody<void> {
  if (c.has(PCI_EXP_SLTCAP_PCP)) {
    yield* c.powerOffSlot();
    yield c.msleep(1000);
  }
  yield* c.setIndicators(PCI_EXP_SLTCTL_PWR_IND_OFF, PCI_EXP_SLTCTL_ATTN_IND_ON);
}

/** pciehp_disable_slot: refuses a slot already powered off; always ends in OFF. */
function* disableSlot(c: Controller, safe: boolean): TaskBody<number> {
  let ret = 0;
  if (c.has(PCI_EXP_SLTCAP_PCP) && !c.getPowerStatus()) {
    c.info(`Slot(${c.name}): Already disabled`);
    ret = EINVAL;
  } else yield* removeBoard(c, safe);
  c.state = SlotState.OFF;
  return ret;
}

/**
 * remove_board: unbind and remove, power off, 1 s, power indicator off. Against QEMU 7.2 the
 * last write (PCC off and PIC off) is the one that detaches the device (DEVICE_DELETED).
 */
function* removeBoard(c: Controller, safe: boolean): TaskBody<void> {
  unconfigureDevice(c, safe);
  if (c.has(PCI_EXP_SLTCAP_PCP)) {
    yield* c.powerOffSlot();
    yield c.msleep(1000);
    // Link and presence changes caused by the power-off are ours.
    c.pendingEvents &= ~(PCI_EXP_SLTSTA_DLLSC | PCI_EXP_SLTSTA_PDC);
  }
  yield* c.setIndicators(PCI_EXP_SLTCTL_PWR_IND_OFF, undefined);
}

/** Waits until the IRQ thread ran and nothing is pending (wait_event on ctrl->requester). */
function* waitRequester(c: Controller): TaskBody<void> {
  while (c.pendingEvents || c.istRunning) yield c.sched.wait(c.requester);
}

/** pciehp_sysfs_enable_slot (`echo 1 > power`). */
export function* sysfsEnableSlot(c: Controller): TaskBody<number> {
  switch (c.state) {
    case SlotState.BLINKINGON:
    case SlotState.OFF:
      // The thread does nothing if the card vanished before it ran: -ENODEV unless it acts.
      c.requestResult = ENODEV;
      c.request(PCI_EXP_SLTSTA_PDC);
      yield* waitRequester(c);
      return c.requestResult;
    case SlotState.POWERON:
      c.info(`Slot(${c.name}): Already in powering on state`);
      break;
    case SlotState.BLINKINGOFF:
    case SlotState.ON:
    case SlotState.POWEROFF:
      c.info(`Slot(${c.name}): Already enabled`);
      break;
    default:
      c.info(`Slot(${c.name}): Invalid state ${hashx(c.state)}`);
  }
  return ENODEV;
}

/** pciehp_sysfs_disable_slot (`echo 0 > power`): no 5 s wait, straight to the safe disable. */
export function* sysfsDisableSlot(c: Controller): TaskBody<number> {
  switch (c.state) {
    case SlotState.BLINKINGOFF:
    case SlotState.ON:
      c.request(DISABLE_SLOT);
      yield* waitRequester(c);
      return c.requestResult;
    case SlotState.POWEROFF:
      c.info(`Slot(${c.name}): Already in powering off state`);
      break;
    case SlotState.BLINKINGON:
    case SlotState.OFF:
    case SlotState.POWERON:
      c.info(`Slot(${c.name}): Already disabled`);
      break;
    default:
      c.info(`Slot(${c.name}): Invalid state ${hashx(c.state)}`);
  }
  return ENODEV;
}
