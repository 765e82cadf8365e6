/**
 * HotplugInfo for `x-query-hotplug` on a native PCIe slot, as proposed in "[PATCH v8]
 * qapi: add DEVICE_ON and query-hotplug infrastructure" (spec/pcie-slot.md §8). Members are
 * inserted in QAPI schema order: type, bus, addr (SHPC only), child, device-on, power-led,
 * attention-led, then the pcie-native variant member power-on.
 */
import {
  PCI_EXP_SLTCAP_AIP, PCI_EXP_SLTCAP_PIP, PCI_EXP_SLTCTL_AIC, PCI_EXP_SLTCTL_ATTN_IND_SHIFT, PCI_EXP_SLTCTL_PCC, PCI_EXP_SLTCTL_PIC,
  PCI_EXP_SLTCTL_PWR_IND_SHIFT, PCI_EXP_SLTCTL_PWR_ON,
} from './regs.js';

/** QAPI `LedStatus`. */
export type LedStatus = 'on' | 'blinking' | 'off';

/** QAPI `DeviceAndPath`: `device` omitted for a device without id. */
export interface DeviceAndPath {
  device?: string;
  path: string;
}

export const HOTPLUG_TYPE_PCIE_NATIVE = 'pcie-native';

/** Indicator field values of Slot Control (AIC, PIC): 1 on, 2 blink, 3 off, 0 reserved. */
const INDICATOR_ON = 1;
const INDICATOR_BLINK = 2;
const INDICATOR_OFF = 3;

/** An indicator field as LedStatus; the reserved value 0 has none (the member is left out). */
export function ledStatus(field: number): LedStatus | undefined {
  switch (field) {
    case INDICATOR_ON:
      return 'on';
    case INDICATOR_BLINK:
      return 'blinking';
    case INDICATOR_OFF:
      return 'off';
    default:
      return undefined;
  }
}

export interface HotplugInfoInput {
  /** The port (id and canonical path). */
  bus: DeviceAndPath;
  /** The plugged device asked about. */
  child: DeviceAndPath;
  /** X_DEVICE_ON was sent for the child. */
  deviceOn: boolean;
  sltcap: number;
  sltctl: number;
}

export function hotplugInfo(i: HotplugInfoInput): Record<string, unknown> {
  const info: Record<string, unknown> = { type: HOTPLUG_TYPE_PCIE_NATIVE, bus: i.bus, child: i.child, 'device-on': i.deviceOn };
  const power = i.sltcap & PCI_EXP_SLTCAP_PIP ? ledStatus((i.sltctl & PCI_EXP_SLTCTL_PIC) >>> PCI_EXP_SLTCTL_PWR_IND_SHIFT) : undefined;
  if (power) info['power-led'] = power;
  const attention = i.sltcap & PCI_EXP_SLTCAP_AIP ? ledStatus((i.sltctl & PCI_EXP_SLTCTL_AIC) >>> PCI_EXP_SLTCTL_ATTN_IND_SHIFT) : undefined;
  if (attention) info['attention-led'] = attention;
  info['power-on'] = (i.sltctl & PCI_EXP_SLTCTL_PCC) === PCI_EXP_SLTCTL_PWR_ON;
  return info;
}
