/**
 * SeaBIOS's per-chipset PCI set-up (src/fw/pciinit.c pci_platform_tbl, pci_device_tbl,
 * piix/mch_pci_slot_get_irq; register names from src/fw/dev-piix.h, dev-q35.h):
 * memory and I/O windows per platform, PIRQ routing, ACPI/SMBus I/O bases, IDE enables.
 */
import { regs as R, type GuestView } from '@plugboard/pci-core';
import { bdfSlot, PCI_CLASS_STORAGE_IDE, type FwDevice, type FwPci } from './fw-pci.js';

export const PCI_VENDOR_ID_INTEL = 0x8086;
export const PCI_DEVICE_ID_INTEL_82441 = 0x1237; // i440FX host bridge
export const PCI_DEVICE_ID_INTEL_Q35_MCH = 0x29c0;
const PCI_DEVICE_ID_INTEL_82371SB_0 = 0x7000; // PIIX3 ISA
const PCI_DEVICE_ID_INTEL_82371SB_1 = 0x7010; // PIIX3 IDE
const PCI_DEVICE_ID_INTEL_82371AB_0 = 0x7110; // PIIX4 ISA
const PCI_DEVICE_ID_INTEL_82371AB = 0x7111; // PIIX4 IDE
const PCI_DEVICE_ID_INTEL_82371AB_3 = 0x7113; // PIIX4 PM
export const PCI_DEVICE_ID_INTEL_ICH9_LPC = 0x2918;
const PCI_DEVICE_ID_INTEL_ICH9_SMBUS = 0x2930;

/** PIIX3/PIIX4 (dev-piix.h). */
export const PIIX_PIRQRC = 0x60;
const PIIX_PMBASE = 0x40;
const PIIX_PMREGMISC = 0x80;
const PIIX_SMBHSTBASE = 0x90;
const PIIX_SMBHSTCFG = 0xd2;
const PIIX_PORT_ELCR1 = 0x4d0;
const PIIX_PORT_ELCR2 = 0x4d1;
/** ACPI SCI is wired to IRQ 9 on both chipsets. */
export const PIIX_PM_INTERRUPT = 9;

/** Q35 MCH and ICH9 (dev-q35.h). */
const Q35_HOST_BRIDGE_PCIEXBAR = 0x60;
export const Q35_HOST_BRIDGE_PCIEXBAR_SIZE = 256 * 1024 * 1024;
export const Q35_HOST_BRIDGE_PCIEXBAR_ADDR = 0xb0000000;
const Q35_HOST_BRIDGE_PCIEXBAREN = 1;
const ICH9_LPC_PMBASE = 0x40;
const ICH9_LPC_PMBASE_RTE = 0x1;
const ICH9_LPC_ACPI_CTRL = 0x44;
const ICH9_LPC_ACPI_CTRL_ACPI_EN = 0x80;
export const ICH9_LPC_PIRQA_ROUT = 0x60;
export const ICH9_LPC_PIRQE_ROUT = 0x68;
const ICH9_LPC_RCBA = 0xf0;
const ICH9_LPC_RCBA_ADDR = 0xfed1c000;
const ICH9_LPC_RCBA_EN = 0x1;
const ICH9_SMB_SMB_BASE = 0x20;
const ICH9_SMB_HOSTC = 0x40;
const ICH9_SMB_HOSTC_HST_EN = 0x01;

/** ATA legacy ports (src/hw/ata.h). */
const PORT_ATA1_CMD_BASE = 0x1f0;
const PORT_ATA1_CTRL_BASE = 0x3f4;
const PORT_ATA2_CMD_BASE = 0x170;
const PORT_ATA2_CTRL_BASE = 0x374;

/** Host IRQs for PCI interrupts A-D (pci_irqs). */
export const PCI_IRQS = [10, 10, 11, 11] as const;

/** State the tables share with the allocator (the C globals). */
export interface PlatformState {
  fw: FwPci;
  view: GuestView;
  /** Bytes of RAM below 4 GiB (SeaBIOS RamSize). */
  ramSize: number;
  acpiPmBase: number;
  pcimemStart: number;
  pciIoLowEnd: number;
  platform: 'i440fx' | 'q35' | 'unknown';
  /** 0xff ("unknown") until a platform sets its routing, as dummy_pci_slot_get_irq. */
  slotGetIrq: (dev: FwDevice, pin: number) => number;
  log: (line: string) => void;
}

/** piix_pci_slot_get_irq: swizzle by slot through every bridge, PIIX3 sits at slot 1. */
function piixSlotGetIrq(dev: FwDevice, pin: number): number {
  let addend = 0;
  let d = dev;
  while (d.parent) {
    addend += bdfSlot(d.bdf);
    d = d.parent;
  }
  addend += bdfSlot(d.bdf) - 1;
  return PCI_IRQS[(pin - 1 + addend) & 3]!;
}

