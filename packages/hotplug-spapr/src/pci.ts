/**
 * PCI hotplug on a PHB (hw/ppc/spapr_pci.c spapr_pci_pre_plug, spapr_pci_plug,
 * spapr_pci_unplug_request, spapr_pci_unplug, add_drcs/remove_drcs; spec/spapr-drc.md §5).
 * The PHB is the hotplug handler of every PCI device below it, bridges included.
 */
import { GHashOrder, QemuError, type Device, type HotplugHandler, type QObject } from '@plugboard/qdev';
import { PCIDevice, isBridgeDevice, regs as R, type PCIBus } from '@plugboard/pci-core';
import * as K from './constants.js';
import type { DrcBackend, SpaprDrc } from './drc.js';
import { FdtNode } from './fdt.js';
import { chassisOf, dtPciBusInto, dtPciDevice, pciDrcId, type DtPciContext } from './fdt-pci.js';
import type { SpaprPhb } from './phb.js';
import type { Spapr } from './spapr.js';

const PCI_SLOT_MAX = 32;
const PCI_FUNC_MAX = 8;
const DEVFNS = PCI_SLOT_MAX * PCI_FUNC_MAX;
/** QERR_BUS_NO_HOTPLUG names the PHB's *type* here. */
const noHotplug = (phb: SpaprPhb): QemuError => new QemuError(`Bus '${phb.typeName}' does not support hotplugging`);

/** IS_PCI_BRIDGE: any PCI-PCI bridge type (pci-bridge, PCIe ports...), known before realize. */
const TYPE_PCI_BRIDGE = 'base-pci-bridge';
const isPciBridge = (dev: Device): boolean => dev.type.isA(TYPE_PCI_BRIDGE);

/** DRCs owned by a PHB or bridge, per owner, in creation order. */
const ownedDrcs = new WeakMap<QObject, SpaprDrc[]>();

export function dtContext(spapr: Spapr, phb: SpaprPhb): DtPciContext {
  return { container: spapr.container, phbIndex: phb.index, pcieEcs: phb.prop<boolean>('pcie-extended-configuration-space') };
}

/** add_drcs: 256 PCI DRCs for `bus`, owned by the PHB (root bus) or the bridge. */
export function addBusDrcs(spapr: Spapr, phb: SpaprPhb, bus: PCIBus, owner: QObject): void {
  if (!phb.drEnabled) return;
  const chassis = chassisOf(bus);
  const list: SpaprDrc[] = [];
  for (let devfn = 0; devfn < DEVFNS; devfn++) list.push(spapr.newDrc(owner, K.TYPE_SPAPR_DRC_PCI, pciDrcId(phb.index, chassis, devfn), pciDrcBackend(spapr, phb)));
  ownedDrcs.set(owner, list);
}

/** remove_drcs: unparented from devfn 255 down (each one's DEVICE_DELETED in that order). */
export function removeBusDrcs(_spapr: Spapr, owner: QObject): void {
  const list = ownedDrcs.get(owner) ?? [];
  ownedDrcs.delete(owner);
  for (const drc of [...list].reverse()) drc.destroy();
}

/**
 * A bridge's DRCs when the bridge goes with its PHB: nothing calls remove_drcs for them (7.2
 * refuses to unplug a bridge, so spapr_pci_bridge_unplug never runs); they are released as the
 * bridge's child<> properties when it is finalized (qom/object.c object_property_del_all), in
 * the iteration order of the bridge's own property table, not by devfn
 * (fixtures/qemu-7.2-ppc/phb-bridge.json, phb-bridge-cont.json).
 */
export function releaseBridgeDrcs(bridge: PCIDevice & { secondaryBus: PCIBus }): void {
  const list = ownedDrcs.get(bridge) ?? [];
  ownedDrcs.delete(bridge);
  const byName = new Map(list.map((drc) => [drc.propName, drc] as const));
  const ordered = bridgePropertyTable(bridge, list).keysInOrder().flatMap((name) => byName.get(name) ?? []);
  // A DRC the table does not name (none expected) goes last, by devfn from 255 down.
  const rest = [...list].reverse().filter((drc) => !ordered.includes(drc));
  for (const drc of [...ordered, ...rest]) drc.destroy();
}

