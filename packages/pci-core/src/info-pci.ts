/**
 * query-pci, HMP `info pci` and the PCI lines of `info qtree`
 * (hw/pci/pci.c qmp_query_pci, monitor/hmp-cmds.c hmp_info_pci, pcibus_dev_print).
 */
import type { PCIBus } from './pci-bus.js';
import { PCI_BAR_UNMAPPED, type PCIDevice } from './pci-device.js';
import type { PCIBridge } from './bridge.js';
import * as R from './regs.js';

/** hw/pci/pci.c pci_class_descriptions: exact class-word matches only. */
export const PCI_CLASS_DESCRIPTIONS: ReadonlyMap<number, string> = new Map([
  [0x0001, 'VGA controller'], [0x0100, 'SCSI controller'], [0x0101, 'IDE controller'], [0x0102, 'Floppy controller'],
  [0x0103, 'IPI controller'], [0x0104, 'RAID controller'], [0x0106, 'SATA controller'], [0x0107, 'SAS controller'],
  [0x0180, 'Storage controller'], [0x0200, 'Ethernet controller'], [0x0201, 'Token Ring controller'],
  [0x0202, 'FDDI controller'], [0x0203, 'ATM controller'], [0x0280, 'Network controller'], [0x0300, 'VGA controller'],
  [0x0301, 'XGA controller'], [0x0302, '3D controller'], [0x0380, 'Display controller'], [0x0400, 'Video controller'],
  [0x0401, 'Audio controller'], [0x0402, 'Phone'], [0x0403, 'Audio controller'], [0x0480, 'Multimedia controller'],
  [0x0500, 'RAM controller'], [0x0501, 'Flash controller'], [0x0580, 'Memory controller'], [0x0600, 'Host bridge'],
  [0x0601, 'ISA bridge'], [0x0602, 'EISA bridge'], [0x0603, 'MC bridge'], [0x0604, 'PCI bridge'],
  [0x0605, 'PCMCIA bridge'], [0x0606, 'NUBUS bridge'], [0x0607, 'CARDBUS bridge'], [0x0608, 'RACEWAY bridge'],
  [0x0680, 'Bridge'], [0x0700, 'Serial port'], [0x0701, 'Parallel port'], [0x0800, 'Interrupt controller'],
  [0x0801, 'DMA controller'], [0x0802, 'Timer'], [0x0803, 'RTC'], [0x0900, 'Keyboard'], [0x0901, 'Pen'],
  [0x0902, 'Mouse'], [0x0a00, 'Dock station'], [0x0b00, 'i386 cpu'], [0x0c00, 'Firewire controller'],
  [0x0c01, 'Access bus controller'], [0x0c02, 'SSA controller'], [0x0c03, 'USB controller'],
  [0x0c04, 'Fibre channel controller'], [0x0c05, 'SMBus'],
]);

export interface PciMemoryRegion {
  prefetch?: boolean;
  mem_type_64?: boolean;
  bar: number;
  size: number;
  address: number;
  type: 'memory' | 'io';
}

export interface PciDeviceInfo {
  irq_pin: number;
  bus: number;
  pci_bridge?: { bus: PciBusInfo; devices?: PciDeviceInfo[] };
  qdev_id: string;
  irq?: number;
  slot: number;
  class_info: { class: number; desc?: string };
  id: { device: number; 'subsystem-vendor'?: number; vendor: number; subsystem?: number };
  function: number;
  regions: PciMemoryRegion[];
}

export interface PciBusInfo {
  prefetchable_range: { limit: number; base: number };
  memory_range: { limit: number; base: number };
  secondary: number;
  io_range: { limit: number; base: number };
  number: number;
  subordinate: number;
}

export function isBridgeDevice(d: PCIDevice): d is PCIBridge {
  return d.isBridge && 'secondaryBus' in d;
}

