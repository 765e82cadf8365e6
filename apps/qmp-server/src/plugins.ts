/** The plugins every Plugboard machine loads: the same door a third-party plugin uses. */
import type { Plugin } from '@plugboard/qdev';
import { pciCatalogPlugin } from '@plugboard/pci-core';
import { corePlugin, hotplugSpaprPlugin, machinesPlugin, pcieHotplugPlugin, shpcHotplugPlugin } from '@plugboard/machines';

export function builtinPlugins(): Plugin[] {
  return [corePlugin, pciCatalogPlugin, pcieHotplugPlugin, shpcHotplugPlugin, hotplugSpaprPlugin, machinesPlugin];
}
