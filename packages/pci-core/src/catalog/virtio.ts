/**
 * virtio-pci proxies (hw/virtio/virtio-pci.c): transitional IDs on conventional buses and
 * on the PCIe root bus, modern IDs (0x1040 + virtio id) behind a PCIe port
 * (`disable-legacy=auto`). Each proxy owns a `virtio-backend` child device on its
 * virtio bus, which gets its own DEVICE_DELETED first.
 */
import { Bus, Device, type Machine, type TypeDef, type TypeImpl } from '@plugboard/qdev';
import { PCIDevice, type BarDef, type PciIdentity } from '../pci-device.js';
import * as R from '../regs.js';
import * as C from '../caps.js';
import { qemuProperties } from './props.js';
import { defaultMac } from './nic.js';

const KiB = 1024;
const VIRTIO_PCI_MODERN_BASE = 0x1040;

/** Virtio structure capabilities (cfg_type, bar, offset, length) in the order QEMU adds them. */
const VIRTIO_PCI_CAP_COMMON_CFG = 1;
const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
const VIRTIO_PCI_CAP_ISR_CFG = 3;
const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
const VIRTIO_PCI_CAP_PCI_CFG = 5;
const MODERN_BAR = 4;

interface VirtioModel {
  /** virtio device id (net 1, blk 2, scsi 8, input 18). */
  virtioId: number;
  transitionalId?: number;
  classCode: number;
  legacyIoSize?: number;
  backend: string;
  /** The option ROM QEMU loads (efi-virtio.rom for virtio-net), its size. */
  rom?: { file: string; size: number };
  /** MSI-X vectors when `vectors` is left unspecified (each device's realize in QEMU). */
  autoVectors?: (dev: PCIDevice) => number;
}

/** PCI_MSIX_FLAGS_QSIZE and VIRTIO_QUEUE_MAX bound the per-vCPU queues QEMU picks. */
const PCI_MSIX_FLAGS_QSIZE = 0x7ff;
const VIRTIO_QUEUE_MAX = 1024;

/**
 * virtio_pci_optimal_num_queues (hw/virtio/virtio-pci.c): one request queue per vCPU, within
 * the MSI-X and virtqueue limits left after the device's fixed queues.
 */
function optimalNumQueues(dev: PCIDevice, fixedQueues: number): number {
  return Math.min(dev.machine.smpCpus, PCI_MSIX_FLAGS_QSIZE - fixedQueues, VIRTIO_QUEUE_MAX - fixedQueues);
}

/** A queue-count property, or the per-vCPU count when left at its "auto" default. */
function numQueues(dev: PCIDevice, prop: string, auto: number, fixedQueues: number): number {
  const n = dev.prop<number>(prop);
  return n === auto ? optimalNumQueues(dev, fixedQueues) : n;
}

export class VirtioPCIDevice extends PCIDevice {
  backend: Device | undefined;
  virtioBus: Bus | undefined;

  constructor(type: TypeImpl, machine: Machine) {
    super(type, machine);
  }

  get model(): VirtioModel {
    return this.type.classData.virtio as VirtioModel;
  }

  /** disable-legacy=auto: modern only on a PCIe bus that is not a root bus. */
  get isModernOnly(): boolean {
    const v = this.prop<string>('disable-legacy');
    if (v === 'on') return true;
    if (v === 'off') return false;
    return this.pciBus.isExpress && !this.pciBus.isRoot;
  }

  protected override realizeModel(): void {
    // virtio_pci_realize resolves `auto` for good: qom-get shows on or off afterwards.
    if (this.prop<string>('disable-legacy') === 'auto') this.values.set('disable-legacy', this.isModernOnly ? 'on' : 'off');
    // virtio_pci_bus_new names every proxy's bus "virtio-bus" (hw/virtio/virtio-pci.c).
    this.virtioBus = new Bus('virtio-bus', ['virtio-pci-bus', 'virtio-bus', 'bus']);
    this.virtioBus.maxDevices = 1; // one backend per proxy
    this.addChildBus(this.virtioBus);
    this.virtioBus.realized = true;
    const backend = this.machine.newDevice(this.model.backend);
    this.addChild('virtio-backend', backend);
    backend.realize(this.virtioBus);
    this.backend = backend;
  }
}

function virtioIdentity(dev: PCIDevice, base: PciIdentity): PciIdentity {
  const v = dev as VirtioPCIDevice;
  const m = v.model;
  const modern = v.isModernOnly;
  const bars: BarDef[] = [];
  if (!modern && m.legacyIoSize) bars.push({ index: 0, size: m.legacyIoSize, type: 'io' });
  bars.push({ index: 1, size: 4 * KiB, type: 'mem32' });
  bars.push({ index: MODERN_BAR, size: 16 * KiB, type: 'mem64', prefetch: true });
  return {
    ...base,
    deviceId: modern || m.transitionalId === undefined ? VIRTIO_PCI_MODERN_BASE + m.virtioId : m.transitionalId,
    revision: modern || m.transitionalId === undefined ? 1 : 0,
    subsystemId: modern || m.transitionalId === undefined ? R.PCI_SUBDEVICE_ID_QEMU : m.virtioId,
    express: dev.pciBus.isExpress && !dev.pciBus.isRoot,
    bars,
  };
}