/** Finds the bus numbered `nr` below `root` (pci_find_bus_nr). */
export function findBusNr(root: PCIBus, nr: number): PCIBus | undefined {
  if (root.number === nr) return root;
  // Hot path of every config access: a plain loop over the devfn table, no generator.
  for (const d of root.devfns) {
    if (!d || !isBridgeDevice(d)) continue;
    const sec = d.config.get8(R.PCI_SECONDARY_BUS);
    const sub = d.config.get8(R.PCI_SUBORDINATE_BUS);
    if (sec === 0 || nr < sec || nr > sub) continue;
    const found = findBusNr(d.secondaryBus, nr);
    if (found) return found;
  }
  return undefined;
}

export function regionsOf(d: PCIDevice): PciMemoryRegion[] {
  const out: PciMemoryRegion[] = [];
  for (let i = 0; i < R.PCI_NUM_REGIONS; i++) {
    const b = d.bars[i];
    if (!b || b.size === 0) continue;
    const address = d.barAddress(i);
    if (b.type === 'io') out.push({ bar: i, type: 'io', address, size: b.size });
    else out.push({ bar: i, type: 'memory', address, size: b.size, prefetch: !!b.prefetch, mem_type_64: b.type === 'mem64' });
  }
  return out;
}

/**
 * Members are inserted in QAPI schema order (qapi/pci.json); the QMP writer turns that
 * into QEMU's QDict output order.
 */
function deviceInfo(root: PCIBus, d: PCIDevice): PciDeviceInfo {
  const c = d.config;
  const cls = c.get16(R.PCI_CLASS_DEVICE);
  const desc = PCI_CLASS_DESCRIPTIONS.get(cls);
  const header = c.get8(R.PCI_HEADER_TYPE) & 0x7f;
  const pin = c.get8(R.PCI_INTERRUPT_PIN);
  const id: PciDeviceInfo['id'] = { device: c.get16(R.PCI_DEVICE_ID), vendor: c.get16(R.PCI_VENDOR_ID) };
  if (header === R.PCI_HEADER_TYPE_NORMAL || header === 2) {
    id.subsystem = c.get16(R.PCI_SUBSYSTEM_ID);
    id['subsystem-vendor'] = c.get16(R.PCI_SUBSYSTEM_VENDOR_ID);
  }
  const info = {
    bus: d.pciBus.number,
    slot: d.slot,
    function: d.fn,
    class_info: desc === undefined ? { class: cls } : { desc, class: cls },
    id,
    ...(pin !== 0 ? { irq: c.get8(R.PCI_INTERRUPT_LINE) } : {}),
    irq_pin: pin,
    qdev_id: d.id ?? '',
  } as PciDeviceInfo;
  if (header === R.PCI_HEADER_TYPE_BRIDGE && isBridgeDevice(d)) {
    const bridgeInfo: { bus: PciBusInfo; devices?: PciDeviceInfo[] } = {
      bus: {
        number: d.pciBus.number,
        secondary: c.get8(R.PCI_SECONDARY_BUS),
        subordinate: c.get8(R.PCI_SUBORDINATE_BUS),
        io_range: d.ioRange(),
        memory_range: d.memoryRange(),
        prefetchable_range: d.prefetchableRange(),
      },
    };
    const sec = c.get8(R.PCI_SECONDARY_BUS);
    if (sec !== 0) {
      const child = findBusNr(root, sec);
      if (child) bridgeInfo.devices = [...child.inDevfnOrder()].map((x) => deviceInfo(root, x));
    }
    info.pci_bridge = bridgeInfo;
  }
  info.regions = regionsOf(d);
  return info;
}

/** query-pci for a list of root buses (one entry per host bridge). */
export function queryPci(roots: PCIBus[]): Array<{ bus: number; devices: PciDeviceInfo[] }> {
  return roots.map((root) => ({ bus: root.number, devices: [...root.inDevfnOrder()].map((d) => deviceInfo(root, d)) }));
}

const hex = (v: number, w: number) => v.toString(16).padStart(w, '0');

