/** hotplug-pcie (native PCIe hotplug) under the contract: q35 with ACPI hotplug off, a root port and a switch port. */
import { describeHotplugContract } from './testkit.js';
import { builtMachine, guestDriverMissing } from './machines.js';

const NATIVE = [{ driver: 'ICH9-LPC', property: 'acpi-pci-hotplug-with-bridge-support', value: 'off' }];
// spec/qdev-hotplug.md §5-6, spec/pcie-slot.md §6: pending for 5 s; a slot the guest never
// powered gives its device up at once; a reset keeps the device in its slot.
const rules = {
  repeatedUnplug: { expiresMs: 5000 },
  unplugWithoutGuest: 'immediate',
  resetWhilePending: 'keeps',
  skipGuest: guestDriverMissing('pciehpDriver'),
} as const;

describeHotplugContract({
  name: 'hotplug-pcie (q35 native, pcie-root-port)',
  createMachine: ({ clock }) => builtMachine(clock, { type: 'q35', globals: NATIVE, devices: [{ driver: 'pcie-root-port', id: 'rp1', chassis: 1, slot: 1 }] }),
  plug: { driver: 'e1000e', id: 'hp0', bus: 'rp1' },
  boundDriver: 'e1000e',
  ...rules,
  errors: [
    { name: 'the slot is taken', opts: { driver: 'e1000e', id: 'x1', bus: 'rp1', addr: '0' }, message: 'PCI: slot 0 function 0 not available for e1000e, in use by e1000e,id=hp0' },
    {
      name: 'a function other than 0 behind a port',
      opts: { driver: 'e1000e', id: 'x2', bus: 'rp1', addr: '0.1' },
      message: 'PCI: slot 0 function 0 already occupied by e1000e, new func e1000e cannot be exposed to guest.',
    },
  ],
});

describeHotplugContract({
  name: 'hotplug-pcie (q35 native, xio3130-downstream)',
  createMachine: ({ clock }) =>
    builtMachine(clock, {
      type: 'q35',
      globals: NATIVE,
      devices: [
        { driver: 'pcie-root-port', id: 'rp1', chassis: 1, slot: 1 },
        { driver: 'x3130-upstream', id: 'up1', bus: 'rp1' },
        { driver: 'xio3130-downstream', id: 'dp1', bus: 'up1', chassis: 2, slot: 1 },
      ],
    }),
  plug: { driver: 'virtio-net-pci', id: 'hp0', bus: 'dp1' },
  boundDriver: 'virtio-pci',
  ...rules,
});
