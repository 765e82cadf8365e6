/**
 * Device-tree nodes of PCI functions and buses below a PHB (hw/ppc/spapr_pci.c
 * spapr_dt_pci_device, spapr_dt_pci_bus, populate_resource_props, pci_find_device_name).
 * The same node is the configure-connector fragment of a hot-plugged function.
 */
import { isBridgeDevice, regs as R, type PCIBus, type PCIDevice } from '@plugboard/pci-core';
import * as K from './constants.js';
import type { DrcContainer } from './container.js';
import { cells, concat, type FdtNode } from './fdt.js';

/** OF PCI address phys.hi fields (PCI Bus Binding to OF). */
const b_bbbbbbbb = (bus: number): number => bus << 16;
const b_ddddd = (slot: number): number => slot << 11;
const b_fff = (fn: number): number => fn << 8;
const b_ss = (ss: number): number => (ss << 24) >>> 0;
const SS_IO = 1;
const SS_MEM32 = 2;
const SS_MEM64 = 3;
const PCI_STATUS_DEVSEL_MASK = 0x0600;
const PCI_STATUS_UDF = 0x40;
const RESOURCE_CELLS_ADDRESS = 3;
const RESOURCE_CELLS_SIZE = 2;

/**
 * Node names by class (pci_find_device_name's tables), as far as QEMU's PCI catalog reaches:
 * class -> its name and subclass names; an unlisted subclass keeps the class name.
 */
const PCI_CLASS_NAMES: Array<[string, Record<number, string>]> = [
  ['legacy-device', {}],
  ['mass-storage', { 0x00: 'scsi', 0x01: 'ide', 0x02: 'fdc', 0x03: 'ipi', 0x04: 'raid', 0x05: 'ata', 0x06: 'sata', 0x07: 'sas' }],
  ['network', { 0x00: 'ethernet', 0x01: 'token-ring', 0x02: 'fddi', 0x03: 'atm', 0x04: 'isdn', 0x05: 'worldfip', 0x06: 'picmg' }],
  ['display', { 0x00: 'vga', 0x01: 'xga', 0x02: '3d-controller' }],
  ['multimedia-device', { 0x00: 'video', 0x01: 'sound', 0x02: 'telephony' }],
  ['memory-controller', { 0x00: 'memory', 0x01: 'flash' }],
  ['unknown-bridge', { 0x00: 'host', 0x01: 'isa', 0x02: 'eisa', 0x03: 'mca', 0x04: 'pci', 0x05: 'pcmcia', 0x06: 'nubus', 0x07: 'cardbus', 0x08: 'raceway', 0x09: 'semi-transparent-pci', 0x0a: 'infiniband' }],
  ['communication-controller', { 0x00: 'serial', 0x01: 'parallel', 0x02: 'multiport-serial', 0x03: 'modem' }],
  ['system-peripheral', { 0x00: 'interrupt-controller', 0x01: 'dma-controller', 0x02: 'timer', 0x03: 'rtc', 0x04: 'hot-plug-controller', 0x05: 'sd-host-controller' }],
  ['input-controller', { 0x00: 'keyboard', 0x01: 'pen', 0x02: 'mouse', 0x03: 'scanner', 0x04: 'gameport' }],
  ['docking-station', {}],
  ['cpu', { 0x00: '386', 0x01: '486', 0x02: 'pentium', 0x10: 'alpha', 0x20: 'powerpc', 0x30: 'mips', 0x40: 'co-processor' }],
  ['serial-bus', { 0x00: 'firewire', 0x01: 'access-bus', 0x02: 'ssa', 0x03: 'usb', 0x04: 'fibre-channel', 0x05: 'smb', 0x06: 'infiniband', 0x07: 'ipmi', 0x08: 'sercos', 0x09: 'canbus' }],
  ['wireless-controller', { 0x00: 'irda', 0x01: 'consumer-ir', 0x10: 'rf-controller', 0x11: 'bluetooth', 0x12: 'broadband' }],
  ['intelligent-io', { 0x00: 'i2o' }],
  ['satellite-device', { 0x01: 'satellite-tv', 0x02: 'satellite-audio', 0x03: 'satellite-voice', 0x04: 'satellite-data' }],
  ['encryption', { 0x00: 'network-encryption', 0x01: 'entertainment-encryption' }],
  ['data-processing-controller', { 0x00: 'dpio' }],
];

