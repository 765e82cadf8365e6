/**
 * AML for ACPI PCI hotplug: an encoder for the terms QEMU's DSDT uses and the DSDT part
 * QEMU 7.2 generates for PCI hotplug, as real table bytes (`iasl -d` reads them back).
 */
import type { AcpiPciHotplug } from '../pcihp.js';
import { buildPciHotplugDsdt, type PciHotplugAmlOptions } from './pcihp-aml.js';

export * as aml from './encode.js';
export { hmpPortRead, hmpPortWrite, parseIoFormat, dumpTable, type PortSize } from './monitor.js';
export {
  buildPciHotplugDsdt, pciHotplugTerms, busDevices, pcihpMethods, oscMethod, phprDevice, acpiTable, slotDeviceName,
  PCI_DSM_UUID, PCI_HOST_OSC_UUID, ACPI_NOTIFY_DEVICE_CHECK, ACPI_NOTIFY_EJECT_REQUEST, type PciHotplugAmlOptions,
} from './pcihp-aml.js';

/**
 * The DSDT a machine's controller implies (call after the first reset: BSELs must be
 * assigned). q35 is recognised by its express root bus.
 */
export function dsdtForController(acpi: AcpiPciHotplug): Uint8Array {
  const opts: PciHotplugAmlOptions = {
    rootBus: acpi.rootBus,
    ioBase: acpi.ioBase,
    bridgeSupport: acpi.bridgeSupport,
    express: acpi.rootBus.isExpress,
  };
  return buildPciHotplugDsdt(opts);
}