/** mch_pci_slot_get_irq: slots 0-24 rotate like PIIX (without the -1), 25-31 use LNKA/E. */
function mchSlotGetIrq(dev: FwDevice, pin: number): number {
  let addend = 0;
  let d = dev;
  while (d.parent) {
    addend += bdfSlot(d.bdf);
    d = d.parent;
  }
  const slot = bdfSlot(d.bdf);
  return PCI_IRQS[(pin - 1 + addend + (slot <= 24 ? slot : 0)) & 3]!;
}

/** pci_platform_tbl: the host bridge decides the 32-bit window start and IRQ routing. */
export function initPlatform(s: PlatformState, dev: FwDevice): void {
  if (dev.vendor !== PCI_VENDOR_ID_INTEL) return;
  if (dev.device === PCI_DEVICE_ID_INTEL_82441) {
    // i440fx_mem_addr_setup
    if (s.ramSize <= 0x80000000) s.pcimemStart = 0x80000000;
    else if (s.ramSize <= 0xc0000000) s.pcimemStart = 0xc0000000;
    s.slotGetIrq = piixSlotGetIrq;
    s.platform = 'i440fx';
  } else if (dev.device === PCI_DEVICE_ID_INTEL_Q35_MCH) {
    // mch_mem_addr_setup -> mch_mmconfig_setup: disable, set the high half, enable.
    s.fw.writel(dev.bdf, Q35_HOST_BRIDGE_PCIEXBAR, 0);
    s.fw.writel(dev.bdf, Q35_HOST_BRIDGE_PCIEXBAR + 4, 0);
    s.fw.writel(dev.bdf, Q35_HOST_BRIDGE_PCIEXBAR, Q35_HOST_BRIDGE_PCIEXBAR_ADDR | Q35_HOST_BRIDGE_PCIEXBAREN);
    s.log(`PCIe: using q35 mmconfig at 0x${Q35_HOST_BRIDGE_PCIEXBAR_ADDR.toString(16)}`);
    s.pcimemStart = Q35_HOST_BRIDGE_PCIEXBAR_ADDR + Q35_HOST_BRIDGE_PCIEXBAR_SIZE;
    s.slotGetIrq = mchSlotGetIrq;
    s.pciIoLowEnd = s.acpiPmBase < 0x1000 ? 0x10000 : s.acpiPmBase;
    s.platform = 'q35';
  }
}

/**
 * outb to a port no model claims (the ELCR is not modelled). GuestView's BAR lookup for an
 * unclaimed port currently walks into non-PCI child buses (isa.0) and throws a TypeError
 * (pci-core guest-view.ts findBar); the access is traced before that, so only that error
 * is absorbed here. Drop the catch once pci-core skips non-PCI buses.
 */
function outb(s: PlatformState, port: number, value: number): void {
  try {
    s.view.ioWrite(port, value, 1);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
  }
}

/** ELCR bits: every PCI IRQ is level triggered. */
function elcr(): [number, number] {
  const e: [number, number] = [0, 0];
  for (const irq of PCI_IRQS) e[irq >> 3] |= 1 << (irq & 7);
  return e;
}

function piixIsaBridgeSetup(s: PlatformState, dev: FwDevice): void {
  PCI_IRQS.forEach((irq, i) => s.fw.writeb(dev.bdf, PIIX_PIRQRC + i, irq));
  const [e1, e2] = elcr();
  outb(s, PIIX_PORT_ELCR1, e1);
  outb(s, PIIX_PORT_ELCR2, e2);
  s.log(`PIIX3/PIIX4 init: elcr=${hex2(e1)} ${hex2(e2)}`);
}

function mchIsaBridgeSetup(s: PlatformState, dev: FwDevice): void {
  PCI_IRQS.forEach((irq, i) => {
    s.fw.writeb(dev.bdf, ICH9_LPC_PIRQA_ROUT + i, irq);
    s.fw.writeb(dev.bdf, ICH9_LPC_PIRQE_ROUT + i, irq);
  });
  const [e1, e2] = elcr();
  outb(s, PIIX_PORT_ELCR1, e1);
  outb(s, PIIX_PORT_ELCR2, e2);
  s.log(`Q35 LPC init: elcr=${hex2(e1)} ${hex2(e2)}`);
  // mch_isa_lpc_setup: PM I/O base (GPE0 = PMBASE + 0x20), ACPI on, root complex block.
  s.fw.writel(dev.bdf, ICH9_LPC_PMBASE, s.acpiPmBase | ICH9_LPC_PMBASE_RTE);
  s.fw.writeb(dev.bdf, ICH9_LPC_ACPI_CTRL, ICH9_LPC_ACPI_CTRL_ACPI_EN);
  s.fw.writel(dev.bdf, ICH9_LPC_RCBA, ICH9_LPC_RCBA_ADDR | ICH9_LPC_RCBA_EN);
}

