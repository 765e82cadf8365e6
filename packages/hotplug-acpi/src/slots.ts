/**
 * Slot helpers shared by the controller: which functions sit in a slot, which may be
 * removed, and the q35 slot power fixup (hw/acpi/pcihp.c, hw/pci/pcie.c).
 */
import { PCIBus, PCIDevice, caps, regs } from '@plugboard/pci-core';
import { PCI_EXP_SLTCAP_PCP, PCI_EXP_SLTCTL_PCC } from './regs.js';

/** acpi_pcihp_pc_no_hotplug: cold-plugged bridges and non-hotpluggable classes stay. */
export function noHotplug(dev: PCIDevice): boolean {
  return (dev.isBridge && !dev.hotplugged) || !dev.type.hotpluggable;
}

export function secondaryBus(dev: PCIDevice): PCIBus | undefined {
  if (!dev.isBridge) return undefined;
  return dev.childBuses.find((b): b is PCIBus => b instanceof PCIBus);
}

/** Functions in `slot`, in QEMU's bus-children order (newest first). */
export function devicesInSlot(bus: PCIBus, slot: number): PCIDevice[] {
  return [...bus.children()].reverse().filter((d): d is PCIDevice => d instanceof PCIDevice && d.slot === slot);
}

/**
 * pcie_cap_slot_enable_power: a raw config update (SLTCTL.PCC := on) without the power
 * change side effects, done when SLTCAP says a power controller is present.
 */
export function enableSlotPower(port: PCIDevice): void {
  const exp = port.caps.get(regs.PCI_CAP_ID_EXP);
  if (exp === undefined) return;
  const c = port.config;
  if (!(c.get32(exp + caps.PCI_EXP_SLTCAP) & PCI_EXP_SLTCAP_PCP)) return;
  c.set16(exp + caps.PCI_EXP_SLTCTL, c.get16(exp + caps.PCI_EXP_SLTCTL) & ~PCI_EXP_SLTCTL_PCC);
}
