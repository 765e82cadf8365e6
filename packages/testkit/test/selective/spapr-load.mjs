// Installed alone: @plugboard/qdev + @plugboard/pci-core + @plugboard/hotplug-spapr. Loads the
// backend's plugin over the core types and the PCI catalog: every type must find its parent.
import { PluginSet, TypeRegistry, coreTypes, definePlugin } from '@plugboard/qdev';
import { pciCatalogPlugin } from '@plugboard/pci-core';
import spapr from '@plugboard/hotplug-spapr';

const set = new PluginSet(new TypeRegistry());
for (const p of [definePlugin({ name: 'core', types: coreTypes }), pciCatalogPlugin, spapr]) set.load(p);
console.log(JSON.stringify({ plugin: spapr.name, types: (spapr.types ?? []).length, unresolved: set.registry.unresolved() }));
