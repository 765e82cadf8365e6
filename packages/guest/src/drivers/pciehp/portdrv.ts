/**
 * The PCIe port driver ("pcieport", drivers/pci/pcie/portdrv_core.c) as far as the hotplug
 * service needs it: enable the port, work out its services, set up one interrupt shared by
 * them (MSI-X, else MSI, else INTx, drivers/pci/msi/msi.c), the PME service's probe
 * (drivers/pci/pcie/pme.c) and the AER service's (drivers/aer, aer.c), whose lines and
 * register writes precede pciehp's.
 * Everything goes through config space and, for the MSI-X table, MMIO of the port's BAR.
 */
import { caps as C, regs as R } from '@plugboard/pci-core';
import { pciEnableDevice, pciSetMaster } from '../../os/drivers.js';
import { aerServiceProbe } from '../aer/index.js';
import type { MsiMessage } from '../../os/irq.js';
import {
  msixCapabilityInit, pciClearAndSet16, pciIntxDisable, PCI_MSIX_ENTRY_CTRL_MASKBIT, PCI_MSIX_ENTRY_DATA, PCI_MSIX_ENTRY_LOWER_ADDR,
  PCI_MSIX_ENTRY_UPPER_ADDR, PCI_MSIX_ENTRY_VECTOR_CTRL,
} from '../../os/msix.js';
import type { LinuxGuest } from '../../os/linux.js';
import type { PciDev } from '../../os/pci-dev.js';
import {
  PCI_ERR_ROOT_AER_IRQ_SHIFT, PCI_ERR_ROOT_STATUS, PCI_EXP_FLAGS_IRQ, PCI_EXP_FLAGS_IRQ_SHIFT, PCI_EXP_LNKCAP_LBNC,
  PCI_EXP_RTCTL_PMEIE, PCI_EXP_RTSTA_PME,
} from './regs.js';

const DRIVER = 'pcieport';
/** portdrv asks for up to 32 vectors: every Interrupt Message Number must fit. */
const PCIE_PORT_MAX_MSI_ENTRIES = 32;

/** One interrupt shared by the port's services (request_irq with IRQF_SHARED). */
export interface PortIrq {
  mode: 'msix' | 'msi' | 'intx';
  /** Linux IRQ number (what `Signaling with IRQ %d` prints). */
  irq: number;
  /** pci_dev_msi_enabled: MSI or MSI-X is on. */
  readonly msiEnabled: boolean;
  /**
   * request_irq(IRQF_SHARED): returns free_irq, or undefined when the IRQ cannot be
   * activated (-ENOSPC: no CPU has a free vector).
   */
  request(name: string, handler: () => boolean): (() => void) | undefined;
  /** Forget the vector(s) and handlers without touching the port (the guest rebooted). */
  release(): void;
}

export interface PortData {
  services: { hp: boolean; aer: boolean; pme: boolean };
  irq: PortIrq | undefined;
}

const isPort = (t: number) => t === C.PCI_EXP_TYPE_ROOT_PORT || t === C.PCI_EXP_TYPE_UPSTREAM || t === C.PCI_EXP_TYPE_DOWNSTREAM;

/** The port driver's data for `port`, once pcieport bound it. */
export function portData(port: PciDev): PortData | undefined {
  return port.driverData.get(DRIVER) as PortData | undefined;
}

/**
 * pcie_portdrv_probe / pcie_port_device_register, once per port. `nativeHotplug` is what the
 * host bridge's _OSC granted for this port (the hotplug service needs it and a hotplug slot).
 */
