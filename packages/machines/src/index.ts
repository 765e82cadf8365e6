import { coreTypes, definePlugin } from '@plugboard/qdev';
export { pcieHotplugPlugin } from '@plugboard/hotplug-pcie';
export { shpcHotplugPlugin } from '@plugboard/hotplug-shpc';
export { hotplugSpaprPlugin } from '@plugboard/hotplug-spapr';
import { boardTypes } from './board-types.js';
import { x86MachineTypes } from './x86.js';
import { spaprMachineTypes } from './pseries.js';


/** The core types (`device`, `sys-bus-device`): the root every plugin builds on. */
export const corePlugin = definePlugin({ name: '@plugboard/qdev', types: coreTypes });

/** Machine types pc, q35, pseries and the board devices they create. */
export const machinesPlugin = definePlugin({
  name: '@plugboard/machines',
  types: boardTypes,
  machines: [...x86MachineTypes, ...spaprMachineTypes],
});

export { X86Machine, buildPc, buildQ35, x86MachineTypes, type PlugboardMachine } from './x86.js';
export { SpaprMachine, buildPseries, spaprMachineTypes, PSERIES_DEFAULT_RAM } from './pseries.js';
export { boardTypes } from './board-types.js';
export { createMachine, createPluginSet, defaultOptions, type CreateMachineOptions } from './create.js';