/**
 * The bridge's own QOM property table as QEMU 7.2 fills it, which decides the order above. Its
 * memory regions are child<> properties there (not modelled as objects here), inserted before
 * the connectors: do_pci_register_device's bus-master regions, then pci_bridge_initfn's
 * secondary bus, address spaces and windows (hw/pci/pci_bridge.c), then pci-bridge's SHPC BAR
 * and MMIO (hw/pci-bridge/pci_bridge_dev.c, hw/pci/shpc.c). Checked against the qom-list of a
 * hot-added pci-bridge (fixtures/qemu-7.2-ppc/pci-errors.json).
 */
function bridgePropertyTable(bridge: PCIDevice & { secondaryBus: PCIBus }, drcs: readonly SpaprDrc[]): GHashOrder {
  const t = new GHashOrder();
  const shpc = bridge.type.property('shpc') ? bridge.prop<boolean>('shpc') : false;
  for (const name of [
    'bus master container[0]', 'bus master[0]',
    bridge.secondaryBus.name, 'pci_bridge_pci[0]', 'pci_bridge_io[0]',
    'pci_bridge_pref_mem[0]', 'pci_bridge_io[1]', 'pci_bridge_mem[0]',
    'pci_bridge_vga_io_lo[0]', 'pci_bridge_vga_io_hi[0]', 'pci_bridge_vga_mem[0]',
    ...(shpc ? ['shpc-bar[0]', 'shpc-mmio[0]'] : []),
  ]) t.insert(name);
  for (const drc of drcs) if (drc.propName) t.insert(drc.propName);
  return t;
}

export function dtPciBus(spapr: Spapr, phb: SpaprPhb, bus: PCIBus, node: FdtNode): void {
  dtPciBusInto(dtContext(spapr, phb), bus, node, phb);
}

/**
 * PCI DRCs: release = unplug + unparent (spapr_phb_remove_pci_device_cb); fragment = the node.
 * QEMU finalizes the function after an RCU grace period: released by a system reset, its
 * DEVICE_DELETED follows RESET (fixtures/qemu-7.2-ppc/reset-order.json).
 */
function pciDrcBackend(spapr: Spapr, phb: SpaprPhb): DrcBackend {
  return {
    release: (dev) =>
      spapr.machine.deferRcuDeletions(() => {
        phb.pciHandler.unplug(dev);
        dev.destroy();
      }),
    // spapr_pci_dt_populate: the node built in a fresh tree; the fragment starts at it.
    dtPopulate: (drc) => dtPciDevice(dtContext(spapr, phb), drc.dev as PCIDevice, new FdtNode('')),
  };
}

export class SpaprPciHandler implements HotplugHandler {
  constructor(
    readonly phb: SpaprPhb,
    readonly spapr: Spapr,
  ) {}

  /** drc_from_devfn. */
  drcAt(bus: PCIBus, devfn: number): SpaprDrc | undefined {
    return this.spapr.container.byId(K.SPAPR_DR_CONNECTOR_TYPE_SHIFT_PCI, pciDrcId(this.phb.index, chassisOf(bus), devfn));
  }

  /** drc_from_dev: by the device's devfn (before realize: its `addr` property, -1 when automatic). */
  drcOf(dev: PCIDevice): SpaprDrc | undefined {
    const devfn = dev.realized || dev.devfn >= 0 ? dev.devfn : dev.prop<number>('addr');
    return this.drcAt(dev.pciBus, devfn & 0xff);
  }

  prePlug(d: Device): void {
    const dev = d as PCIDevice;
    const bus = dev.pciBus;
    if (!this.phb.drEnabled && dev.hotplugged) throw noHotplug(this.phb);
    if (isPciBridge(dev)) this.checkChassis(dev);
    // Before realize the devfn is the `addr` property; -1 (automatic) reads as slot 31 fn 7.
    const devfn = dev.prop<number>('addr') & 0xff;
    const slot = R.PCI_SLOT(devfn);
    const f0 = bus.deviceAt(R.PCI_DEVFN(slot, 0));
    let error: QemuError | undefined;
    if (dev.hotplugged && f0 && R.PCI_FUNC(devfn) !== 0) {
      // 7.2 sets this error and carries on to the DRC check.
      error = new QemuError(`PCI: slot ${slot} function 0 already occupied by ${f0.typeName}, additional functions can no longer be exposed to guest.`);
    }
    const drc = dev.prop<number>('addr') < 0 ? undefined : this.drcAt(bus, devfn);
    if (!error && drc?.dev) {
      const occupant = drc.dev as PCIDevice;
      const fn0 = occupant.pciBus.deviceAt(R.PCI_DEVFN(occupant.slot, 0)) ?? occupant;
      error = new QemuError(`PCI: slot ${slot} already occupied by ${fn0.typeName}`);
    }
    if (error) throw error;
  }

