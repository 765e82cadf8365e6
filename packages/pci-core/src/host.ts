/**
 * PCI host bridges: a system-bus device that owns a root bus (hw/pci/pci_host.c).
 * Config accesses are routed by bus number through the bridges' secondary/subordinate
 * registers, as real hardware routes type 1 cycles.
 */
import { Device, type Machine, type TypeImpl } from '@plugboard/qdev';
import { PCIBus, type IntxSink } from './pci-bus.js';
import type { PCIDevice } from './pci-device.js';
import { findBusNr } from './info-pci.js';

export class PCIHostBridge extends Device {
  rootBus!: PCIBus;

  constructor(type: TypeImpl, machine: Machine) {
    super(type, machine);
  }

  /** Creates the root bus (`pci.0`, `pcie.0`) as a child bus of the host. */
  createRootBus(name: string, express: boolean, intx?: IntxSink): PCIBus {
    this.rootBus = new PCIBus(name, { express, root: true });
    this.rootBus.intxSink = intx;
    this.addChildBus(this.rootBus);
    return this.rootBus;
  }

  /** The function a type 0/1 config cycle reaches, or undefined (master abort: all ones). */
  functionAt(bus: number, devfn: number): PCIDevice | undefined {
    const b = findBusNr(this.rootBus, bus);
    return b?.visibleAt(devfn);
  }
}