function piixIdeSetup(s: PlatformState, dev: FwDevice): void {
  s.fw.writew(dev.bdf, 0x40, 0x8000); // enable IDE0
  s.fw.writew(dev.bdf, 0x42, 0x8000); // enable IDE1
}

function storageIdeSetup(s: PlatformState, dev: FwDevice): void {
  // Other IDE controllers are mapped as in ISA compatibility mode.
  [PORT_ATA1_CMD_BASE, PORT_ATA1_CTRL_BASE, PORT_ATA2_CMD_BASE, PORT_ATA2_CTRL_BASE].forEach((port, bar) =>
    s.fw.writel(dev.bdf, R.PCI_BASE_ADDRESS_0 + 4 * bar, port),
  );
}

function piix4PmSetup(s: PlatformState, dev: FwDevice): void {
  s.fw.writeb(dev.bdf, R.PCI_INTERRUPT_LINE, PIIX_PM_INTERRUPT);
  s.fw.writel(dev.bdf, PIIX_PMBASE, s.acpiPmBase | 1);
  s.fw.writeb(dev.bdf, PIIX_PMREGMISC, 0x01); // PM I/O space on
  s.fw.writel(dev.bdf, PIIX_SMBHSTBASE, (s.acpiPmBase + 0x100) | 1);
  s.fw.writeb(dev.bdf, PIIX_SMBHSTCFG, 0x09); // SMBus I/O space on
}

function ich9SmbusSetup(s: PlatformState, dev: FwDevice): void {
  // Runs after BAR allocation, so BAR4 ends at PMBASE + 0x100 whatever was allocated.
  s.fw.writel(dev.bdf, ICH9_SMB_SMB_BASE, (s.acpiPmBase + 0x100) | R.PCI_BASE_ADDRESS_SPACE_IO);
  s.fw.writeb(dev.bdf, ICH9_SMB_HOSTC, ICH9_SMB_HOSTC_HST_EN);
}

interface DeviceId {
  vendor?: number;
  device?: number;
  class?: number;
  setup: (s: PlatformState, dev: FwDevice) => void;
}

/**
 * pci_device_tbl, first match wins. The IBM/Apple PowerPC entries and Intel IGD
 * pass-through (needs fw_cfg opregion files) never match a QEMU x86 board: left out.
 */
const DEVICE_TABLE: DeviceId[] = [
  { vendor: PCI_VENDOR_ID_INTEL, device: PCI_DEVICE_ID_INTEL_82371SB_0, setup: piixIsaBridgeSetup },
  { vendor: PCI_VENDOR_ID_INTEL, device: PCI_DEVICE_ID_INTEL_82371AB_0, setup: piixIsaBridgeSetup },
  { vendor: PCI_VENDOR_ID_INTEL, device: PCI_DEVICE_ID_INTEL_ICH9_LPC, setup: mchIsaBridgeSetup },
  { vendor: PCI_VENDOR_ID_INTEL, device: PCI_DEVICE_ID_INTEL_82371SB_1, class: PCI_CLASS_STORAGE_IDE, setup: piixIdeSetup },
  { vendor: PCI_VENDOR_ID_INTEL, device: PCI_DEVICE_ID_INTEL_82371AB, class: PCI_CLASS_STORAGE_IDE, setup: piixIdeSetup },
  { class: PCI_CLASS_STORAGE_IDE, setup: storageIdeSetup },
  { vendor: PCI_VENDOR_ID_INTEL, device: PCI_DEVICE_ID_INTEL_82371AB_3, setup: piix4PmSetup },
  { vendor: PCI_VENDOR_ID_INTEL, device: PCI_DEVICE_ID_INTEL_ICH9_SMBUS, setup: ich9SmbusSetup },
];

/** pci_init_device(pci_device_tbl, ...). */
export function initChipsetDevice(s: PlatformState, dev: FwDevice): void {
  const hit = DEVICE_TABLE.find(
    (e) => (e.vendor === undefined || e.vendor === dev.vendor) && (e.device === undefined || e.device === dev.device) && (e.class === undefined || e.class === dev.class),
  );
  hit?.setup(s, dev);
}

const hex2 = (v: number) => v.toString(16).padStart(2, '0');