export function pciePortProbe(guest: LinuxGuest, port: PciDev, nativeHotplug: boolean): PortData | undefined {
  const existing = portData(port);
  if (existing || !port.isPcie || !isPort(port.pcieType)) return existing;
  pciEnableDevice(port, guest);
  const type = port.pcieType;
  // With pciehp built in (Debian: CONFIG_HOTPLUG_PCI_PCIE=y) portdrv no longer clears
  // CCIE/HPIE itself: that write would latch a Command Completed, and the recordings show
  // Slot Status 0x0000 when pciehp starts.
  const hp = port.isHotplugBridge && nativeHotplug;
  const aerCap = port.findExtCapability(R.PCI_EXT_CAP_ID_ERR);
  const pme = type === C.PCI_EXP_TYPE_ROOT_PORT;
  if (pme) port.pcieClearAndSet16(C.PCI_EXP_RTCTL, PCI_EXP_RTCTL_PMEIE, 0);
  // Bandwidth notification is a service without a driver in 6.1; it only shares the vector.
  const bw = type !== C.PCI_EXP_TYPE_UPSTREAM && (port.pcieRead32(C.PCI_EXP_LNKCAP) & PCI_EXP_LNKCAP_LBNC) !== 0;
  const data: PortData = { services: { hp, aer: aerCap !== 0, pme }, irq: undefined };
  port.driverData.set(DRIVER, data);
  if (!hp && !aerCap && !pme && !bw) return data;
  pciSetMaster(port);
  data.irq = initServiceIrqs(guest, port, aerCap, hp || pme || bw);
  if (!data.irq) data.services = { hp, aer: false, pme: false }; // pciehp can still poll
  if (pme && data.irq) pmeProbe(guest, port, data.irq);
  // The AER service binds root ports only (aer.c aer_probe, PCIE_PORT_SERVICE_AER).
  if (aerCap && type === C.PCI_EXP_TYPE_ROOT_PORT && data.irq) aerServiceProbe(guest, port, aerCap, data.irq);
  return data;
}

/** pcie_init_service_irqs: MSI-X/MSI with as many vectors as the message numbers need, else INTx. */
function initServiceIrqs(guest: LinuxGuest, port: PciDev, aerCap: number, sharedVector: boolean): PortIrq | undefined {
  let vec = allocVectors(guest, port, 1, PCIE_PORT_MAX_MSI_ENTRIES);
  if (vec) {
    // pcie_message_numbers: PME/hotplug/bandwidth share the PCIe Interrupt Message Number.
    let nvec = 0;
    let msg = 0;
    if (sharedVector) {
      msg = (port.pcieRead16(C.PCI_EXP_FLAGS) & PCI_EXP_FLAGS_IRQ) >> PCI_EXP_FLAGS_IRQ_SHIFT;
      nvec = msg + 1;
    }
    if (aerCap) nvec = Math.max(nvec, (port.read32(aerCap + PCI_ERR_ROOT_STATUS) >>> PCI_ERR_ROOT_AER_IRQ_SHIFT) + 1);
    if (nvec > vec.vectors.length) {
      vec.free();
      vec = undefined;
    } else if (nvec !== vec.vectors.length) {
      vec.free();
      vec = allocVectors(guest, port, nvec, nvec);
    }
    if (vec) return vec.irqFor(msg);
  }
  // INTx: the line firmware routed (pci_alloc_irq_vectors with PCI_IRQ_LEGACY needs dev->irq).
  if (!port.pin || !port.irq) return undefined;
  return sharedIntx(guest, port.irq);
}

interface Vectors {
  vectors: MsiMessage[];
  free(): void;
  irqFor(index: number): PortIrq;
}

/** pci_alloc_irq_vectors(PCI_IRQ_MSIX | PCI_IRQ_MSI). */
function allocVectors(guest: LinuxGuest, port: PciDev, min: number, max: number): Vectors | undefined {
  const msix = port.findCapability(R.PCI_CAP_ID_MSIX);
  if (msix) {
    const hw = (port.read16(msix + R.PCI_MSIX_FLAGS) & R.PCI_MSIX_FLAGS_QSIZE) + 1;
    if (hw >= min) {
      const v = msixInit(guest, port, msix, Math.min(hw, max));
      if (v) return v;
    }
  }
  const msi = port.findCapability(R.PCI_CAP_ID_MSI);
  if (msi) {
    const hw = 1 << ((port.read16(msi + R.PCI_MSI_FLAGS) & R.PCI_MSI_FLAGS_QMASK) >> 1);
    if (hw >= min) return msiInit(guest, port, msi, Math.min(hw, max), min);
  }
  return undefined;
}

