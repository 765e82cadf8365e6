/**
 * How a port delivers its hot-plug interrupt (hw/pci/pcie.c hotplug_event_notify) and the
 * AER root-port rule that also drives its INTx line (hw/pci/pcie_aer.c
 * pcie_aer_root_write_config), spec/pcie-slot.md §5.
 */
import { caps, regs, type PCIDevice } from '@plugboard/pci-core';
import {
  PCI_ERR_ROOT_CMD_COR_EN, PCI_ERR_ROOT_CMD_FATAL_EN, PCI_ERR_ROOT_CMD_NONFATAL_EN, PCI_ERR_ROOT_COR_RCV, PCI_ERR_ROOT_FATAL_RCV,
  PCI_ERR_ROOT_NONFATAL_RCV, PCI_EXP_FLAGS_IRQ, PCI_EXP_FLAGS_IRQ_SHIFT, PCI_EXP_FLAGS_TYPE, PCI_EXP_FLAGS_TYPE_SHIFT,
} from './regs.js';

/** pci_intx(): a function with Interrupt Pin 0 (xio3130 ports) has no INTx at all. */
export function hasIntxPin(dev: PCIDevice): boolean {
  return dev.config.get8(regs.PCI_INTERRUPT_PIN) !== 0;
}

/** PCIe device/port type from the capability's FLAGS register. */
export function pcieType(dev: PCIDevice, exp: number): number {
  return (dev.config.get16(exp + caps.PCI_EXP_FLAGS) & PCI_EXP_FLAGS_TYPE) >>> PCI_EXP_FLAGS_TYPE_SHIFT;
}

/**
 * Sends the hot-plug interrupt for a change of the pending condition to `pending`: one
 * MSI-X or MSI message with the Interrupt Message Number of FLAGS (0 on every QEMU port; the
 * spec's "MSI vector 0") on any change, falling edges included (observed: clearing HPIE
 * with an event pending sends an MSI-X message); else the INTx level follows the condition.
 */
export function deliverHotplugInterrupt(dev: PCIDevice, exp: number, pending: boolean): void {
  const vector = (dev.config.get16(exp + caps.PCI_EXP_FLAGS) & PCI_EXP_FLAGS_IRQ) >>> PCI_EXP_FLAGS_IRQ_SHIFT;
  if (dev.msixEnabled()) dev.msixNotify(vector);
  else if (dev.msiEnabled()) dev.msiNotify(vector);
  else if (hasIntxPin(dev)) dev.setIrq(pending ? 1 : 0);
}

/** pcie_aer_status_to_cmd: which Root Error Command enables the Root Error Status asks for. */
function rootStatusToCommand(status: number): number {
  let cmd = 0;
  if (status & PCI_ERR_ROOT_COR_RCV) cmd |= PCI_ERR_ROOT_CMD_COR_EN;
  if (status & PCI_ERR_ROOT_NONFATAL_RCV) cmd |= PCI_ERR_ROOT_CMD_NONFATAL_EN;
  if (status & PCI_ERR_ROOT_FATAL_RCV) cmd |= PCI_ERR_ROOT_CMD_FATAL_EN;
  return cmd;
}

/**
 * After every config write to a root port using INTx, QEMU sets the INTx line to the AER
 * root-error condition, which drops an asserted hot-plug INTx even though the hot-plug event
 * stays pending (observed on pcie-root-port and ioh3420: any write, even to Interrupt Line,
 * deasserts it). With MSI/MSI-X the AER side only sends messages for new root errors, which
 * hot-plug never produces.
 */
export function rootPortIntxAfterWrite(dev: PCIDevice): void {
  if (dev.msixEnabled() || dev.msiEnabled() || !hasIntxPin(dev)) return;
  const aer = dev.extCaps.get(regs.PCI_EXT_CAP_ID_ERR);
  if (aer === undefined) return;
  const command = dev.config.get32(aer + caps.PCI_ERR_ROOT_COMMAND);
  const status = dev.config.get32(aer + caps.PCI_ERR_ROOT_STATUS);
  dev.setIrq(command & rootStatusToCommand(status) ? 1 : 0);
}
