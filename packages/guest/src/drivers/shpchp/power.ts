/**
 * Enabling and disabling a slot (drivers/pci/hotplug/shpchp_ctrl.c shpchp_enable_slot,
 * board_added, shpchp_disable_slot, remove_board; spec/guest-shpchp.md §7–§8): the checks,
 * power-only, the bus speed, enable with the power indicator blinking, 1 s, the scan,
 * power indicator on; and the way back.
 */
import type { TaskBody } from '../../os/sched.js';
import type { Slot } from './ctrl.js';
import { hex } from './hpc.js';
import { configureDevice, unconfigureDevice } from './pci.js';
import * as S from './regs.js';

/** shpchp_enable_slot: 0 or an error. */
export function* enableSlot(slot: Slot): TaskBody<number> {
  const c = slot.ctrl;
  yield* c.critSect.lock();
  try {
    if (!slot.adapterStatus()) return refuse(slot, `No adapter on slot(${slot.name})`);
    if (slot.latchStatus()) return refuse(slot, `Latch open on slot(${slot.name})`);
    if (slot.powerStatus()) return refuse(slot, `Already enabled on slot(${slot.name})`);
    slot.isABoard = 1;
    slot.presenceSave = slot.adapterStatus();
    slot.pwrSave = slot.powerStatus();
    c.dbg(`shpchp_enable_slot: p_slot->pwr_save ${hex(slot.pwrSave)}`);
    slot.latchStatus();
    const rc = yield* boardAdded(slot);
    if (rc) {
      slot.presenceSave = slot.adapterStatus();
      slot.latchStatus();
    }
    slot.updateSlotInfo();
    return rc;
  } finally {
    c.critSect.unlock();
  }
}

function refuse(slot: Slot, text: string): number {
  slot.ctrl.info(text);
  return -19;
}

/** board_added. */
function* boardAdded(slot: Slot): TaskBody<number> {
  const c = slot.ctrl;
  const hpSlot = slot.device - c.slotDeviceOffset;
  c.dbg(`board_added: p_slot->device, slot_offset, hp_slot = ${slot.device}, ${c.slotDeviceOffset} ,${hpSlot}`);
  if (yield* c.writeCmd(slot.hpSlot, S.SET_SLOT_PWR)) {
    c.err('hpc_power_on_slot: Write command failed!');
    c.err('Failed to power on slot');
    return -1;
  }
  const asp = adapterSpeed(slot);
  if (asp === undefined) {
    c.err("Can't get adapter speed or bus mode mismatch");
    return S.WRONG_BUS_FREQUENCY;
  }
  const bsp = c.curBusSpeed;
  const msp = c.maxBusSpeed;
  const notEmpty = (c.dev.subordinate?.devices.length ?? 0) > 0 ? 1 : 0;
  c.dbg(`board_added: slots_not_empty ${notEmpty}, adapter_speed ${asp}, bus_speed ${bsp}, max_bus_speed ${msp}`);
  const rcSpeed = yield* fixBusSpeed(slot, notEmpty, asp, bsp, msp);
  if (rcSpeed) return rcSpeed;
  if (yield* c.writeCmd(slot.hpSlot, S.SET_SLOT_ENABLE | S.SET_PWR_BLINK | S.SET_ATTN_OFF)) {
    c.err('hpc_slot_enable: Write command failed!');
    c.err('Issue of Slot Enable command failed');
    return -1;
  }
  yield c.jiffies.msleep(S.SLOT_ENABLE_SETTLE_MS);
  c.dbg(`board_added: slot status = ${hex(slot.status)}`);
  let failed = false;
  if (slot.status === 0xff) {
    c.dbg('board_added: Power fault');
    slot.status = 0;
    failed = true;
  } else if (yield* configureDevice(slot)) {
    c.err(`Cannot add device at ${hex4(c.dev.bus.domain)}:${hex2(slot.busNr)}:${hex2(slot.device)}`);
    failed = true;
  }
  if (!failed) {
    slot.status = 0;
    slot.isABoard = 1;
    slot.pwrSave = 1;
    yield* c.writeCmd(slot.hpSlot, S.SET_PWR_ON);
    return 0;
  }
  const rc = yield* c.writeCmd(slot.hpSlot, S.SET_SLOT_DISABLE | S.SET_PWR_OFF | S.SET_ATTN_ON);
  if (rc) {
    c.err('hpc_slot_disable: Write command failed!');
    c.err('board_added: Issue of Slot Disable command failed');
  }
  return rc;
}

