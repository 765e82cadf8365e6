/**
 * @plugboard/hotplug-pcie: native PCIe hotplug of root ports and switch downstream ports as
 * QEMU 7.2 implements it (hw/pci/pcie.c, hw/pci/pcie_port.c; spec/pcie-slot.md). The
 * catalog types deriving from `pcie-slot` get their slot model through a type extension,
 * the same door a third-party plugin would use.
 */
import { definePlugin, type QObject } from '@plugboard/qdev';
import { PCIBridge, caps, regs, type PCIDevice } from '@plugboard/pci-core';
import { PcieSlot } from './slot.js';
import { PCI_EXP_SLTCAP_PCP, PCI_EXP_SLTCTL_PCC } from './regs.js';
import { aerHmpCommands, attachAer } from './aer/index.js';

export * as pcieRegs from './regs.js';
export * from './regs.js';
export { PcieSlot, sltctlPoweredOff } from './slot.js';
export { hotplugInfo, ledStatus, HOTPLUG_TYPE_PCIE_NATIVE, type DeviceAndPath, type HotplugInfoInput, type LedStatus } from './query.js';
export { initSlotLink, linkStatusFollowsChild, syncLinkStatus } from './link.js';
export { deliverHotplugInterrupt, rootPortIntxAfterWrite, hasIntxPin } from './irq.js';
export * from './aer/index.js';

/** The abstract QOM type every slot-carrying port derives from (hw/pci/pcie_port.c). */
export const TYPE_PCIE_SLOT = 'pcie-slot';

const slots = new WeakMap<PCIDevice, PcieSlot>();

/** Gives a port its slot model (idempotent). Exported for ports that are not `pcie-slot` types. */
export function attachPcieSlot(port: PCIBridge): PcieSlot {
  let slot = slots.get(port);
  if (!slot) {
    slot = new PcieSlot(port);
    slots.set(port, slot);
    port.attachModel(slot);
  }
  return slot;
}

/** The slot model of a port, if it has one. */
export function pcieSlotOf(port: PCIDevice): PcieSlot | undefined {
  return slots.get(port);
}

/**
 * pcie_cap_slot_enable_power for q35's ACPI hotplug (pass it as AcpiPciHotplug's
 * `slotPowerOn`): SLTCTL.PCC := on when the slot has a power controller, with no other side
 * effect, exactly like QEMU's raw update before the ACPI UP event.
 */
export function slotPowerOn(port: PCIDevice): void {
  const slot = slots.get(port);
  if (slot) {
    slot.enablePower();
    return;
  }
  const exp = port.caps.get(regs.PCI_CAP_ID_EXP);
  if (exp === undefined || !(port.config.get32(exp + caps.PCI_EXP_SLTCAP) & PCI_EXP_SLTCAP_PCP)) return;
  port.config.set16(exp + caps.PCI_EXP_SLTCTL, port.config.get16(exp + caps.PCI_EXP_SLTCTL) & ~PCI_EXP_SLTCTL_PCC);
}

export const pcieHotplugPlugin = definePlugin({
  name: '@plugboard/hotplug-pcie',
  extensions: [
    {
      type: TYPE_PCIE_SLOT,
      extend: (obj: QObject) => {
        if (obj instanceof PCIBridge) attachPcieSlot(obj);
      },
    },
  ],
  hmpCommands: aerHmpCommands,
  onMachine: attachAer,
});

export default pcieHotplugPlugin;