  /** bridge_has_valid_chassis_nr: a chassis_nr other than 0, used by no other bridge. */
  private checkChassis(dev: PCIDevice): void {
    const nr = dev.type.property('chassis_nr') ? (dev.prop<number>('chassis_nr') ?? 0) : 0;
    if (!nr) throw new QemuError('PCI Bridge lacks a "chassis_nr" property');
    for (const other of this.spapr.machine.devices()) {
      if (other !== dev && other instanceof PCIDevice && isPciBridge(other) && other.type.property('chassis_nr') && other.prop<number>('chassis_nr') === nr) {
        throw new QemuError(`Bridge chassis ${nr} already in use`);
      }
    }
  }

  plug(d: Device): void {
    const dev = d as PCIDevice;
    if (!this.phb.drEnabled) return;
    const drc = this.drcOf(dev);
    if (!drc) return;
    if (isBridgeDevice(dev)) this.bridgePlug(dev);
    drc.attach(dev);
    if (!dev.hotplugged) {
      drc.resetState();
      return;
    }
    if (dev.fn !== 0) return; // announced when function 0 arrives
    for (let fn = 0; fn < PCI_FUNC_MAX; fn++) {
      const f = this.drcAt(dev.pciBus, R.PCI_DEVFN(dev.slot, fn));
      if (f && f.entitySense() === K.SPAPR_DR_ENTITY_SENSE_PRESENT) this.spapr.hotplugAddByIndex(f);
    }
  }

  /** spapr_pci_bridge_plug: DRCs for the secondary bus, and the bus handled here too. */
  private bridgePlug(bridge: PCIDevice & { secondaryBus: PCIBus }): void {
    const bus = bridge.secondaryBus;
    // pci-bridge's own (SHPC) handler keeps the bus' link; without one, the link names the bridge.
    if (!bus.hotplugHandler) bus.setHotplugHandler(this, bridge);
    addBusDrcs(this.spapr, this.phb, bus, bridge);
    bridge.attachModel({ unrealize: () => releaseBridgeDrcs(bridge) });
  }

  unplugRequest(d: Device): void {
    const dev = d as PCIDevice;
    if (!this.phb.drEnabled) throw noHotplug(this.phb);
    const drc = this.drcOf(dev);
    if (!drc || drc.dev !== dev) throw new Error('spapr_pci_unplug_request: device without its DRC');
    if (drc.unplugRequested) throw new QemuError(`PCI device unplug already in progress for device ${dev.id}`);
    if (isPciBridge(dev)) throw new QemuError('PCI: Hot unplug of PCI bridges not supported');
    const bus = dev.pciBus;
    const slot = dev.slot;
    if (dev.fn === 0) {
      // Removing function 0 takes every other present function of the slot with it.
      for (let fn = 1; fn < PCI_FUNC_MAX; fn++) {
        const f = this.drcAt(bus, R.PCI_DEVFN(slot, fn));
        if (f && f.entitySense() === K.SPAPR_DR_ENTITY_SENSE_PRESENT && !f.unplugRequested) f.unplugRequest();
      }
    }
    drc.unplugRequest();
    if (dev.fn !== 0) return; // deferred until function 0 goes
    for (let fn = PCI_FUNC_MAX - 1; fn >= 0; fn--) {
      const f = this.drcAt(bus, R.PCI_DEVFN(slot, fn));
      if (f && f.entitySense() === K.SPAPR_DR_ENTITY_SENSE_PRESENT) this.spapr.hotplugRemoveByIndex(f);
    }
  }

  /** spapr_pci_unplug: reset the function first (a guest may not have quiesced it). */
  unplug(d: Device): void {
    const dev = d as PCIDevice;
    if (dev.realized) dev.resetTree();
  }
}
