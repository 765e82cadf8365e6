/**
 * Bringing the devices behind a slot into the guest and taking them out again
 * (drivers/pci/hotplug/pciehp_pci.c): scan slot 0 of the secondary bus through the guest's
 * PciCore, number hot-added bridges (pci_hp_add_bridge), assign resources inside the port's
 * windows (the PCI core's pci_assign_unassigned_bridge_resources, os/setup-bus.ts), then add
 * the devices (driver probe); and the reverse.
 */
import { regs as R } from '@plugboard/pci-core';
import type { GuestPciBus, PciDev } from '../../os/pci-dev.js';
import type { TaskBody } from '../../os/sched.js';
import { assignUnassignedBridgeResources } from '../../os/setup-bus.js';
import { EEXIST, ENODEV, type Controller } from './hpc.js';

/** pciehp_configure_device: 0, -EEXIST when 00.0 is already there, -ENODEV when nothing answers. */
export function* configureDevice(c: Controller): TaskBody<number> {
  const { guest, port } = c;
  const bus = port.subordinate!;
  const existing = bus.devices.find((d) => d.devfn === 0);
  if (existing) {
    c.dbg(`Device ${existing.name} already exists at ${bus.name}:00, skipping hot-add`);
    return EEXIST;
  }
  const found = yield* guest.pci.scanSlot(bus, 0);
  if (!found.length) {
    c.info('No new device found');
    return ENODEV;
  }
  for (const dev of bus.devices.filter((d) => d.isBridge)) yield* hpAddBridge(c, bus, dev);
  assignUnassignedBridgeResources(guest, port, 'pcieport', found);
  // pcie_bus_configure_settings: nothing to do under the default MPS policy (PCIE_BUS_DEFAULT).
  // pci_bus_add_devices: drivers probe; a new bridge is offered to pcieport and the hotplug drivers.
  for (const dev of found) addDevice(c, dev);
  return 0;
}

function addDevice(c: Controller, dev: PciDev): void {
  c.guest.bindDriver(dev);
  if (!dev.isBridge) return;
  c.guest.offerNewPort(dev);
  for (const child of dev.subordinate?.devices ?? []) addDevice(c, child);
}

/**
 * pci_hp_add_bridge: give a hot-added bridge the bus numbers after the highest one in use
 * below the port. (Linux also spreads spare numbers over hotplug bridges; PciCore's
 * scanBridge takes no budget, so a nested hotplug bridge gets only what it needs.)
 */
function* hpAddBridge(c: Controller, parent: GuestPciBus, dev: PciDev): TaskBody<void> {
  if (dev.subordinate) return;
  let busnr = parent.number;
  while (busnr <= parent.busnEnd && c.guest.pci.findBus(parent.domain, busnr)) busnr++;
  if (busnr-- > parent.busnEnd) {
    c.guest.log('pci', dev, 'No bus number available for hot-added bridge');
    return;
  }
  busnr = yield* c.guest.pci.scanBridge(parent, dev, busnr, 0);
  yield* c.guest.pci.scanBridge(parent, dev, busnr, 1);
}

/**
 * pciehp_unconfigure_device: every function on the secondary bus, last first, is unbound
 * and removed; after a safe removal its Command register is quiesced (no bus mastering, no
 * SERR#, INTx disabled) so it cannot start anything before power goes.
 */
export function unconfigureDevice(c: Controller, presence: boolean): void {
  const bus = c.port.subordinate!;
  c.dbg(`pciehp_unconfigure_device: domain:bus:dev = ${bus.name}:00`);
  // Surprise removal: Linux marks the functions disconnected so later accesses never reach the
  // hardware; here the removed functions are simply forgotten.
  for (const dev of [...bus.devices].reverse()) {
    c.guest.removeDevice(dev);
    if (!presence) continue;
    const cmd = dev.read16(R.PCI_COMMAND);
    dev.write16(R.PCI_COMMAND, (cmd & ~(R.PCI_COMMAND_MASTER | R.PCI_COMMAND_SERR)) | R.PCI_COMMAND_INTX_DISABLE);
  }
}
