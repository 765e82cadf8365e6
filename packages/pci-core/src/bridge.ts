/**
 * PCI-PCI bridges (hw/pci/pci_bridge.c): the secondary bus, window decoding as
 * pci_bridge_get_base/limit compute it.
 */
import type { Machine, TypeImpl } from '@plugboard/qdev';
import { PCIBus } from './pci-bus.js';
import { PCIDevice } from './pci-device.js';
import * as R from './regs.js';

export interface BridgeRange {
  base: number;
  limit: number;
}

export class PCIBridge extends PCIDevice {
  secondaryBus!: PCIBus;

  constructor(type: TypeImpl, machine: Machine) {
    super(type, machine);
  }

  /** Secondary bus type: `PCIE` for PCIe ports, `PCI` for PCI bridges. */
  protected get secondaryIsExpress(): boolean {
    return !!this.type.classData.secondaryExpress;
  }

  override realize(bus: Parameters<PCIDevice['realize']>[0]): void {
    // The bus exists before realize so that the id-named bus can be found by children.
    if (!this.secondaryBus) {
      const name = this.machine.busName(this.secondaryIsExpress ? 'PCIE' : 'PCI', this, this.id || undefined);
      this.secondaryBus = new PCIBus(name, { express: this.secondaryIsExpress, root: false });
      this.addChildBus(this.secondaryBus);
    }
    super.realize(bus);
  }

  ioRange(): BridgeRange {
    const c = this.config;
    let base = (c.get8(R.PCI_IO_BASE) & 0xf0) << 8;
    let limit = ((c.get8(R.PCI_IO_LIMIT) & 0xf0) << 8) | 0xfff;
    if ((c.get8(R.PCI_IO_BASE) & R.PCI_IO_RANGE_TYPE_MASK) === R.PCI_IO_RANGE_TYPE_32) {
      base += c.get16(R.PCI_IO_BASE_UPPER16) * 0x10000;
      limit += c.get16(R.PCI_IO_LIMIT_UPPER16) * 0x10000;
    }
    return { base, limit };
  }

  memoryRange(): BridgeRange {
    const c = this.config;
    return {
      base: (c.get16(R.PCI_MEMORY_BASE) & 0xfff0) * 0x10000,
      limit: (c.get16(R.PCI_MEMORY_LIMIT) & 0xfff0) * 0x10000 + 0xfffff,
    };
  }

  prefetchableRange(): BridgeRange {
    const c = this.config;
    let base = (c.get16(R.PCI_PREF_MEMORY_BASE) & 0xfff0) * 0x10000;
    let limit = (c.get16(R.PCI_PREF_MEMORY_LIMIT) & 0xfff0) * 0x10000 + 0xfffff;
    if ((c.get16(R.PCI_PREF_MEMORY_BASE) & R.PCI_PREF_RANGE_TYPE_MASK) === R.PCI_PREF_RANGE_TYPE_64) {
      base += c.get32(R.PCI_PREF_BASE_UPPER32) * 2 ** 32;
      limit += c.get32(R.PCI_PREF_LIMIT_UPPER32) * 2 ** 32;
    }
    return { base, limit };
  }
}
