/**
 * The sPAPR PCI host bridge (hw/ppc/spapr_pci.c): `spapr-pci-host-bridge` with its QEMU 7.2
 * properties, the 256 PCI DRCs of its root bus, its TCE table children, its device-tree node
 * (spapr_dt_phb), and PHB hotplug through the machine (spapr_phb_pre_plug / _plug /
 * _unplug_request, spec/spapr-drc.md §1).
 */
import { Device, QemuError, boolProp, uint32Prop, uint64Prop, type HotplugHandler, type Machine, type TypeDef, type TypeImpl } from '@plugboard/qdev';
import { PCIHostBridge, isBridgeDevice, regs as R, type PCIBus } from '@plugboard/pci-core';
import * as K from './constants.js';
import type { SpaprDrc } from './drc.js';
import { FdtNode, cells, concat, u64s } from './fdt.js';
import { addBusDrcs, dtPciBus, removeBusDrcs, SpaprPciHandler } from './pci.js';
import { spaprOf } from './registry.js';
import type { Spapr } from './spapr.js';

export const TYPE_SPAPR_PCI_HOST_BRIDGE = 'spapr-pci-host-bridge';
export const TYPE_SPAPR_TCE_TABLE = 'spapr-tce-table';
/** Two DMA windows per PHB (spapr_phb_windows_supported with ddw=on). */
const SPAPR_PCI_DMA_MAX_WINDOWS = 2;
const INDEX_UNSET = 0xffffffff;
/** XICS MSIs a PHB may hand out (ibm,pe-total-#msi). */
const SPAPR_PE_TOTAL_MSI = 0xd00;
const RESOURCE_CELLS_ADDRESS = 3;
const RESOURCE_CELLS_SIZE = 2;
/** b_ss(): the space code in phys.hi of an OF PCI address. */
export const b_ss = (ss: number): number => (ss << 24) >>> 0;
const PCI_SLOT_MAX = 32;
/** LSI flags cell in interrupt-map (level). */
const LSI_LEVEL = 1;

/** spapr_phb_properties, declaration order (`info qtree`). */
const phbProperties = [
  { name: 'index', kind: uint32Prop, default: INDEX_UNSET },
  { name: 'mem_win_size', kind: uint64Prop, default: Number(K.SPAPR_PCI_MEM32_WIN_SIZE) },
  { name: 'mem64_win_size', kind: uint64Prop, default: Number(K.SPAPR_PCI_MEM64_WIN_SIZE) },
  { name: 'io_win_size', kind: uint64Prop, default: Number(K.SPAPR_PCI_IO_WIN_SIZE) },
  { name: 'dynamic-reconfiguration', kind: boolProp, default: true },
  { name: 'dma_win_addr', kind: uint64Prop, default: 0 },
  { name: 'dma_win_size', kind: uint64Prop, default: K.SPAPR_PCI_DMA32_SIZE },
  { name: 'dma64_win_addr', kind: uint64Prop, default: 0x800000000000000 },
  { name: 'ddw', kind: boolProp, default: true },
  { name: 'pgsz', kind: uint64Prop, default: 0x1211000 },
  { name: 'numa_node', kind: uint32Prop, default: 0xffffffff },
  { name: 'pre-2.8-migration', kind: boolProp, default: false },
  { name: 'pcie-extended-configuration-space', kind: boolProp, default: true },
  { name: 'gpa', kind: uint64Prop, default: 0 },
  { name: 'atsd', kind: uint64Prop, default: 0 },
  { name: 'pre-5.1-associativity', kind: boolProp, default: false },
  { name: 'x-config-reg-migration-enabled', kind: boolProp, default: true },
  { name: 'bypass-iommu', kind: boolProp, default: false },
];
/** device-list-properties order observed on 7.2 (QOM's hash order). */
const PHB_LIST_ORDER = [
  'bypass-iommu', 'x-config-reg-migration-enabled', 'numa_node', 'mem_win_size', 'pre-5.1-associativity', 'dma_win_size',
  'pcie-extended-configuration-space', 'pre-2.8-migration', 'dma_win_addr', 'io_win_size', 'index', 'dynamic-reconfiguration',
  'mem64_win_size', 'gpa', 'ddw', 'atsd', 'dma64_win_addr', 'pgsz',
];

export class SpaprPhb extends PCIHostBridge {
  pciHandler!: SpaprPciHandler;
  spapr: Spapr | undefined;
  private tceTables: Device[] = [];

  constructor(type: TypeImpl, machine: Machine) {
    super(type, machine);
  }

