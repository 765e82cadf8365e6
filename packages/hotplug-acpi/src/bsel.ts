/**
 * Bus selectors (BSEL): the `acpi-pcihp-bsel` number QEMU gives each hotpluggable PCI bus at
 * the first machine reset (hw/acpi/pcihp.c acpi_set_pci_info / acpi_set_bsel, walking with
 * hw/pci/pci.c pci_for_each_bus_depth_first). spec/acpi-pcihp.md §2.
 */
import type { Bus } from '@plugboard/qdev';
import { PCIBus } from '@plugboard/pci-core';
import { ACPI_PCIHP_BSEL_DEFAULT, ACPI_PCIHP_MAX_HOTPLUG_BUS, ACPI_PCIHP_PROP_BSEL } from './regs.js';

const bsels = new WeakMap<Bus, number>();

/** The bus' `acpi-pcihp-bsel`, or undefined when it has none. */
export function getBsel(bus: Bus | undefined): number | undefined {
  return bus ? bsels.get(bus) : undefined;
}

/**
 * acpi_pcihp_get_bsel: the selector usable for hotplug, or -1 (no property, or a value
 * outside 0..255).
 */
export function usableBsel(bus: Bus | undefined): number {
  const b = getBsel(bus);
  return b === undefined || b < 0 || b >= ACPI_PCIHP_MAX_HOTPLUG_BUS ? -1 : b;
}

/** Gives `bus` a read-only uint32 QOM property, as object_property_add_uint32_ptr does. */
function setBsel(bus: Bus, value: number): void {
  bsels.set(bus, value);
  bus.defineProperty({ name: ACPI_PCIHP_PROP_BSEL, type: 'uint32', get: () => bsels.get(bus) });
}

/**
 * PCI buses depth first, parent before children. A bus' secondary buses are visited newest
 * first: QEMU links each new bridge's bus at the head of its parent's child list
 * (pci_bridge_initfn), which is what the fixtures show (q35 rp1..rp6 -> rp6 gets 0).
 */
export function* pciBusesDepthFirst(bus: PCIBus): Generator<PCIBus> {
  yield bus;
  const kids = [...bus.children()].reverse();
  for (const dev of kids) {
    for (const child of dev.childBuses) if (child instanceof PCIBus) yield* pciBusesDepthFirst(child);
  }
}

/** acpi_set_bsel over the tree: every bus hotpluggable right now gets the next number. */
export function assignBsels(root: PCIBus): void {
  let next = ACPI_PCIHP_BSEL_DEFAULT;
  for (const bus of pciBusesDepthFirst(root)) {
    if (bus.hotpluggable && getBsel(bus) === undefined) setBsel(bus, next++);
  }
}

/**
 * acpi_pcihp_find_hotplug_bus: the bus carrying `bsel`; selector 0 falls back to the root
 * bus when nothing carries it; a bus that is not hotpluggable (any more) is not returned.
 */
export function findHotplugBus(root: PCIBus, bsel: number): PCIBus | undefined {
  return hotplugBusFinder(root)(bsel);
}

/**
 * findHotplugBus for many selectors over one walk of the tree (the tree must not change while
 * the finder is used): acpi_pcihp_update runs for all 256 selectors at every reset, and one
 * walk each made a reset cost 256 walks of every PCI device (bench/scale.mjs).
 */
export function hotplugBusFinder(root: PCIBus): (bsel: number) => PCIBus | undefined {
  const last = new Map<number, PCIBus>();
  for (const bus of pciBusesDepthFirst(root)) last.set(usableBsel(bus), bus); // the last one wins, as in the walk
  return (bsel) => {
    if (bsel < 0) return undefined;
    let found = last.get(bsel);
    if (bsel === 0 && !found) found = root;
    return found && found.hotpluggable ? found : undefined;
  };
}