function virtioCaps(dev: PCIDevice): void {
  if (dev.type.property('mac')) defaultMac(dev);
  const structs: Array<[number, number, number, number, number]> = [
    // offset, cfg_type, offset in BAR, length, extra
    [0x40, VIRTIO_PCI_CAP_COMMON_CFG, 0x0000, 0x1000, 0],
    [0x50, VIRTIO_PCI_CAP_ISR_CFG, 0x1000, 0x1000, 0],
    [0x60, VIRTIO_PCI_CAP_DEVICE_CFG, 0x2000, 0x1000, 0],
    [0x70, VIRTIO_PCI_CAP_NOTIFY_CFG, 0x3000, 0x1000, 4],
  ];
  for (const [off, cfgType, barOff, len, extra] of structs) {
    const capLen = 16 + extra;
    const bytes = [capLen, cfgType, MODERN_BAR, 0, 0, 0, ...le32(barOff), ...le32(len)];
    if (extra) bytes.push(...le32(4));
    C.vendorCapInit(dev, off, bytes);
  }
  // The PCI configuration access capability keeps its window fields writable.
  C.vendorCapInit(dev, 0x84, [20, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, 0, ...le32(0), ...le32(0), ...le32(0)]);
  dev.config.wmask.fill(0xff, 0x84 + 4, 0x84 + 20);
  const vectors = dev.prop<number>('vectors');
  const model = dev.type.classData.virtio as VirtioModel | undefined;
  const n = vectors === 0xffffffff ? (model?.autoVectors?.(dev) ?? 3) : vectors;
  if (n > 0) C.msixInit(dev, 0x98, n, 1, 0, 1, 0x800);
  if (dev.isExpress) {
    C.pcieCapInit(dev, 0xa4, C.PCI_EXP_TYPE_ENDPOINT);
    C.pmInit(dev, 0xe0);
  }
}

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

function virtioType(name: string, description: string, category: TypeDef['category'], m: VirtioModel, aliases?: string[]): TypeDef[] {
  return [
    {
      name, parent: 'virtio-pci', category, description, ...(aliases ? { aliases } : {}),
      properties: qemuProperties(name),
      classData: {
        virtio: m,
        pci: { vendorId: R.PCI_VENDOR_ID_REDHAT_QUMRANET, deviceId: m.transitionalId ?? VIRTIO_PCI_MODERN_BASE + m.virtioId, revision: 0, classCode: m.classCode, headerType: 0, interruptPin: 1, ...(m.rom ? { romfile: m.rom.file, romSize: m.rom.size } : {}) },
        pciHooks: { identity: virtioIdentity, capabilities: virtioCaps },
      },
    },
    // The backend alone is user-creatable but needs a free virtio bus (each proxy has one, full).
    { name: m.backend, parent: 'virtio-device' },
  ];
}

export const virtioTypes: TypeDef[] = [
  { name: 'virtio-pci', parent: 'pci-device', abstract: true, instantiate: (t: TypeImpl, mach: Machine) => new VirtioPCIDevice(t, mach) },
  { name: 'virtio-device', parent: 'device', abstract: true, busType: 'virtio-bus' },
  ...virtioType('virtio-net-pci', 'virtio-net-pci', 'network', { virtioId: 1, transitionalId: 0x1000, classCode: 0x020000, legacyIoSize: 32, backend: 'virtio-net-device', rom: { file: 'efi-virtio.rom', size: 256 * KiB },
    // virtio_net_pci_realize: 2 per queue pair (one pair without a multiqueue netdev), config, control.
    autoVectors: () => 2 * 1 + 2 }, ['virtio-net']),
  ...virtioType('virtio-blk-pci', 'virtio-blk-pci', 'storage', { virtioId: 2, transitionalId: 0x1001, classCode: 0x010000, legacyIoSize: 128, backend: 'virtio-blk-device',
    // virtio_blk_pci_realize: one per request queue (num-queues, per vCPU by default) + config.
    autoVectors: (dev) => numQueues(dev, 'num-queues', 0xffff, 0) + 1 }, ['virtio-blk']),
  ...virtioType('virtio-scsi-pci', 'virtio-scsi-pci', 'storage', { virtioId: 8, transitionalId: 0x1004, classCode: 0x010000, legacyIoSize: 64, backend: 'virtio-scsi-device',
    // virtio_scsi_pci_realize: request queues (num_queues, per vCPU by default) + control, event, config.
    autoVectors: (dev) => numQueues(dev, 'num_queues', 0xffffffff, 2) + 3 }, ['virtio-scsi']),
  ...virtioType('virtio-mouse-pci', 'virtio-mouse-pci', 'input', { virtioId: 18, classCode: 0x090200 /* PCI_CLASS_INPUT_MOUSE (virtio-input-pci.c) */, backend: 'virtio-mouse-device' }, ['virtio-mouse']),
];