export function pciNodeBaseName(classCode: number): string {
  const cls = (classCode >> 16) & 0xff;
  const sub = (classCode >> 8) & 0xff;
  const entry = PCI_CLASS_NAMES[cls];
  if (!entry) return 'pci';
  return entry[1][sub] ?? entry[0];
}

/** spapr_pci_fw_dev_name: NAME@SLOT or NAME@SLOT,FN. */
export function pciNodeName(dev: PCIDevice): string {
  const base = pciNodeBaseName(dev.config.get32(R.PCI_REVISION_ID) >>> 8);
  return dev.fn ? `${base}@${dev.slot.toString(16)},${dev.fn.toString(16)}` : `${base}@${dev.slot.toString(16)}`;
}

/** chassis_from_bus: 0 for a PHB's root bus, else the owning bridge's chassis_nr. */
export function chassisOf(bus: PCIBus): number {
  return bus.isRoot ? 0 : (bus.bridge!.prop<number>('chassis_nr') ?? 0);
}

/** drc_id_from_devfn. */
export function pciDrcId(phbIndex: number, chassis: number, devfn: number): number {
  return ((phbIndex << 16) | (chassis << 8) | (devfn & 0xff)) >>> 0;
}

/** populate_resource_props: config space, then each BAR (and the ROM) with its size. */
function regProperty(dev: PCIDevice): Uint8Array {
  const devId = b_bbbbbbbb(dev.pciBus.number) | b_ddddd(dev.slot) | b_fff(dev.fn);
  const words = [devId, 0, 0, 0, 0];
  dev.bars.forEach((bar, i) => {
    if (!bar || !bar.size) return;
    const ss = bar.type === 'io' ? SS_IO : bar.type === 'mem64' ? SS_MEM64 : SS_MEM32;
    words.push((devId | dev.barOffset(i) | b_ss(ss)) >>> 0, 0, 0, Math.floor(bar.size / 2 ** 32), bar.size >>> 0);
  });
  return cells(...words);
}

/** The MSI vectors enabled in Multiple Message Enable (msi_nr_vectors_allocated). */
function msiVectorsAllocated(dev: PCIDevice): number {
  const off = dev.caps.get(R.PCI_CAP_ID_MSI);
  if (off === undefined) return 0;
  return 1 << ((dev.config.get16(off + R.PCI_MSI_FLAGS) & R.PCI_MSI_FLAGS_QSIZE) >> 4);
}

export interface DtPciContext {
  container: DrcContainer;
  phbIndex: number;
  /** pcie-extended-configuration-space of the PHB. */
  pcieEcs: boolean;
}

