/**
 * SHPC commands as QEMU 7.2 executes them (hw/pci/shpc.c shpc_command, shpc_slot_command;
 * spec/shpc.md §4): synchronously, from the write that touched the command register, so
 * Busy is never seen; Command Completion Detected is set afterwards whatever the outcome.
 */
import type { ShpcRegisters } from './registers.js';
import {
  SHPC_CMD_CODE, SHPC_CMD_ENABLE_ALL, SHPC_CMD_POWER_ONLY_ALL, SHPC_CMD_SET_BUS_SPEED_FIRST, SHPC_CMD_SET_BUS_SPEED_LAST,
  SHPC_CMD_SLOT_OP_MAX, SHPC_CMD_STATUS, SHPC_CMD_STATUS_ALL, SHPC_CMD_STATUS_INVALID_CMD, SHPC_CMD_STATUS_INVALID_MODE, SHPC_CMD_TRGT,
  SHPC_CMD_TRGT_MAX, SHPC_CMD_TRGT_MIN, SHPC_CMD_DETECTED, SHPC_IDX_TO_LOGICAL, SHPC_LED_NO, SHPC_LED_OFF, SHPC_LED_ON, SHPC_LOGICAL_TO_IDX,
  SHPC_SEC_BUS, SHPC_SEC_BUS_33, SHPC_SEC_BUS_MASK, SHPC_SERR_INT, SHPC_SLOT_ATTN_LED_MASK, SHPC_SLOT_ATTN_LED_SHIFT,
  SHPC_SLOT_EVENT_MRL, SHPC_SLOT_EVENT_PRESENCE, SHPC_SLOT_PWR_LED_MASK, SHPC_SLOT_PWR_LED_SHIFT, SHPC_SLOT_STATE_MASK,
  SHPC_SLOT_STATE_SHIFT, SHPC_SLOT_STATUS_MRL_OPEN, SHPC_SLOT_STATUS_PRSNT_EMPTY, SHPC_SLOT_STATUS_PRSNT_MASK, SHPC_STATE_DISABLED,
  SHPC_STATE_ENABLED, SHPC_STATE_NO, SHPC_STATE_PWRONLY,
} from './regs.js';

/** What a command needs of its controller. */
export interface CommandHost {
  readonly regs: ShpcRegisters;
  /** shpc_free_devices_in_slot: unplug every function of slot index `i` (DEVICE_DELETED). */
  freeDevicesInSlot(i: number): void;
  /**
   * A slot operation was accepted for slot index `i` with the (state, power, attention) it
   * asked for; called after the registers changed (X_DEVICE_ON bookkeeping).
   */
  slotOperation?(i: number, requested: { state: number; power: number; attention: number }, before: SlotSnapshot): void;
}

/** A slot's state and LEDs before an operation. */
export interface SlotSnapshot {
  state: number;
  power: number;
  attention: number;
}

export function slotSnapshot(regs: ShpcRegisters, i: number): SlotSnapshot {
  return { state: regs.status(i, SHPC_SLOT_STATE_MASK), power: regs.status(i, SHPC_SLOT_PWR_LED_MASK), attention: regs.status(i, SHPC_SLOT_ATTN_LED_MASK) };
}

function invalidCommand(regs: ShpcRegisters): void {
  regs.set16(SHPC_CMD_STATUS, regs.get16(SHPC_CMD_STATUS) | SHPC_CMD_STATUS_INVALID_CMD);
}

/** shpc_set_sec_bus_speed: only 33 MHz conventional exists; anything else is an invalid mode. */
export function setSecondaryBusSpeed(regs: ShpcRegisters, speed: number): void {
  if (speed === SHPC_SEC_BUS_33) {
    regs.set8(SHPC_SEC_BUS, (regs.get8(SHPC_SEC_BUS) & ~SHPC_SEC_BUS_MASK) | speed);
    return;
  }
  regs.set16(SHPC_CMD_STATUS, regs.get16(SHPC_CMD_STATUS) | SHPC_CMD_STATUS_INVALID_MODE);
}

/**
 * shpc_slot_command (7.2). LEDs change as asked; the slot state changes only from disabled
 * to power-only/enabled and from power-only/enabled to disabled. Power-only -> enabled is
 * accepted but leaves the state alone (recorded: Linux's 0x01, 0x3a, 0x04 leave slot
 * register 0x..35, power-only). Disabling a slot whose power LED ends up off removes its
 * functions and reports the card gone (MRL open, empty, MRL and presence events).
 */
