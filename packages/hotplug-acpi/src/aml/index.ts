/**
 * AML for ACPI PCI hotplug: an encoder for the terms QEMU's DSDT uses and the DSDT part
 * QEMU 7.2 generates for PCI hotplug, as real table bytes (`iasl -d` reads them back).
 */
import type { AcpiPciHotplug } from '../pcihp.js';
import { buildPciHotplugDsdt, busDevicesKey, type PciHotplugAmlOptions } from './pcihp-aml.js';

export * as aml from './encode.js';
export { hmpPortRead, hmpPortWrite, parseIoFormat, dumpTable, type PortSize } from './monitor.js';
export {
  buildPciHotplugDsdt, pciHotplugTerms, busDevices, busDevicesKey, pcihpMethods, oscMethod, phprDevice, acpiTable, slotDeviceName,
  PCI_DSM_UUID, PCI_HOST_OSC_UUID, ACPI_NOTIFY_DEVICE_CHECK, ACPI_NOTIFY_EJECT_REQUEST, type PciHotplugAmlOptions,
} from './pcihp-aml.js';

/** The last table built per controller, and the key of the tree state it describes. */
const built = new WeakMap<AcpiPciHotplug, { key: string; table: Uint8Array }>();

/**
 * The DSDT a machine's controller implies (call after the first reset: BSELs must be
 * assigned). q35 is recognised by its express root bus. QEMU rebuilds the table at every
 * firmware read; here it is rebuilt only when what it describes changed (busDevicesKey: the
 * BSELs, the devices and their hotplug properties under the root bus), else the last table is
 * handed out again, as a copy.
 */
export function dsdtForController(acpi: AcpiPciHotplug): Uint8Array {
  const opts: PciHotplugAmlOptions = {
    rootBus: acpi.rootBus,
    ioBase: acpi.ioBase,
    bridgeSupport: acpi.bridgeSupport,
    express: acpi.rootBus.isExpress,
  };
  const key = `${opts.ioBase} ${+opts.bridgeSupport}${+opts.express} ${busDevicesKey(opts.rootBus, opts.bridgeSupport)}`;
  let last = built.get(acpi);
  if (last?.key !== key) {
    last = { key, table: buildPciHotplugDsdt(opts) };
    built.set(acpi, last);
  }
  return last.table.slice();
}
