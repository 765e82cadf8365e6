export * as regs from './regs.js';
export { ConfigSpace } from './config-space.js';
export {
  PCIDevice, PCI_BAR_UNMAPPED, disableBaseLimit, pciDeviceProperties,
  type BarDef, type BarType, type PciIdentity, type PciClassHooks, type PciFunctionModel, type PciInterruptSink,
} from './pci-device.js';
export { PCIBus, TYPE_PCI_BUS, TYPE_PCIE_BUS, type IntxSink } from './pci-bus.js';
export { PCIBridge, type BridgeRange } from './bridge.js';
export { PCIHostBridge } from './host.js';
export * as caps from './caps.js';
export * from './pcie-regs.js';
export {
  queryPci, formatInfoPci, formatQtreePciLines, findBusNr, regionsOf, isBridgeDevice, PCI_CLASS_DESCRIPTIONS,
  type PciDeviceInfo, type PciBusInfo, type PciMemoryRegion,
} from './info-pci.js';
export {
  GuestView, formatBdf, type Bdf, type TraceRecord, type TraceSink, type IoRegion, type InterruptEvent, type InterruptHandler, type BarAccess,
} from './guest-view.js';
export { dumpConfigSpace } from './lspci.js';
export { pciCatalogPlugin, pciTypes, pciClass } from './catalog/index.js';
export { VirtioPCIDevice } from './catalog/virtio.js';
export { qemuProperties } from './catalog/props.js';