function barLine(r: PciMemoryRegion): string {
  const addr = r.address === PCI_BAR_UNMAPPED ? 'ffffffffffffffff' : hex(r.address, 1);
  const end = r.address === PCI_BAR_UNMAPPED ? r.size - 2 : r.address + r.size - 1;
  if (r.type === 'io') return `      BAR${r.bar}: I/O at 0x${addr === 'ffffffffffffffff' ? addr : hex(r.address, 4)} [0x${hex(end, 4)}].`;
  const kind = `${r.mem_type_64 ? '64 bit' : '32 bit'}${r.prefetch ? ' prefetchable' : ''} memory`;
  return `      BAR${r.bar}: ${kind} at 0x${r.address === PCI_BAR_UNMAPPED ? addr : hex(r.address, 8)} [0x${hex(end, 8)}].`;
}

/** HMP `info pci` from query-pci data (hmp_info_pci_device). */
export function formatInfoPci(data: Array<{ bus: number; devices: PciDeviceInfo[] }>): string {
  const lines: string[] = [];
  const dev = (d: PciDeviceInfo) => {
    lines.push(`  Bus ${String(d.bus).padStart(2)}, device ${String(d.slot).padStart(3)}, function ${d.function}:`);
    const cls = d.class_info.desc ?? `Class ${String(d.class_info.class).padStart(4, '0')}`;
    lines.push(`    ${cls}: PCI device ${hex(d.id.vendor, 4)}:${hex(d.id.device, 4)}`);
    if (d.id['subsystem-vendor'] !== undefined) lines.push(`      PCI subsystem ${hex(d.id['subsystem-vendor'], 4)}:${hex(d.id.subsystem!, 4)}`);
    if (d.irq_pin) lines.push(`      IRQ ${d.irq}, pin ${String.fromCharCode(64 + d.irq_pin)}`);
    if (d.pci_bridge) {
      const b = d.pci_bridge.bus;
      lines.push(`      BUS ${b.number}.`);
      lines.push(`      secondary bus ${b.secondary}.`);
      lines.push(`      subordinate bus ${b.subordinate}.`);
      lines.push(`      IO range [0x${hex(b.io_range.base, 4)}, 0x${hex(b.io_range.limit, 4)}]`);
      lines.push(`      memory range [0x${hex(b.memory_range.base, 8)}, 0x${hex(b.memory_range.limit, 8)}]`);
      lines.push(`      prefetchable memory range [0x${hex(b.prefetchable_range.base, 8)}, 0x${hex(b.prefetchable_range.limit, 8)}]`);
    }
    for (const r of d.regions) lines.push(barLine(r));
    lines.push(`      id "${d.qdev_id}"`);
    for (const c of d.pci_bridge?.devices ?? []) dev(c);
  };
  for (const root of data) for (const d of root.devices) dev(d);
  return lines.map((l) => l + '\r\n').join('');
}

/** `info qtree` lines for a PCI device (pcibus_dev_print). */
export function formatQtreePciLines(d: PCIDevice): string[] {
  if (!d.config) return [];
  const c = d.config;
  const cls = c.get16(R.PCI_CLASS_DEVICE);
  const desc = PCI_CLASS_DESCRIPTIONS.get(cls);
  const out = [
    `class ${desc ?? `Class ${hex(cls, 4)}`}, addr ${hex(d.pciBus.number, 2)}:${hex(d.slot, 2)}.${d.fn}, pci id ${hex(c.get16(R.PCI_VENDOR_ID), 4)}:${hex(c.get16(R.PCI_DEVICE_ID), 4)} (sub ${hex(c.get16(R.PCI_SUBSYSTEM_VENDOR_ID), 4)}:${hex(c.get16(R.PCI_SUBSYSTEM_ID), 4)})`,
  ];
  for (const r of regionsOf(d)) {
    const addr = r.address === PCI_BAR_UNMAPPED ? 0xffffffffffffffffn : BigInt(r.address);
    const end = (addr + BigInt(r.size) - 1n) & 0xffffffffffffffffn;
    out.push(`bar ${r.bar}: ${r.type === 'io' ? 'i/o' : 'mem'} at 0x${addr.toString(16)} [0x${end.toString(16)}]`);
  }
  return out;
}