  get index(): number {
    return this.prop<number>('index');
  }
  get drEnabled(): boolean {
    return this.prop<boolean>('dynamic-reconfiguration');
  }
  get buid(): bigint {
    return K.SPAPR_PCI_BASE_BUID + BigInt(this.index);
  }
  /** SPAPR_PCI_LIOBN(index, window). */
  liobn(window: number): number {
    return (K.SPAPR_PCI_LIOBN_BASE | (this.index << 8) | window) >>> 0;
  }
  get dtName(): string {
    return `pci@${this.buid.toString(16)}`;
  }
  /** spapr_phb_placement: I/O window, then the 32-bit and 64-bit MMIO windows. */
  get ioWinAddr(): bigint {
    return K.SPAPR_PCI_BASE + BigInt(this.index) * K.SPAPR_PCI_IO_WIN_SIZE;
  }
  get memWinAddr(): bigint {
    return K.SPAPR_PCI_BASE + BigInt(this.index + 1) * K.SPAPR_PCI_MEM32_WIN_SIZE;
  }
  get mem64WinAddr(): bigint {
    return K.SPAPR_PCI_BASE + BigInt(this.index + 1) * K.SPAPR_PCI_MEM64_WIN_SIZE;
  }
  /** First of the PHB's four LSIs (SPAPR_IRQ_PCI_LSI + index * PCI_NUM_PINS). */
  get lsiBase(): number {
    return K.SPAPR_IRQ_PCI_LSI + this.index * K.PCI_NUM_PINS;
  }

  protected override onRealize(): void {
    const spapr = spaprOf(this.machine);
    if (!spapr) throw new QemuError(`${TYPE_SPAPR_PCI_HOST_BRIDGE} needs a pseries machine`);
    this.spapr = spapr;
    if (spapr.phbs.some((p) => p.index === this.index)) {
      throw new QemuError(`PCI host bridges must have unique indexes`);
    }
    // The board may have created the root bus already (pci.0); a hot-added PHB names it ID.0.
    if (!this.rootBus) this.createRootBus(this.machine.busName('PCI', this), false);
    this.pciHandler = new SpaprPciHandler(this, spapr);
    this.rootBus.setHotplugHandler(this.pciHandler, this);
    for (let w = 0; w < SPAPR_PCI_DMA_MAX_WINDOWS; w++) {
      const tce = this.machine.newDevice(TYPE_SPAPR_TCE_TABLE);
      this.addChild(`tce-table-${this.liobn(w).toString(16)}`, tce);
      tce.realize(undefined);
      this.tceTables.push(tce);
    }
    spapr.phbs.push(this);
    if (this.drEnabled) addBusDrcs(spapr, this, this.rootBus, this);
  }

  protected override onUnrealize(): void {
    const spapr = this.spapr!;
    removeBusDrcs(spapr, this);
    for (const t of this.tceTables.splice(0)) t.destroy();
    spapr.phbs.splice(spapr.phbs.indexOf(this), 1);
    this.rootBus.setHotplugHandler(undefined);
  }

  /**
   * spapr_phb_pci_enumerate: QEMU numbers the bridges itself whenever it describes the PHB
   * (there is no firmware bus walk on pseries); only plain type-1 headers count.
   */
  enumerate(): void {
    let busNo = 0;
    const walk = (bus: PCIBus): void => {
      for (const d of bus.inDevfnOrder()) {
        if (d.config.get8(R.PCI_HEADER_TYPE) !== R.PCI_HEADER_TYPE_BRIDGE || !isBridgeDevice(d)) continue;
        busNo++;
        d.config.set8(R.PCI_PRIMARY_BUS, bus.number);
        d.config.set8(R.PCI_SECONDARY_BUS, busNo);
        d.config.set8(R.PCI_SUBORDINATE_BUS, busNo);
        walk(d.secondaryBus);
        d.config.set8(R.PCI_SUBORDINATE_BUS, busNo);
      }
    };
    walk(this.rootBus);
  }

