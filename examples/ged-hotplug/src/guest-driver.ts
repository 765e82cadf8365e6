/**
 * The guest side: what a Linux guest of cloud-hypervisor does with the GED, modelled as a
 * hotplug driver of @plugboard/guest. Linux runs the GED's `_EVT` method from its threaded
 * interrupt (drivers/acpi/evged.c); `_EVT` reads GDAT and, for the PCI bit, calls `PSCN`,
 * which for each segment selects it (PSEG), reads PCIU and PCID and notifies the slot
 * devices: "device check" for an added slot, "eject request" for a removed one. acpiphp
 * then scans the slot and binds drivers, or removes the slot's functions and runs the slot's
 * `_EJ0`, which writes the slot's bit to B0EJ.
 *
 * Everything goes through the guest view (MMIO reads/writes, config cycles by the PCI core).
 */
import type { GuestPciBus, HotplugDriver, LinuxGuest, PciDev, TaskBody } from '@plugboard/guest';
import {
  GED_B0EJ, GED_DEFAULT_BASE, GED_GDAT, GED_GIRQ, GED_GSIG, GED_MMIO_SIZE, GED_PCID, GED_PCIU, GED_PCI_DEVICES_CHANGED, GED_PSEG,
  GED_SIGNATURE, PCI_SLOTS, slotBit,
} from './regs.js';

export const GED_DRIVER = 'ged-pci-hotplug';

export interface GedDriverOptions {
  /** Where the guest looks for the register window (the DSDT's `_CRS` on a real guest). */
  base?: number;
}

const hex = (v: number) => v.toString(16).padStart(8, '0');

/** The interrupt handler of each booted guest, released when the guest boots again. */
const handlers = new WeakMap<LinuxGuest, () => void>();

export function gedHotplugDriver(opts: GedDriverOptions = {}): HotplugDriver {
  const base = opts.base ?? GED_DEFAULT_BASE;
  return {
    name: GED_DRIVER,
    // acpi_ged_probe at boot: the device is found by its signature, its interrupt requested.
    init(guest) {
      handlers.get(guest)?.(); // a reboot: the previous boot's handler goes
      handlers.delete(guest);
      const v = guest.view;
      if (v.mmioRead(base + GED_GSIG, 4) !== GED_SIGNATURE) return;
      const irq = v.mmioRead(base + GED_GIRQ, 4);
      guest.printk(`ACPI: GED: PCI hotplug controller [mem 0x${hex(base)}-0x${hex(base + GED_MMIO_SIZE - 1)}] irq ${irq}`);
      const release = guest.irq.requestIrq(irq, 'ACPI:Event', () => {
        // The threaded handler runs _EVT from a kernel thread, never inside the interrupt.
        guest.sched.spawn('ged-evt', gedEvent(guest, base));
        return true;
      });
      handlers.set(guest, release);
    },
  };
}

/** `_EVT` -> `PSCN` over every PCI segment the guest has. */
function* gedEvent(guest: LinuxGuest, base: number): TaskBody {
  const v = guest.view;
  if (!(v.mmioRead(base + GED_GDAT, 4) & GED_PCI_DEVICES_CHANGED)) return;
  const domains = [...new Set(guest.pci.roots.map((r) => r.domain))];
  for (const domain of domains) {
    v.mmioWrite(base + GED_PSEG, domain, 4);
    const up = v.mmioRead(base + GED_PCIU, 4);
    const down = v.mmioRead(base + GED_PCID, 4);
    const root = guest.pci.roots.find((r) => r.domain === domain);
    if (!root) continue;
    for (let slot = 0; slot < PCI_SLOTS; slot++) {
      if (up & slotBit(slot)) yield* enableSlot(guest, root, slot);
    }
    for (let slot = 0; slot < PCI_SLOTS; slot++) {
      if (down & slotBit(slot)) ejectSlot(guest, root, slot, base, domain);
    }
  }
}

/** acpiphp enable_slot: scan the slot, then add what was found (driver probe, new bridges offered). */
function* enableSlot(guest: LinuxGuest, root: GuestPciBus, slot: number): TaskBody {
  const found: PciDev[] = yield* guest.pci.scanSlot(root, slot << 3);
  for (const dev of found) {
    guest.bindDriver(dev);
    if (dev.isBridge) guest.offerNewPort(dev);
  }
}

/**
 * acpiphp_disable_and_eject_slot: remove the slot's functions (last first), then `_EJ0`.
 * The `ignore-unplug` policy makes the guest drop eject requests on the floor.
 */
function ejectSlot(guest: LinuxGuest, root: GuestPciBus, slot: number, base: number, domain: number): void {
  if (guest.policy.name === 'ignore-unplug') return;
  for (const dev of [...root.devices].reverse()) if (dev.slot === slot) guest.removeDevice(dev);
  guest.view.mmioWrite(base + GED_PSEG, domain, 4);
  guest.view.mmioWrite(base + GED_B0EJ, slotBit(slot), 4);
}
