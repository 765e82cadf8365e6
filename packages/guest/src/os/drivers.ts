/**
 * Drivers: endpoint drivers matched by vendor/device/class ID (struct pci_device_id) that
 * do what their probe does to config space and print what Linux 6.1 prints, the PCI core
 * helpers they call (pci_enable_device, pci_set_master), and the registry hotplug drivers
 * (pciehp, shpchp, acpiphp, rpaphp) plug into.
 */
import { regs as R } from '@plugboard/pci-core';
import type { PciDev } from './pci-dev.js';
import type { IrqDispatcher } from './irq.js';
import { msixCapabilityInit } from './msix.js';
import type { LinuxGuest } from './linux.js';

/** One pci_device_id: omitted fields match anything (PCI_ANY_ID); class is compared under classMask. */
export interface PciDeviceId {
  vendor?: number;
  device?: number;
  class?: number;
  classMask?: number;
}

/** What a driver may use of the kernel; LinuxGuest implements it. */
export interface DriverHost {
  /** Linux IRQ numbers (MSI-X vectors reserved by a driver, x86 reservation mode). */
  readonly irq: Pick<IrqDispatcher, 'reserveMsiIrqs'>;
  log(driver: string, dev: PciDev, text: string): void;
  printk(text: string): void;
  /** Next free name for an interface (`eth`, `nvme`, `virtio`): eth0, eth1... */
  nextName(prefix: string): string;
}

export interface PciDriver {
  name: string;
  ids: PciDeviceId[];
  /** Printed once, when the module loads (module_init). */
  banner?: string[];
  /** Return false when the device is refused (no bind). */
  probe(dev: PciDev, host: DriverHost): boolean | void;
  remove?(dev: PciDev, host: DriverHost): void;
}

/** A hotplug driver: offered every bridge at boot (and bridges that appear later). */
export interface HotplugDriver {
  name: string;
  /** Once per boot, before ports are offered (e.g. acpiphp walks the ACPI namespace). */
  init?(guest: LinuxGuest): void;
  /** Claim `port` by returning true; a claimed port is not offered to later drivers. */
  probe?(port: PciDev, guest: LinuxGuest): boolean | void;
  /**
   * Offered ports another driver already claimed too (it cannot claim them): the PCIe port
   * driver binds every PCIe port for its PME/AER services whoever drives the slot.
   */
  seesClaimedPorts?: boolean;
  /** The port (or the whole guest, on shutdown) goes away. */
  remove?(port: PciDev, guest: LinuxGuest): void;
}

export function matchId(ids: PciDeviceId[], dev: PciDev): boolean {
  return ids.some(
    (id) =>
      (id.vendor === undefined || id.vendor === dev.vendor) &&
      (id.device === undefined || id.device === dev.device) &&
      (id.class === undefined || ((id.class ^ dev.class) & (id.classMask ?? 0xffffff)) === 0),
  );
}

const hex4 = (v: number) => v.toString(16).padStart(4, '0');

/**
 * pci_enable_device_flags: enable the bridges above first (pci_enable_bridge), then turn on
 * I/O and/or memory decoding for the resources of the requested kinds, and INTx.
 */
export function pciEnableDevice(dev: PciDev, host: DriverHost, kinds: { io: boolean; mem: boolean } = { io: true, mem: true }): void {
  const bridge = dev.upstream;
  if (bridge) pciEnableBridge(bridge, host);
  if (dev.enableCount++ > 0) return;
  // pci_enable_resources
  const old = dev.read16(R.PCI_COMMAND);
  let cmd = old;
  const windows = dev.subordinate?.windows ?? [];
  for (const [i, r] of [...dev.resources.entries(), ...windows.map((w, j) => [7 + j, w] as const)]) {
    if (!r || (i === R.PCI_ROM_SLOT)) continue; // a ROM only counts when enabled; none is
    if (r.kind === 'io' && kinds.io) cmd |= R.PCI_COMMAND_IO;
    if (r.kind === 'mem' && kinds.mem) cmd |= R.PCI_COMMAND_MEMORY;
  }
  if (cmd !== old) {
    host.log('pci', dev, `enabling device (${hex4(old)} -> ${hex4(cmd)})`);
    dev.write16(R.PCI_COMMAND, cmd);
  }
  // do_pci_enable_device: INTx must not stay disabled for a device using its pin.
  const pin = dev.read8(R.PCI_INTERRUPT_PIN);
  if (pin) {
    const c = dev.read16(R.PCI_COMMAND);
    if (c & R.PCI_COMMAND_INTX_DISABLE) dev.write16(R.PCI_COMMAND, c & ~R.PCI_COMMAND_INTX_DISABLE);
  }
}

function pciEnableBridge(bridge: PciDev, host: DriverHost): void {
  const up = bridge.upstream;
  if (up) pciEnableBridge(up, host);
  if (bridge.enableCount > 0) {
    if (!bridge.isBusmaster) pciSetMaster(bridge);
    return;
  }
  pciEnableDevice(bridge, host);
  pciSetMaster(bridge);
}

/** pci_set_master: bus mastering, and the latency timer for conventional PCI (pcibios_set_master). */
export function pciSetMaster(dev: PciDev): void {
  const cmd = dev.read16(R.PCI_COMMAND);
  if (!(cmd & R.PCI_COMMAND_MASTER)) dev.write16(R.PCI_COMMAND, cmd | R.PCI_COMMAND_MASTER);
  dev.isBusmaster = true;
  if (dev.isPcie) return;
  const lat = dev.read8(R.PCI_LATENCY_TIMER);
  const maxLatency = 255;
  if (lat < 16) dev.write8(R.PCI_LATENCY_TIMER, 64);
  else if (lat > maxLatency) dev.write8(R.PCI_LATENCY_TIMER, maxLatency);
}

