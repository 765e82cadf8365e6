/**
 * HotplugInfo of an SHPC slot for `x-query-hotplug` and the X_DEVICE_ON condition, as the
 * unmerged "[PATCH v8] qapi: add DEVICE_ON and query-hotplug infrastructure" series defines
 * them (spec/pcie-slot.md §8, spec/shpc.md §8). Members are inserted in QAPI schema order:
 * type, bus, addr, child, device-on, power-led, attention-led, then the shpc variant's
 * slot-state.
 */
import type { Device } from '@plugboard/qdev';
import { SHPC_LED_BLINK, SHPC_LED_OFF, SHPC_LED_ON, SHPC_STATE_DISABLED, SHPC_STATE_ENABLED, SHPC_STATE_PWRONLY } from './regs.js';

export const HOTPLUG_TYPE_SHPC = 'shpc';
export const EVENT_X_DEVICE_ON = 'X_DEVICE_ON';

/** QAPI `LedStatus`. */
export type LedStatus = 'on' | 'blinking' | 'off';
/** QAPI `HotplugSHPCSlotState`. */
export type ShpcSlotState = 'power-only' | 'enabled' | 'disabled';

/** QAPI `DeviceAndPath`: `device` left out for a device without id. */
export interface DeviceAndPath {
  device?: string;
  path: string;
}

export function deviceAndPath(dev: Device): DeviceAndPath {
  const path = dev.realizedPath ?? dev.canonicalPath();
  return dev.id !== undefined ? { device: dev.id, path } : { path };
}

/** An indicator field as LedStatus; 0 ("no change" / no information) has none. */
export function ledStatus(field: number): LedStatus | undefined {
  if (field === SHPC_LED_ON) return 'on';
  if (field === SHPC_LED_BLINK) return 'blinking';
  if (field === SHPC_LED_OFF) return 'off';
  return undefined;
}

export function slotStateName(state: number): ShpcSlotState | undefined {
  if (state === SHPC_STATE_PWRONLY) return 'power-only';
  if (state === SHPC_STATE_ENABLED) return 'enabled';
  if (state === SHPC_STATE_DISABLED) return 'disabled';
  return undefined;
}

/** The series' "slot is on": enabled, power indicator on, attention indicator off. */
export function slotIsOn(s: { state: number; power: number; attention: number }): boolean {
  return s.state === SHPC_STATE_ENABLED && s.power === SHPC_LED_ON && s.attention === SHPC_LED_OFF;
}

export interface ShpcHotplugInfoInput {
  bridge: Device;
  child: Device;
  /** PCI device number of the slot (its `addr`, printed in decimal). */
  pciSlot: number;
  deviceOn: boolean;
  state: number;
  power: number;
  attention: number;
}

export function shpcHotplugInfo(i: ShpcHotplugInfoInput): Record<string, unknown> {
  const info: Record<string, unknown> = {
    type: HOTPLUG_TYPE_SHPC,
    bus: deviceAndPath(i.bridge),
    addr: String(i.pciSlot),
    child: deviceAndPath(i.child),
    'device-on': i.deviceOn,
  };
  const power = ledStatus(i.power);
  if (power) info['power-led'] = power;
  const attention = ledStatus(i.attention);
  if (attention) info['attention-led'] = attention;
  const state = slotStateName(i.state);
  if (state) info['slot-state'] = state;
  return info;
}
