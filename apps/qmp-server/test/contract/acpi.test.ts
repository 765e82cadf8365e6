/** hotplug-acpi under the contract: pc's root bus, and q35's root ports in its default ACPI mode. */
import { describeHotplugContract } from './testkit.js';
import { builtMachine, guestDriverMissing } from './machines.js';

// spec/acpi-pcihp.md §5: the pending flag expires at once (7.2.3+), the request waits for
// the guest's _EJ0, and acpi_pcihp_reset ejects the slots still pending removal.
const rules = {
  repeatedUnplug: { expiresMs: 0 },
  unplugWithoutGuest: 'pending',
  resetWhilePending: 'unplugs',
  skipGuest: guestDriverMissing('acpiphpDriver'),
} as const;

describeHotplugContract({
  name: 'hotplug-acpi (pc, root bus pci.0)',
  createMachine: ({ clock }) => builtMachine(clock, { type: 'pc' }),
  plug: { driver: 'e1000', id: 'hp0', bus: 'pci.0' },
  boundDriver: 'e1000',
  ...rules,
  errors: [
    { name: 'a board slot', opts: { driver: 'e1000', id: 'x1', bus: 'pci.0', addr: '1' }, message: 'PCI: slot 1 function 0 not available for e1000, in use by PIIX3,id=(null)' },
  ],
});

describeHotplugContract({
  name: 'hotplug-acpi (q35, pcie-root-port in ACPI mode)',
  createMachine: ({ clock }) => builtMachine(clock, { type: 'q35', devices: [{ driver: 'pcie-root-port', id: 'rp1', chassis: 1, slot: 1 }] }),
  plug: { driver: 'e1000e', id: 'hp0', bus: 'rp1' },
  boundDriver: 'e1000e',
  ...rules,
});
