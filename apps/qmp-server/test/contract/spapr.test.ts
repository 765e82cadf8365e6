/**
 * hotplug-spapr under the contract: `-M pseries`, a card on PHB 0's root bus (DR connector
 * 0x40000000), the pseries Linux 6.1 guest (rtas_errd + drmgr for PCI) attached as
 * PlugboardServer.create does it. The rules and texts are QEMU 7.2's, recorded from
 * qemu-system-ppc64 (fixtures/qemu-7.2-ppc/contract-errors.json, pci-errors.json, drc-qom.json):
 * - the PHB's handler never sets qdev's pending flag, but refuses a second device_del itself
 *   while the connector has its unplug requested (hw/ppc/spapr_pci.c);
 * - a connector the guest never configured gives its device up at once (spapr_drc.c
 *   spapr_drc_unplug_request on a connector still powered on but not unisolated);
 * - system_reset releases every connector with a pending unplug (spapr_drc_reset); the
 *   function's DEVICE_DELETED follows RESET (fixtures/qemu-7.2-ppc/reset-order.json).
 */
import type { AttachedGuest } from '@plugboard/guest';
import { attachPseriesGuest } from '@plugboard/guest';
import { describeHotplugContract } from './testkit.js';
import { builtMachine, guestDriverMissing } from './machines.js';

describeHotplugContract({
  name: 'hotplug-spapr (pseries, PHB 0 root bus)',
  createMachine: ({ clock }) => builtMachine(clock, { type: 'pseries' }),
  // The pseries guest: SLOF's part, CAS, then the kernel and its user space (no SeaBIOS).
  guest: (machine, opts) => attachPseriesGuest(machine, opts) as unknown as AttachedGuest,
  plug: { driver: 'e1000', id: 'hp0' },
  boundDriver: 'e1000',
  repeatedUnplug: { controllerRefuses: 'PCI device unplug already in progress for device hp0' },
  unplugWithoutGuest: 'immediate',
  resetWhilePending: 'unplugs',
  // QEMU finalizes the released PCI function after an RCU grace period: RESET comes first.
  resetDeletedOrder: 'after',
  skipGuest: guestDriverMissing('pseriesDriver'),
  errors: [
    // The plugged card took devfn 0 (QEMU: qom-get addr = 0).
    { name: 'the slot is taken', opts: { driver: 'e1000', id: 'x1', addr: '0' }, message: 'PCI: slot 0 already occupied by e1000' },
    {
      name: 'a function other than 0 after function 0',
      opts: { driver: 'e1000', id: 'x2', addr: '0.1' },
      message: 'PCI: slot 0 function 0 already occupied by e1000, additional functions can no longer be exposed to guest.',
    },
    { name: 'a bridge without chassis_nr', opts: { driver: 'pci-bridge', id: 'x3', addr: '5' }, message: 'PCI Bridge lacks a "chassis_nr" property' },
  ],
});