/** hpc_get_adapter_speed: the slot's PCI-X capability field under the programming interface. */
function adapterSpeed(slot: Slot): number | undefined {
  const c = slot.ctrl;
  const reg = slot.reg();
  const m66 = reg & S.MHZ66_CAP ? 1 : 0;
  const pi = c.readb(S.PROG_INTERFACE);
  if (pi !== 1 && pi !== 2) return undefined;
  const pcix = (reg & (pi === 1 ? S.PCIX_CAP_MASK_PI1 : S.PCIX_CAP_MASK_PI2)) >>> S.PCIX_CAP_SHIFT;
  c.dbg(`hpc_get_adapter_speed: slot_reg = ${hex(reg)}, pcix_cap = ${hex(pcix)}, m66_cap = ${hex(m66)}`);
  const speed = [m66 ? S.PCI_SPEED_66MHz : S.PCI_SPEED_33MHz, S.PCI_SPEED_66MHz_PCIX, undefined, S.PCI_SPEED_133MHz_PCIX, S.PCI_SPEED_133MHz_PCIX_266, S.PCI_SPEED_133MHz_PCIX_533][pcix];
  c.dbg(`Adapter speed = ${speed ?? S.PCI_SPEED_UNKNOWN}`);
  return speed;
}

/** fix_bus_speed: a busy bus must already be fast enough; an empty one is set to min(adapter, max). */
function* fixBusSpeed(slot: Slot, notEmpty: number, asp: number, bsp: number, msp: number): TaskBody<number> {
  const c = slot.ctrl;
  if (notEmpty) {
    if (asp >= bsp) return 0;
    c.err(`Speed of bus ${hex(bsp)} and adapter ${hex(asp)} mismatch`);
    return S.WRONG_BUS_FREQUENCY;
  }
  const want = asp < msp ? asp : msp;
  if (bsp === want) return 0;
  c.dbg(`Change speed to ${want}`);
  const cmd = [S.SETA_PCI_33MHZ, S.SETA_PCI_66MHZ, S.SETA_PCIX_66MHZ, S.SETA_PCIX_100MHZ, S.SETA_PCIX_133MHZ][want];
  if (cmd === undefined || (yield* c.writeCmd(0, cmd))) {
    c.err('change_bus_speed: Issue of set bus speed mode command failed');
    return S.WRONG_BUS_FREQUENCY;
  }
  c.curBusSpeed = want;
  return 0;
}

/** shpchp_disable_slot: 0 or an error. */
export function* disableSlot(slot: Slot): TaskBody<number> {
  const c = slot.ctrl;
  yield* c.critSect.lock();
  try {
    if (!slot.adapterStatus()) return refuse(slot, `No adapter on slot(${slot.name})`);
    if (slot.latchStatus()) return refuse(slot, `Latch open on slot(${slot.name})`);
    if (!slot.powerStatus()) return refuse(slot, `Already disabled on slot(${slot.name})`);
    const rc = yield* removeBoard(slot);
    slot.updateSlotInfo();
    return rc;
  } finally {
    c.critSect.unlock();
  }
}

/** remove_board: devices out, then slot disable (QEMU detaches them here) and attention off. */
function* removeBoard(slot: Slot): TaskBody<number> {
  const c = slot.ctrl;
  unconfigureDevice(slot);
  c.dbg(`remove_board: hp_slot = ${slot.device - c.slotDeviceOffset}`);
  if (slot.isABoard) slot.status = 0x01;
  let rc = yield* c.writeCmd(slot.hpSlot, S.SET_SLOT_DISABLE | S.SET_PWR_OFF | S.SET_ATTN_ON);
  if (rc) {
    c.err('hpc_slot_disable: Write command failed!');
    c.err('remove_board: Issue of Slot Disable command failed');
    return rc;
  }
  rc = yield* c.writeCmd(slot.hpSlot, S.SET_ATTN_OFF);
  if (rc) {
    c.err('Issue of Set Attention command failed');
    return rc;
  }
  slot.pwrSave = 0;
  slot.isABoard = 0;
  return 0;
}

const hex2 = (v: number): string => v.toString(16).padStart(2, '0');
const hex4 = (v: number): string => v.toString(16).padStart(4, '0');