/** spapr_dt_pci_device: a function's node under `parent` (bridges include their bus). */
export function dtPciDevice(ctx: DtPciContext, dev: PCIDevice, parent: FdtNode): FdtNode {
  const c = dev.config;
  const n = parent.addSubnode(pciNodeName(dev));
  n.setpropCell('vendor-id', c.get16(R.PCI_VENDOR_ID));
  n.setpropCell('device-id', c.get16(R.PCI_DEVICE_ID));
  n.setpropCell('revision-id', c.get8(R.PCI_REVISION_ID));
  n.setpropCell('class-code', c.get32(R.PCI_REVISION_ID) >>> 8);
  const pin = c.get8(R.PCI_INTERRUPT_PIN);
  if (pin) n.setpropCell('interrupts', pin);
  const ssid = c.get16(R.PCI_SUBSYSTEM_ID);
  const ssvid = c.get16(R.PCI_SUBSYSTEM_VENDOR_ID);
  // Read at 0x2c/0x2e whatever the header type (a bridge has its prefetchable limit there).
  if (ssid) n.setpropCell('subsystem-id', ssid);
  if (ssvid) n.setpropCell('subsystem-vendor-id', ssvid);
  n.setpropCell('cache-line-size', c.get8(R.PCI_CACHE_LINE_SIZE));
  const status = c.get16(R.PCI_STATUS);
  n.setpropCell('devsel-speed', status & PCI_STATUS_DEVSEL_MASK);
  if (status & R.PCI_STATUS_FAST_BACK) n.setpropEmpty('fast-back-to-back');
  if (status & R.PCI_STATUS_66MHZ) n.setpropEmpty('66mhz-capable');
  if (status & PCI_STATUS_UDF) n.setpropEmpty('udf-supported');
  n.setpropString('ibm,loc-code', `qemu_${dev.typeName}:${hex(ctx.phbIndex, 4)}:${hex(dev.pciBus.number, 2)}:${hex(dev.slot, 2)}.${dev.fn.toString(16)}`);
  const drc = ctx.container.byId(K.SPAPR_DR_CONNECTOR_TYPE_SHIFT_PCI, pciDrcId(ctx.phbIndex, chassisOf(dev.pciBus), dev.devfn));
  if (drc) n.setpropCell('ibm,my-drc-index', drc.index);
  const msi = msiVectorsAllocated(dev);
  if (msi) n.setpropCell('ibm,req#msi', msi);
  const msix = dev.caps.has(R.PCI_CAP_ID_MSIX) ? (dev.msixLayout?.vectors ?? 0) : 0;
  if (msix) n.setpropCell('ibm,req#msi-x', msix);
  n.setprop('reg', regProperty(dev));
  // pci_is_express(): a PCIe function by class, whatever bus it sits on.
  if (ctx.pcieEcs && dev.identity.express) n.setpropCell('ibm,pci-config-space-type', 1);
  if (!isBridgeDevice(dev)) {
    n.setpropCell('min-grant', c.get8(R.PCI_MIN_GNT));
    n.setpropCell('max-latency', c.get8(R.PCI_MAX_LAT));
    return n;
  }
  dtPciBusInto(ctx, dev.secondaryBus, n, dev);
  return n;
}

/** spapr_dt_pci_bus: cell sizes, the functions (so that they read in devfn order), the DRC arrays. */
export function dtPciBusInto(ctx: DtPciContext, bus: PCIBus, node: FdtNode, owner: object): void {
  node.setpropCell('#address-cells', RESOURCE_CELLS_ADDRESS);
  node.setpropCell('#size-cells', RESOURCE_CELLS_SIZE);
  for (const dev of [...bus.inDevfnOrder()].reverse()) dtPciDevice(ctx, dev, node);
  dtDrcArrays(ctx.container, node, owner, K.SPAPR_DR_CONNECTOR_TYPE_PCI);
}

/** spapr_dt_drc: ibm,drc-indexes / -power-domains / -names / -types for the selected DRCs. */
export function dtDrcArrays(container: DrcContainer, node: FdtNode, owner: object | undefined, typeMask: number): void {
  const drcs = container.select(owner as never, typeMask);
  const count = cells(drcs.length);
  node.setprop('ibm,drc-indexes', concat(count, cells(...drcs.map((d) => d.index))));
  node.setprop('ibm,drc-power-domains', concat(count, cells(...drcs.map(() => K.SPAPR_LIVE_INSERTION_POWER_DOMAIN))));
  const text = (ss: string[]) => new TextEncoder().encode(ss.map((s) => s + '\0').join(''));
  node.setprop('ibm,drc-names', concat(count, text(drcs.map((d) => d.drcName))));
  node.setprop('ibm,drc-types', concat(count, text(drcs.map((d) => d.info.dtTypeName))));
}

const hex = (v: number, w: number): string => v.toString(16).padStart(w, '0');
