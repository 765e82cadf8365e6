/**
 * @plugboard/hotplug-acpi: the ACPI PCI hotplug controller of PIIX4_PM (`-M pc`) and
 * ICH9-LPC (`-M q35`) as QEMU 7.2 implements it (spec/acpi-pcihp.md). AML generation
 * for the slots is not part of this package yet.
 */
import { definePlugin } from '@plugboard/qdev';

export * as acpiRegs from './regs.js';
export {
  ACPI_PCIHP_ADDR_ICH9, ACPI_PCIHP_ADDR_PIIX4, ACPI_PCIHP_PROP_BSEL, ACPI_PCIHP_SIZE, ACPI_PCI_HOTPLUG_STATUS,
  ICH9_PMIO_GPE0_LEN, ICH9_PMIO_GPE0_STS, PIIX4_GPE_BASE, PIIX4_GPE_LEN, ACPI_SCI_IRQ,
  PCI_UP_BASE, PCI_DOWN_BASE, PCI_EJ_BASE, PCI_RMV_BASE, PCI_SEL_BASE, PCI_AIDX_BASE,
} from './regs.js';
export { AcpiPciHotplug, type AcpiPciHotplugOptions, type PciHpSlotStatus } from './pcihp.js';
export { enableSlotPower } from './slots.js';
export { Gpe0Block, type Gpe0Options } from './gpe.js';
export { getBsel, assignBsels, findHotplugBus, pciBusesDepthFirst } from './bsel.js';

/**
 * The package as a plugin. It contributes no QOM types (PIIX4_PM / ICH9-LPC come from the
 * PCI catalog); machines build an AcpiPciHotplug for their PM device themselves.
 */
export const acpiHotplugPlugin = definePlugin({ name: '@plugboard/hotplug-acpi' });
export default acpiHotplugPlugin;

export * from './aml/index.js';