export function slotCommand(host: CommandHost, target: number, state: number, power: number, attention: number): void {
  const regs = host.regs;
  const i = SHPC_LOGICAL_TO_IDX(target);
  if (target < SHPC_CMD_TRGT_MIN || i >= regs.nslots) return invalidCommand(regs);
  const before = slotSnapshot(regs, i);
  const current = before.state;
  if (current === SHPC_STATE_ENABLED && state === SHPC_STATE_PWRONLY) return invalidCommand(regs);
  if (power !== SHPC_LED_NO) regs.setStatus(i, power, SHPC_SLOT_PWR_LED_MASK);
  if (attention !== SHPC_LED_NO) regs.setStatus(i, attention, SHPC_SLOT_ATTN_LED_MASK);
  if (current === SHPC_STATE_DISABLED && (state === SHPC_STATE_PWRONLY || state === SHPC_STATE_ENABLED)) {
    regs.setStatus(i, state, SHPC_SLOT_STATE_MASK);
  } else if ((current === SHPC_STATE_ENABLED || current === SHPC_STATE_PWRONLY) && state === SHPC_STATE_DISABLED) {
    regs.setStatus(i, state, SHPC_SLOT_STATE_MASK);
    // QEMU looks at the power LED to decide whether the device may go.
    if (regs.status(i, SHPC_SLOT_PWR_LED_MASK) === SHPC_LED_OFF) {
      host.freeDevicesInSlot(i);
      regs.setStatus(i, 1, SHPC_SLOT_STATUS_MRL_OPEN);
      regs.setStatus(i, SHPC_SLOT_STATUS_PRSNT_EMPTY, SHPC_SLOT_STATUS_PRSNT_MASK);
      regs.addEvents(i, SHPC_SLOT_EVENT_MRL | SHPC_SLOT_EVENT_PRESENCE);
    }
  }
  host.slotOperation?.(i, { state, power, attention }, before);
}

/** Power-only all / enable all: refused if any slot is enabled; MRL-closed slots get `state` + power LED on. */
function allSlots(host: CommandHost, state: number): void {
  const regs = host.regs;
  for (let i = 0; i < regs.nslots; i++) if (regs.status(i, SHPC_SLOT_STATE_MASK) === SHPC_STATE_ENABLED) return invalidCommand(regs);
  for (let i = 0; i < regs.nslots; i++) {
    const target = SHPC_IDX_TO_LOGICAL(i);
    if (!regs.status(i, SHPC_SLOT_STATUS_MRL_OPEN)) slotCommand(host, target, state, SHPC_LED_ON, SHPC_LED_NO);
    else slotCommand(host, target, SHPC_STATE_NO, SHPC_LED_OFF, SHPC_LED_NO);
  }
}

/** shpc_command: runs the code in the command register, then flags Command Completion Detected. */
export function runCommand(host: CommandHost): void {
  const regs = host.regs;
  const code = regs.get8(SHPC_CMD_CODE);
  // The previous command's status goes first.
  regs.set16(SHPC_CMD_STATUS, regs.get16(SHPC_CMD_STATUS) & ~SHPC_CMD_STATUS_ALL);
  if (code <= SHPC_CMD_SLOT_OP_MAX) {
    const target = regs.get8(SHPC_CMD_TRGT) & SHPC_CMD_TRGT_MAX;
    slotCommand(
      host, target,
      (code & SHPC_SLOT_STATE_MASK) >> SHPC_SLOT_STATE_SHIFT,
      (code & SHPC_SLOT_PWR_LED_MASK) >> SHPC_SLOT_PWR_LED_SHIFT,
      (code & SHPC_SLOT_ATTN_LED_MASK) >> SHPC_SLOT_ATTN_LED_SHIFT,
    );
  } else if (code >= SHPC_CMD_SET_BUS_SPEED_FIRST && code <= SHPC_CMD_SET_BUS_SPEED_LAST) {
    setSecondaryBusSpeed(regs, code & SHPC_SEC_BUS_MASK);
  } else if (code === SHPC_CMD_POWER_ONLY_ALL) {
    allSlots(host, SHPC_STATE_PWRONLY);
  } else if (code === SHPC_CMD_ENABLE_ALL) {
    allSlots(host, SHPC_STATE_ENABLED);
  } else {
    invalidCommand(regs);
  }
  regs.set32(SHPC_SERR_INT, regs.get32(SHPC_SERR_INT) | SHPC_CMD_DETECTED);
}