  /** spapr_dt_phb: the PHB node, its devices and connectors. */
  dtNode(spapr: Spapr, parent = new FdtNode('')): FdtNode {
    this.enumerate();
    const n = parent.addSubnode(this.dtName);
    n.setpropString('device_type', 'pci');
    n.setpropString('compatible', 'IBM,Logical_PHB');
    n.setpropCell('#interrupt-cells', 1);
    n.setpropEmpty('used-by-rtas');
    n.setpropCells('bus-range', [0, 0xff]);
    const range = (ss: number, child: bigint, parentAddr: bigint, size: bigint) => concat(cells(b_ss(ss)), u64s(child, parentAddr, size));
    n.setprop('ranges', concat(
      range(1, 0n, this.ioWinAddr, BigInt(this.prop<number>('io_win_size'))),
      range(2, K.SPAPR_PCI_MEM_WIN_BUS_OFFSET, this.memWinAddr, BigInt(this.prop<number>('mem_win_size'))),
      range(3, this.mem64WinAddr, this.mem64WinAddr, BigInt(this.prop<number>('mem64_win_size'))),
    ));
    n.setprop('reg', u64s(this.buid, 0n));
    if (this.prop<boolean>('pcie-extended-configuration-space')) n.setpropCell('ibm,pci-config-space-type', 1);
    n.setpropCell('ibm,pe-total-#msi', SPAPR_PE_TOTAL_MSI);
    if (this.prop<boolean>('ddw')) {
      n.setpropCells('ibm,ddw-applicable', [K.rtasToken('ibm,query-pe-dma-window'), K.rtasToken('ibm,create-pe-dma-window'), K.rtasToken('ibm,remove-pe-dma-window')]);
      n.setpropCells('ibm,ddw-extensions', [2, K.rtasToken('ibm,reset-pe-dma-window'), 1]);
    }
    n.setpropCells('interrupt-map-mask', [0xf800, 0, 0, 0xffffffff]);
    const map: number[] = [];
    for (let slot = 0; slot < PCI_SLOT_MAX; slot++) {
      for (let pin = 0; pin < K.PCI_NUM_PINS; pin++) map.push(slot << 11, 0, 0, pin + 1, K.PHANDLE_INTC, this.lsiBase + ((pin + slot) % K.PCI_NUM_PINS), LSI_LEVEL);
    }
    n.setpropCells('interrupt-map', map);
    n.setpropCell('ibm,#dma-address-cells', 2);
    n.setpropCell('ibm,#dma-size-cells', 2);
    n.setprop('ibm,dma-window', concat(cells(this.liobn(0)), u64s(BigInt(this.prop<number>('dma_win_addr')), BigInt(this.prop<number>('dma_win_size')))));
    const drc = spapr.container.byId(K.SPAPR_DR_CONNECTOR_TYPE_SHIFT_PHB, this.index);
    if (drc) n.setpropCell('ibm,my-drc-index', drc.index);
    n.setpropCell('qemu,phb-enumerated', 1);
    n.setpropCell('#address-cells', RESOURCE_CELLS_ADDRESS);
    n.setpropCell('#size-cells', RESOURCE_CELLS_SIZE);
    dtPciBus(spapr, this, this.rootBus, n);
    return n;
  }
}

/** The machine's PHB hotplug hooks (spapr_phb_pre_plug, _plug, _unplug_request, _unplug). */
export function phbMachineHandler(spapr: Spapr): HotplugHandler {
  const drcOf = (phb: SpaprPhb): SpaprDrc | undefined => spapr.container.byId(K.SPAPR_DR_CONNECTOR_TYPE_SHIFT_PHB, phb.index);
  return {
    prePlug(dev) {
      const phb = dev as SpaprPhb;
      if (phb.index === INDEX_UNSET) throw new QemuError('"index" for PAPR PHB is mandatory');
      if (drcOf(phb)?.dev) throw new QemuError(`PHB ${phb.index} already attached`);
      if (phb.index >= K.SPAPR_MAX_PHBS) throw new QemuError(`"index" for PAPR PHB is too large (max ${K.SPAPR_MAX_PHBS - 1})`);
    },
    plug(dev) {
      const drc = drcOf(dev as SpaprPhb);
      if (!drc) return;
      drc.attach(dev);
      if (dev.hotplugged) spapr.hotplugAddByIndex(drc);
      else drc.resetState();
    },
    unplugRequest(dev) {
      const drc = drcOf(dev as SpaprPhb);
      if (!drc) throw new QemuError(`Device '${dev.typeName}' does not support hotplugging`);
      if (drc.unplugRequested) throw new QemuError(`PCI Host Bridge unplug already in progress for device ${dev.id}`);
      drc.unplugRequest();
      spapr.hotplugRemoveByIndex(drc);
    },
    unplug() {
      // spapr_phb_unplug: qdev_unrealize; the caller unparents (Device.destroy does both).
    },
  };
}

export const phbTypes: TypeDef[] = [
  {
    name: TYPE_SPAPR_PCI_HOST_BRIDGE, parent: 'pci-host-bridge', userCreatable: true, hotpluggable: true, category: 'bridge',
    description: 'SPAPR PCI Host Bridge', properties: phbProperties,
    instantiate: (t, m) => new SpaprPhb(t, m), classData: { propertyListOrder: PHB_LIST_ORDER },
  },
  { name: TYPE_SPAPR_TCE_TABLE, parent: 'device', userCreatable: false, hotpluggable: false },
];