const INTEL = 0x8086;
const REDHAT_QUMRANET = 0x1af4;
const PCI_CLASS_STORAGE_EXPRESS = 0x010802;
/** Ids of the e1000 table that QEMU models (82540EM, 82544GC, 82545EM). */
const E1000_IDS = [0x100e, 0x100c, 0x100f].map((device) => ({ vendor: INTEL, device }));
/** e1000_is_need_ioport: these older parts are enabled with I/O decoding too. */
const E1000_NEED_IOPORT = new Set([0x100e, 0x100c, 0x100f]);

/** drivers/net/ethernet/intel/e1000: e1000_probe. */
const e1000: PciDriver = {
  name: 'e1000',
  ids: E1000_IDS,
  banner: ['e1000: Intel(R) PRO/1000 Network Driver', 'e1000: Copyright (c) 1999-2006 Intel Corporation.'],
  probe(dev, host) {
    pciEnableDevice(dev, host, { io: E1000_NEED_IOPORT.has(dev.device), mem: true });
    pciSetMaster(dev);
    // netdev_info: "DRIVER BDF IFNAME: text".
    host.printk(`e1000 ${dev.name} ${host.nextName('eth')}: Intel(R) PRO/1000 Network Connection`);
  },
};

const E1000E_MSIX = 'e1000e:msix';

/**
 * pci_enable_msix_range as a driver calls it at probe for vectors it requests only when the
 * interface comes up. Reservation mode (x86, MSI-X is maskable): IRQ numbers, no vectors, no
 * messages written. Undefined when the function has too few entries or no usable table.
 */
export function pciEnableMsixReserved(dev: PciDev, host: DriverHost, nvec: number): { irqs: number[]; free(): void } | undefined {
  const cap = dev.findCapability(R.PCI_CAP_ID_MSIX);
  // pci_msix_vec_count
  if (!cap || (dev.read16(cap + R.PCI_MSIX_FLAGS) & R.PCI_MSIX_FLAGS_QSIZE) + 1 < nvec) return undefined;
  if (!msixCapabilityInit(dev, cap, nvec, () => {})) return undefined;
  return host.irq.reserveMsiIrqs(nvec);
}

/** drivers/net/ethernet/intel/e1000e: e1000_probe (82574L, the part QEMU models). */
const e1000e: PciDriver = {
  name: 'e1000e',
  ids: [{ vendor: INTEL, device: 0x10d3 }],
  banner: ['e1000e: Intel(R) PRO/1000 Network Driver', 'e1000e: Copyright(c) 1999 - 2015 Intel Corporation.'],
  probe(dev, host) {
    pciEnableDevice(dev, host, { io: false, mem: true });
    pciSetMaster(dev);
    // e1000e_set_interrupt_capability: three MSI-X vectors (rx, tx, other), requested at open;
    // recorded after probe: Command 0x0406, MSI-X control 0x8004.
    const msix = pciEnableMsixReserved(dev, host, 3);
    if (msix) dev.driverData.set(E1000E_MSIX, msix);
    host.printk(`e1000e ${dev.name} ${host.nextName('eth')}: Intel(R) PRO/1000 Network Connection`);
  },
  remove(dev) {
    // e1000e_reset_interrupt_capability -> pci_disable_msix: MSI-X off, INTx back.
    const msix = dev.driverData.get(E1000E_MSIX) as ReturnType<typeof pciEnableMsixReserved>;
    if (!msix) return;
    dev.driverData.delete(E1000E_MSIX);
    msix.free();
    const cap = dev.findCapability(R.PCI_CAP_ID_MSIX);
    dev.write16(cap + R.PCI_MSIX_FLAGS, dev.read16(cap + R.PCI_MSIX_FLAGS) & ~R.PCI_MSIX_FLAGS_ENABLE);
    const cmd = dev.read16(R.PCI_COMMAND);
    if (cmd & R.PCI_COMMAND_INTX_DISABLE) dev.write16(R.PCI_COMMAND, cmd & ~R.PCI_COMMAND_INTX_DISABLE);
  },
};

/** drivers/virtio/virtio_pci_common.c: transitional (0x1000-0x103f) and modern (0x1040-0x107f) ids. */
const virtioPci: PciDriver = {
  name: 'virtio-pci',
  ids: [{ vendor: REDHAT_QUMRANET }],
  probe(dev, host) {
    if (dev.device < 0x1000 || dev.device > 0x107f) return false;
    pciEnableDevice(dev, host);
    pciSetMaster(dev);
    host.nextName('virtio'); // the virtio bus device (virtio0...) the class driver binds to
  },
};

/** drivers/nvme/host/pci.c: nvme_probe (class match), enable from the reset work. */
const nvme: PciDriver = {
  name: 'nvme',
  ids: [{ class: PCI_CLASS_STORAGE_EXPRESS, classMask: 0xffffff }],
  probe(dev, host) {
    host.printk(`nvme ${host.nextName('nvme')}: pci function ${dev.name}`);
    pciEnableDevice(dev, host, { io: false, mem: true });
    pciSetMaster(dev);
  },
};

/** The endpoint drivers a Debian 12 guest loads for QEMU's devices, in probe order. */
export const BUILTIN_PCI_DRIVERS: readonly PciDriver[] = [e1000, e1000e, virtioPci, nvme];
