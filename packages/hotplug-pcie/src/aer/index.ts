/**
 * PCIe Advanced Error Reporting (hw/pci/pcie_aer.c, QEMU 7.2; spec/pcie-slot.md §9): the
 * AER model every PCI function gets through the plugin's type extension, error injection,
 * and HMP `pcie_aer_inject_error`.
 */
import type { Bus, Device, Machine, QObject, TypeRegistry } from '@plugboard/qdev';
import { PCIDevice } from '@plugboard/pci-core';
import { pcieAerOf } from './model.js';
import { pcieAerInjectErrorCommand } from './hmp.js';

export * as aerRegs from './regs.js';
export { AER_ERROR_NAMES } from './regs.js';
export { PcieAer, pcieAerOf, rootStatusToCommand, type AerError } from './model.js';
export { injectAerError, isPcieFunction, requesterId } from './inject.js';
export { pcieAerInjectErrorHmp, pcieAerInjectErrorCommand, findPciDeviceById, HMP_PCIE_AER_INJECT_ERROR } from './hmp.js';
export { parseHmpArgs, HmpArgError, type ArgSpec } from './hmp-args.js';

const attached = new WeakSet<PCIDevice>();

function attach(dev: PCIDevice): void {
  if (attached.has(dev)) return;
  attached.add(dev);
  const model = pcieAerOf(dev);
  dev.attachModel(model);
  if (dev.realized) model.realize(dev); // a board function created before the plugin saw it
}

/** Type extension: every PCI function gets an AER model (inert without the capability). */
export const aerExtension = {
  type: 'pci-device',
  extend: (obj: QObject): void => {
    if (obj instanceof PCIDevice) attach(obj);
  },
};

const extendedRegistries = new WeakSet<TypeRegistry>();

function* devicesBelow(bus: Bus): Generator<Device> {
  for (const d of bus.children()) {
    yield d;
    for (const b of d.childBuses) yield* devicesBelow(b);
  }
}

/**
 * Plugin.onMachine: registers aerExtension on the machine's type registry (once per
 * registry) and gives the functions the board already created their model. Done here rather
 * than in the plugin's `extensions` list so that list keeps only the slot extension.
 */
export function attachAer(machine: Machine): void {
  if (!extendedRegistries.has(machine.registry)) {
    extendedRegistries.add(machine.registry);
    machine.registry.extend(aerExtension.type, aerExtension.extend);
  }
  for (const d of devicesBelow(machine.sysbus)) if (d instanceof PCIDevice) attach(d);
}

export const aerHmpCommands = [pcieAerInjectErrorCommand];
