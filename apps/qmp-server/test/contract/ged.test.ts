/**
 * The example third-party plugin (examples/ged-hotplug, loaded from its built entry point)
 * on the built-in machines: q35 in its default ACPI mode, whose ICH9 controller drops pcie.0
 * at the first reset, and pc with PIIX4's root-bus ACPI hotplug turned off.
 */
import type { Plugin } from '@plugboard/qdev';
import { describeHotplugContract } from './testkit.js';
import { builtMachine } from './machines.js';

const ged = (await import('../../../../examples/ged-hotplug/dist/index.js')).default as Plugin;
const GED = { driver: 'ged-pci-hotplug', id: 'ged0' };
const rules = { repeatedUnplug: 'refused', unplugWithoutGuest: 'pending', resetWhilePending: 'unplugs' } as const;

describeHotplugContract({
  name: 'plugboard-plugin-ged-hotplug (q35, pcie.0)',
  createMachine: ({ clock }) => builtMachine(clock, { type: 'q35', plugins: [ged], devices: [GED] }),
  guestDrivers: ged.guestDrivers,
  plug: { driver: 'e1000e', id: 'nic1', bus: 'pcie.0' },
  boundDriver: 'e1000e',
  ...rules,
});

describeHotplugContract({
  name: 'plugboard-plugin-ged-hotplug (pc, pci.0, acpi-root-pci-hotplug=off)',
  createMachine: ({ clock }) =>
    builtMachine(clock, {
      type: 'pc',
      plugins: [ged],
      globals: [{ driver: 'PIIX4_PM', property: 'acpi-root-pci-hotplug', value: 'off' }],
      devices: [GED],
    }),
  guestDrivers: ged.guestDrivers,
  plug: { driver: 'e1000', id: 'nic1', bus: 'pci.0' },
  boundDriver: 'e1000',
  ...rules,
});
