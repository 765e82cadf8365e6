/**
 * Bringing a slot's functions into the guest and out again (drivers/pci/hotplug/
 * shpchp_pci.c): scan the slot, give the new functions addresses inside the bridge's windows
 * and re-program the bridge (the PCI core's pci_assign_unassigned_bridge_resources,
 * os/setup-bus.ts; pci_setup_bridge prints against the bridge, whose driver is shpchp), add
 * the devices (driver probe); and the reverse. Windows are never resized: QEMU's firmware
 * sized them, and a hot-added bridge in a slot is not given bus numbers here.
 */
import { regs as R } from '@plugboard/pci-core';
import type { TaskBody } from '../../os/sched.js';
import { assignUnassignedBridgeResources } from '../../os/setup-bus.js';
import type { Slot } from './ctrl.js';
import { SHPCHP } from './hpc.js';

const EINVAL = -22;
const ENODEV = -19;

const hex2 = (v: number): string => v.toString(16).padStart(2, '0');

/** shpchp_configure_device: 0, -EINVAL when function 0 is already known, -ENODEV when nothing answers. */
export function* configureDevice(slot: Slot): TaskBody<number> {
  const c = slot.ctrl;
  const bus = c.dev.subordinate!;
  const devfn = R.PCI_DEVFN(slot.device, 0);
  const existing = bus.devices.find((d) => d.devfn === devfn);
  if (existing) {
    c.err(`Device ${existing.name} already exists at ${bus.name}:${hex2(slot.device)}, cannot hot-add`);
    return EINVAL;
  }
  const found = yield* c.guest.pci.scanSlot(bus, devfn);
  if (!found.length) {
    c.err('No new device found');
    return ENODEV;
  }
  assignUnassignedBridgeResources(c.guest, c.dev, SHPCHP, found);
  // pci_bus_add_devices: the new functions' drivers probe; a bridge is offered to the hotplug drivers.
  for (const dev of found) {
    c.guest.bindDriver(dev);
    if (dev.isBridge) c.guest.offerNewPort(dev);
  }
  return 0;
}

/** shpchp_unconfigure_device: every function of the slot is unbound and removed. */
export function unconfigureDevice(slot: Slot): void {
  const c = slot.ctrl;
  const bus = c.dev.subordinate!;
  c.dbg(`shpchp_unconfigure_device: domain:bus:dev = ${bus.name}:${hex2(slot.device)}`);
  for (const dev of bus.devices.filter((d) => d.slot === slot.device)) c.guest.removeDevice(dev);
}
