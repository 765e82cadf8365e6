/** The example plugin passes the same contract as the built-in backends. */
import { describeHotplugContract } from '@plugboard/testkit/vitest';
import gedHotplugPlugin from '../src/index.js';
import { gedBoard } from './board.js';

describeHotplugContract({
  name: 'ged-pci-hotplug (q35-like board, root bus pcie.0)',
  createMachine: (ctx) => gedBoard(ctx),
  guestDrivers: gedHotplugPlugin.guestDrivers,
  plug: { driver: 'e1000e', id: 'nic1', bus: 'pcie.0' },
  boundDriver: 'e1000e',
  // Pending for good, a guest is needed to finish, and a reset forgets the device.
  repeatedUnplug: 'refused',
  unplugWithoutGuest: 'pending',
  resetWhilePending: 'unplugs',
  errors: [
    {
      name: 'a function other than 0',
      opts: { driver: 'e1000e', id: 'f1', bus: 'pcie.0', addr: '6.1' },
      message: 'ged-pci-hotplug: only function 0 of a slot can be hot-plugged',
    },
    {
      name: 'BARs larger than a slot window',
      opts: { driver: 'VGA', id: 'vga1', bus: 'pcie.0' },
      message: 'ged-pci-hotplug: VGA,id=vga1 needs 0x1001000 bytes of mem BAR space, a slot has 0x400000',
    },
    {
      name: 'an occupied slot',
      opts: { driver: 'e1000e', id: 'nic2', bus: 'pcie.0', addr: '0' },
      message: 'PCI: slot 0 function 0 not available for e1000e, in use by mch,id=(null)',
    },
  ],
});
