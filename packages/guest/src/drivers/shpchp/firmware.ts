/**
 * What shpchp asks of the platform: permission to drive the SHPC (drivers/pci/hotplug/
 * acpi_pcihp.c acpi_get_hp_hw_control_from_firmware, spec/guest-shpchp.md §1), and the
 * global /sys/bus/pci/slots name space its slots join (drivers/pci/slot.c make_slot_name).
 */
import { caps as C } from '@plugboard/pci-core';
import type { LinuxGuest } from '../../os/linux.js';
import type { PciDev } from '../../os/pci-dev.js';

/**
 * - `osc`: the host bridge's _OSC was evaluated and granted SHPCHotplug (QEMU q35: its _OSC
 *   grants SHPC control with or without ACPI PCI hotplug; recorded `OS now controls
 *   [PCIeHotplug SHPCHotplug ...]`). Allowed, nothing printed.
 * - `oshp`: no _OSC (QEMU pc: `not requesting OS control`); Linux tries OSHP on the bridge's
 *   ACPI node and its ancestors up to the root bridge. QEMU's DSDT has no OSHP: refused,
 *   after one line per node tried.
 * - `none`: no ACPI host bridge (non-ACPI platform): allowed.
 */
export type ShpcControl = 'osc' | 'oshp' | 'none';

const PCI_VENDOR_ID_INTEL = 0x8086;
/** i440FX host bridge (QEMU pc) and Q35 MCH (QEMU q35), at 00:00.0. */
const PCI_DEVICE_ID_I440FX = 0x1237;
const PCI_DEVICE_ID_Q35_MCH = 0x29c0;
/** ACPI names QEMU gives the root bridge and its devices (hw/i386/acpi-build.c: S%.02X, padded). */
const ACPI_ROOT_BRIDGE = '\\_SB_.PCI0';

/**
 * The default answer for a QEMU x86 guest, read from the chipset at 00:00.0 of domain 0
 * through the guest's own PCI scan: i440FX -> `oshp`, Q35 MCH -> `osc`, anything else
 * (no ACPI host bridge, e.g. sPAPR) -> `none`.
 */
export function detectControl(guest: LinuxGuest): ShpcControl {
  const host = guest.pci.roots.find((r) => r.domain === 0)?.devices.find((d) => d.devfn === 0);
  if (host?.vendor === PCI_VENDOR_ID_INTEL && host.device === PCI_DEVICE_ID_I440FX) return 'oshp';
  if (host?.vendor === PCI_VENDOR_ID_INTEL && host.device === PCI_DEVICE_ID_Q35_MCH) return 'osc';
  return 'none';
}

/** QEMU's device name for devfn: `S` + two upper-case hex digits, padded to 4 with `_`. */
const acpiDeviceName = (devfn: number): string => `S${devfn.toString(16).toUpperCase().padStart(2, '0')}_`;

/**
 * ACPI nodes tried for OSHP, bridge first, up to the root bridge. QEMU describes a bridge
 * on the root bus as `\_SB_.PCI0.Sxx_` (recorded `\_SB_.PCI0.S10_` for 00:02.0) and, with
 * ACPI bridge hotplug, nested bridges inside their parent's node.
 */
export function oshpPaths(bridge: PciDev): string[] {
  const chain: PciDev[] = [];
  for (let d: PciDev | undefined = bridge; d; d = d.upstream) chain.unshift(d);
  const paths: string[] = [];
  let path = ACPI_ROOT_BRIDGE;
  for (const d of chain) {
    path = `${path}.${acpiDeviceName(d.devfn)}`;
    paths.unshift(path);
  }
  return [...paths, ACPI_ROOT_BRIDGE];
}

/**
 * acpi_get_hp_hw_control_from_firmware: true when shpchp may drive the bridge's SHPC.
 * Prints what Linux prints against the bridge (`shpchp BDF: ...`).
 */
export function getHotplugControl(guest: LinuxGuest, bridge: PciDev, control: ShpcControl, driver: string): boolean {
  if (control !== 'oshp') return true;
  for (const p of oshpPaths(bridge)) guest.log(driver, bridge, `Requesting control of SHPC hotplug via OSHP (${p})`);
  guest.log(driver, bridge, 'Cannot get control of SHPC hotplug');
  return false;
}

// ---- /sys/bus/pci/slots -----------------------------------------------------------------

const slotNames = new WeakMap<LinuxGuest, Set<string>>();
const PCI_EXP_SLTCAP_PSN_SHIFT = 19;

/**
 * Names taken in the guest's slot name space: ours, plus those of the ports pciehp claimed
 * (its slot is named after the Physical Slot Number; pciehp binds before shpchp, recorded:
 * a pcie-pci-bridge behind root port `slot=1` gets `1-1`).
 */
function takenNames(guest: LinuxGuest): Set<string> {
  let own = slotNames.get(guest);
  if (!own) slotNames.set(guest, (own = new Set()));
  const taken = new Set(own);
  for (const port of guest.ports()) {
    if (port.hotplugDriver === 'pciehp') taken.add(String(port.pcieRead32(C.PCI_EXP_SLTCAP) >>> PCI_EXP_SLTCAP_PSN_SHIFT));
  }
  return taken;
}

/** make_slot_name: `name`, else `name-1`, `name-2`... whichever is free; registers it. */
export function registerSlotName(guest: LinuxGuest, name: string): string {
  const taken = takenNames(guest);
  let candidate = name;
  for (let dup = 1; taken.has(candidate); dup++) candidate = `${name}-${dup}`;
  slotNames.get(guest)!.add(candidate);
  return candidate;
}

export function releaseSlotName(guest: LinuxGuest, name: string): void {
  slotNames.get(guest)?.delete(name);
}