/** Runs every service handler on the shared vector (IRQF_SHARED). */
function sharedActions(): { actions: Array<{ name: string; handler: () => boolean }>; run: () => boolean } {
  const actions: Array<{ name: string; handler: () => boolean }> = [];
  return {
    actions,
    run: () => {
      let handled = false;
      for (const a of [...actions]) if (a.handler()) handled = true;
      return handled;
    },
  };
}

/** msix_capability_init for the port: each entry gets its vector's message at allocation. */
function msixInit(guest: LinuxGuest, port: PciDev, cap: number, nvec: number): Vectors | undefined {
  const view = port.view;
  const shared = sharedActions();
  const vectors: MsiMessage[] = [];
  const table = msixCapabilityInit(port, cap, nvec, (i, ctrl, t) => {
    const m = guest.irq.allocMsi(`${DRIVER}:${port.name}:${i}`, shared.run);
    vectors.push(m);
    // Reservation mode (MSI-X is maskable): an IRQ without a vector is never programmed.
    if (!m.active) return;
    const entry = t.entry(i);
    // __pci_write_msi_msg: an unmasked entry is masked while its message changes.
    const unmasked = !(ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
    if (unmasked) view.mmioWrite(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, ctrl | PCI_MSIX_ENTRY_CTRL_MASKBIT, 4);
    view.mmioWrite(entry + PCI_MSIX_ENTRY_LOWER_ADDR, m.address, 4);
    view.mmioWrite(entry + PCI_MSIX_ENTRY_UPPER_ADDR, 0, 4);
    view.mmioWrite(entry + PCI_MSIX_ENTRY_DATA, m.data, 4);
    if (unmasked) view.mmioWrite(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, ctrl, 4);
    view.mmioRead(entry + PCI_MSIX_ENTRY_DATA, 4);
  });
  if (!table) return undefined;
  const { flags } = table;
  const entry = table.entry;
  let enabled = true;
  return {
    vectors,
    free() {
      // pci_free_irq_vectors -> pci_disable_msix: mask all, MSI-X off.
      for (const v of vectors) v.free();
      pciClearAndSet16(port, flags, R.PCI_MSIX_FLAGS_ENABLE, 0);
      enabled = false;
    },
    irqFor: (index) => {
      const set = (masked: boolean) => {
        const c = masked ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0;
        view.mmioWrite(entry(index) + PCI_MSIX_ENTRY_VECTOR_CTRL, c, 4);
        view.mmioRead(entry(index) + PCI_MSIX_ENTRY_DATA, 4); // flush
      };
      return vectorIrq('msix', vectors[index]!, shared, set, () => enabled, () => vectors.forEach((v) => v.free()));
    },
  };
}

/**
 * msi_capability_init. x86 without interrupt remapping cannot give a function several
 * MSI vectors: a multi-vector attempt fails after masking and the core retries with one.
 */
function msiInit(guest: LinuxGuest, port: PciDev, cap: number, nvec: number, min: number): Vectors | undefined {
  const flagsOff = cap + R.PCI_MSI_FLAGS;
  const setEnable = (on: boolean) => pciClearAndSet16(port, flagsOff, R.PCI_MSI_FLAGS_ENABLE, on ? R.PCI_MSI_FLAGS_ENABLE : 0);
  const flags = port.read16(flagsOff);
  const is64 = (flags & R.PCI_MSI_FLAGS_64BIT) !== 0;
  const canMask = (flags & R.PCI_MSI_FLAGS_MASKBIT) !== 0;
  const maskPos = cap + (is64 ? R.PCI_MSI_MASK_64 : R.PCI_MSI_MASK_32);
  let maskReg = 0;
  const writeMask = (set: number, clear: number) => {
    if (!canMask) return;
    maskReg = ((maskReg & ~clear) | set) >>> 0;
    port.write32(maskPos, maskReg);
  };
  let n = nvec;
  for (;;) {
    setEnable(false);
    port.read16(flagsOff); // msi_setup_msi_desc
    if (canMask) maskReg = port.read32(maskPos);
    // msi_multi_mask: every vector the function is capable of (Multiple Message Capable), not
    // only those asked for (recorded: ioh3420, 2 capable, ends with mask 0x2 once vector 0 runs).
    const multiCap = (flags & R.PCI_MSI_FLAGS_QMASK) >> 1;
    const multiMask = multiCap >= 5 ? 0xffffffff : 2 ** 2 ** multiCap - 1;
    writeMask(multiMask, 0);
    if (n === 1) break;
    writeMask(0, multiMask); // pci_msi_domain_check_cap refused multi-MSI: unmask, retry with 1
    if (1 < min) return undefined;
    n = 1;
  }
  const shared = sharedActions();
  const m = guest.irq.allocMsi(`${DRIVER}:${port.name}:0`, shared.run);
  if (!m.active) {
    // Activated at allocation: no vector, no MSI (the caller falls back to INTx).
    m.free();
    return undefined;
  }
  // __pci_write_msi_msg: Multiple Message Enable, address, data.
  pciClearAndSet16(port, flagsOff, R.PCI_MSI_FLAGS_QSIZE, 0);
  port.write32(cap + R.PCI_MSI_ADDRESS_LO, m.address);
  if (is64) port.write32(cap + R.PCI_MSI_ADDRESS_HI, 0);
  port.write16(cap + (is64 ? R.PCI_MSI_DATA_64 : R.PCI_MSI_DATA_32), m.data);
  pciIntxDisable(port);
  setEnable(true);
  let enabled = true;
  return {
    vectors: [m],
    free() {
      m.free();
      setEnable(false);
      enabled = false;
    },
    irqFor: () => vectorIrq('msi', m, shared, (masked) => writeMask(masked ? 1 : 0, masked ? 0 : 1), () => enabled, () => m.free()),
  };
}

/** request_irq on an MSI/MSI-X vector: the first action unmasks it, the last one masks it again. */
function vectorIrq(
  mode: 'msix' | 'msi', m: MsiMessage, shared: ReturnType<typeof sharedActions>, setMasked: (masked: boolean) => void, enabled: () => boolean,
  release: () => void,
): PortIrq {
  return {
    mode,
    irq: m.irq,
    release() {
      shared.actions.length = 0;
      release();
    },
    get msiEnabled() {
      return enabled();
    },
    request(name, handler) {
      if (!m.active) return undefined;
      const action = { name, handler };
      shared.actions.push(action);
      if (shared.actions.length === 1) setMasked(false);
      return () => {
        const i = shared.actions.indexOf(action);
        if (i >= 0) shared.actions.splice(i, 1);
        if (shared.actions.length === 0 && enabled()) setMasked(true);
      };
    },
  };
}

function sharedIntx(guest: LinuxGuest, irq: number): PortIrq {
  const frees = new Set<() => void>();
  return {
    mode: 'intx',
    irq,
    msiEnabled: false,
    request(name, handler) {
      const free = guest.irq.requestIrq(irq, name, () => handler());
      frees.add(free);
      return () => {
        frees.delete(free);
        free();
      };
    },
    release() {
      for (const f of frees) f();
      frees.clear();
    },
  };
}

/** pcie_pme_probe (root ports): PME interrupt off, status cleared, handler, interrupt on. */
function pmeProbe(guest: LinuxGuest, port: PciDev, irq: PortIrq): void {
  port.pcieClearAndSet16(C.PCI_EXP_RTCTL, PCI_EXP_RTCTL_PMEIE, 0);
  port.write32(port.pcieCap + C.PCI_EXP_RTSTA, port.pcieRead32(C.PCI_EXP_RTSTA) | PCI_EXP_RTSTA_PME);
  // pcie_pme_irq: not ours unless Root Status reports a PME (QEMU never raises one).
  const free = irq.request('PCIe PME', () => (port.pcieRead32(C.PCI_EXP_RTSTA) & PCI_EXP_RTSTA_PME) !== 0);
  if (!free) {
    // The service device's probe fails; the driver core reports it (drivers/base/dd.c).
    guest.printk(`pcie_pme: probe of ${port.name}:pcie001 failed with error -28`);
    return;
  }
  guest.log(DRIVER, port, `PME: Signaling with IRQ ${irq.irq}`);
  port.pcieClearAndSet16(C.PCI_EXP_RTCTL, 0, PCI_EXP_RTCTL_PMEIE);
}
