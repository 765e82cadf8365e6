/**
 * What SeaBIOS 1.16 (Debian 12's `seabios`) does to PCI before the OS starts
 * (src/fw/pciinit.c pci_setup, src/hw/pcidevice.c pci_probe_devices), done purely through
 * the GuestView: bus numbering, BAR sizing and allocation, bridge windows, chipset
 * set-up, interrupt lines, command-register enables. Option ROMs stay disabled.
 */
import { formatBdf, regs as R, type GuestView } from '@plugboard/pci-core';
import { bdfBus, bdfDevfn, FwPci, fmtBdf, PCI_CLASS_BRIDGE_PCI, PCI_CLASS_DISPLAY_VGA, PCI_HEADER_TYPE_CARDBUS, type FwDevice } from './fw-pci.js';
import { initChipsetDevice, initPlatform, PCI_DEVICE_ID_INTEL_82441, PCI_DEVICE_ID_INTEL_Q35_MCH, PCI_VENDOR_ID_INTEL, type PlatformState } from './chipset.js';
import { checkDevices, findReserveCap, mapDevices, RES_RESERVE_BUS_RES } from './regions.js';

/** BUILD_PCIMEM_END: the 32-bit window ends where the IOAPIC begins. */
const PCIMEM_END = 0xfec00000;
/** QEMU always provides etc/table-loader, so SeaBIOS moves the ACPI PM base here (src/fw/paravirt.c). */
const QEMU_ACPI_PM_BASE = 0x0600;
const PCI_CLASS_REVISION = 0x08;

export interface FirmwareOptions {
  /** Guest RAM (`-m`) in bytes, default 128 MiB: sets where the 32-bit PCI window may start. */
  ramSize?: number;
  /** fw_cfg `etc/reserved-memory-end` (end of the memory-hotplug area), when present. */
  reservedMemoryEnd?: number;
  /** fw_cfg `etc/extra-pci-roots` (pxb host bridges), default 0. */
  extraPciRoots?: number;
  /** PCI domain (host bridge index) of the view to initialise, default 0. */
  domain?: number;
  /** SeaBIOS debug output (its dprintf level 1 lines about PCI). */
  log?: (line: string) => void;
  /**
   * The board has the reset control register at I/O 0xcf9 (PIIX3 RCR / ICH9 RST_CNT, as pc and
   * q35): entered again after a POST, SeaBIOS reboots the machine through it (attach.ts).
   */
  resetControl?: boolean;
}

export interface FirmwareDevice {
  /** `0000:00:1f.0` */
  name: string;
  bus: number;
  devfn: number;
  vendor: number;
  device: number;
  class: number;
  secondaryBus?: number;
}

export interface FirmwareResult {
  platform: 'i440fx' | 'q35' | 'unknown';
  /** Highest bus number found (MaxPCIBus). */
  maxBus: number;
  devices: FirmwareDevice[];
  /** I/O base SeaBIOS gave the ACPI PM block (PMBASE; GPE0 is at +0x20 on ICH9). */
  acpiPmBase: number;
  /** 64-bit window, [0, 0] when every BAR fitted below 4 GiB. */
  pcimem64: [number, number];
}

/** The RAM QEMU puts below 4 GiB (hw/i386/pc_piix.c, pc_q35.c: lowmem split). */
function ramBelow4G(ram: number, hostDevice: number): number {
  if (hostDevice === PCI_DEVICE_ID_INTEL_Q35_MCH) return Math.min(ram, ram >= 0xb0000000 ? 0x80000000 : 0xb0000000);
  return Math.min(ram, ram >= 0xe0000000 ? 0xc0000000 : 0xe0000000);
}

/** pci_setup: runs once, synchronously, like the firmware before the first instruction of the OS. */
export function runFirmware(view: GuestView, opts: FirmwareOptions = {}): FirmwareResult {
  const fw = new FwPci(view, opts.domain ?? 0);
  const log = opts.log ?? (() => {});
  const ram = opts.ramSize ?? 128 * 1024 * 1024;
  const s: PlatformState = {
    // ramSize becomes the below-4G part once the host bridge is known (after the probe).
    fw, view, log, ramSize: 0, acpiPmBase: QEMU_ACPI_PM_BASE, pcimemStart: 0, pciIoLowEnd: 0xa000, platform: 'unknown',
    slotGetIrq: () => {
      log('pci_slot_get_irq called with unknown routing');
      return 0xff;
    },
  };
  log('=== PCI bus & bridge init ===');
  const counter = { bus: 0 };
  initBusRec(s, 0, counter);
  if (opts.extraPciRoots) {
    // pxb roots sit at unknown numbers: every remaining bus number is walked.
    while (counter.bus < 0xff) {
      counter.bus++;
      initBusRec(s, counter.bus, counter);
    }
  }
  log('=== PCI device probing ===');
  const { devices, maxBus } = probeDevices(s, opts.extraPciRoots ?? 0);
  const host = devices.find((d) => d.bdf === 0 && d.vendor === PCI_VENDOR_ID_INTEL);
  s.ramSize = ramBelow4G(ram, host?.device ?? PCI_DEVICE_ID_INTEL_82441);
  s.pcimemStart = s.ramSize;
  for (const d of devices) initPlatform(s, d);
  log('=== PCI new allocation pass #1 ===');
  const busses = checkDevices(s, devices, maxBus);
  log('=== PCI new allocation pass #2 ===');
  const w64 = mapDevices(s, busses, {
    pcimemEnd: PCIMEM_END,
    ramOver4G: Math.max(0, ram - s.ramSize),
    reservedMemoryEnd: opts.reservedMemoryEnd ?? 0,
  });
  for (const d of devices) initDevice(s, d);
  enableDefaultVga(s, devices);
  return {
    platform: s.platform,
    maxBus,
    acpiPmBase: s.acpiPmBase,
    pcimem64: [w64.pcimem64Start, w64.pcimem64End],
    devices: devices.map((d) => ({
      name: formatBdf(fw.domain, bdfBus(d.bdf), bdfDevfn(d.bdf)), bus: bdfBus(d.bdf), devfn: bdfDevfn(d.bdf),
      vendor: d.vendor, device: d.device, class: d.class,
      ...((d.headerType & 0x7f) === R.PCI_HEADER_TYPE_BRIDGE ? { secondaryBus: d.secondaryBus } : {}),
    })),
  };
}

/**
 * pci_bios_init_bus_rec: depth-first numbering. Every bridge on the bus is first parked
 * (secondary 255, subordinate 0) so no cycle reaches an unintended device; then each
 * gets the next number and subordinate 255 while its subtree is numbered.
 */
function initBusRec(s: PlatformState, bus: number, counter: { bus: number }): void {
  const fw = s.fw;
  s.log(`PCI: pci_bios_init_bus_rec bus = 0x${bus.toString(16)}`);
  for (const bdf of fw.functions(bus)) {
    if (fw.readw(bdf, R.PCI_CLASS_DEVICE) !== PCI_CLASS_BRIDGE_PCI) continue;
    fw.writeb(bdf, R.PCI_SECONDARY_BUS, 255);
    fw.writeb(bdf, R.PCI_SUBORDINATE_BUS, 0);
  }
  for (const bdf of fw.functions(bus)) {
    if (fw.readw(bdf, R.PCI_CLASS_DEVICE) !== PCI_CLASS_BRIDGE_PCI) continue;
    const pribus = fw.readb(bdf, R.PCI_PRIMARY_BUS);
    if (pribus !== bus) fw.writeb(bdf, R.PCI_PRIMARY_BUS, bus);
    let secbus = fw.readb(bdf, R.PCI_SECONDARY_BUS);
    counter.bus++;
    if (counter.bus !== secbus) {
      secbus = counter.bus;
      fw.writeb(bdf, R.PCI_SECONDARY_BUS, secbus);
    }
    let subbus = fw.readb(bdf, R.PCI_SUBORDINATE_BUS);
    fw.writeb(bdf, R.PCI_SUBORDINATE_BUS, 255);
    initBusRec(s, secbus, counter);
    if (subbus !== counter.bus) {
      let resBus = counter.bus;
      const cap = findReserveCap(s, bdf);
      if (cap) {
        const reserve = fw.readl(bdf, cap + RES_RESERVE_BUS_RES);
        if (reserve !== 0xffffffff) {
          // Same arithmetic as SeaBIOS, u8 overflow checks included: the reservation only
          // wins when it reaches past what the subtree already used.
          resBus = reserve & 0xff;
          if (((resBus + secbus) & 0xff) < secbus || ((resBus + secbus) & 0xff) < resBus) resBus = 0;
          if (secbus + resBus > counter.bus) resBus = secbus + resBus;
        }
      }
      s.log(`PCI: subordinate bus = 0x${subbus.toString(16)} -> 0x${resBus.toString(16)}`);
      subbus = resBus;
      counter.bus = resBus;
    }
    fw.writeb(bdf, R.PCI_SUBORDINATE_BUS, subbus);
  }
}

/** pci_probe_devices: every function of every bus up to the highest number seen, in bus order. */
function probeDevices(s: PlatformState, extraRoots: number): { devices: FwDevice[]; maxBus: number } {
  const fw = s.fw;
  const busdevs: Array<FwDevice | undefined> = new Array(256).fill(undefined);
  const devices: FwDevice[] = [];
  let maxBus = 0;
  let bus = -1;
  let lastbus = 0;
  let rootbuses = 0;
  while (bus < 0xff && (bus < maxBus || rootbuses < extraRoots)) {
    bus++;
    for (const bdf of fw.functions(bus)) {
      const parent = busdevs[bus];
      let rootbus: number;
      if (!parent) {
        if (bus !== lastbus) rootbuses++;
        lastbus = bus;
        rootbus = rootbuses;
        if (bus > maxBus) maxBus = bus;
      } else rootbus = parent.rootbus;
      const vendev = fw.readl(bdf, R.PCI_VENDOR_ID);
      const classrev = fw.readl(bdf, PCI_CLASS_REVISION);
      const dev: FwDevice = {
        bdf, parent, rootbus,
        vendor: vendev & 0xffff, device: vendev >>> 16,
        class: classrev >>> 16, progIf: (classrev >>> 8) & 0xff, revision: classrev & 0xff,
        headerType: fw.readb(bdf, R.PCI_HEADER_TYPE), secondaryBus: 0,
      };
      const type = dev.headerType & 0x7f;
      if (type === R.PCI_HEADER_TYPE_BRIDGE || type === PCI_HEADER_TYPE_CARDBUS) {
        const secbus = fw.readb(bdf, R.PCI_SECONDARY_BUS);
        dev.secondaryBus = secbus;
        if (secbus > bus && !busdevs[secbus]) busdevs[secbus] = dev;
        if (secbus > maxBus) maxBus = secbus;
      }
      devices.push(dev);
    }
  }
  s.log(`Found ${devices.length} PCI devices (max PCI bus is ${maxBus.toString(16).padStart(2, '0')})`);
  return { devices, maxBus };
}

/** pci_bios_init_device: interrupt line, chipset quirks, then I/O + memory decode and SERR. */
function initDevice(s: PlatformState, dev: FwDevice): void {
  const fw = s.fw;
  s.log(`PCI: init bdf=${fmtBdf(dev.bdf)} id=${hex4(dev.vendor)}:${hex4(dev.device)}`);
  const pin = fw.readb(dev.bdf, R.PCI_INTERRUPT_PIN);
  if (pin !== 0) fw.writeb(dev.bdf, R.PCI_INTERRUPT_LINE, s.slotGetIrq(dev, pin));
  initChipsetDevice(s, dev);
  fw.maskw(dev.bdf, R.PCI_COMMAND, 0, R.PCI_COMMAND_IO | R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_SERR);
  // SERR# forwarding on bridges (the test is on the header-type bit, as in SeaBIOS).
  if (dev.headerType & R.PCI_HEADER_TYPE_BRIDGE) fw.maskw(dev.bdf, R.PCI_BRIDGE_CONTROL, 0, R.PCI_BRIDGE_CTL_SERR);
}

/** is_pci_vga (src/optionroms.c): a VGA with decode on and VGA forwarding on every bridge above. */
function isPciVga(s: PlatformState, dev: FwDevice): boolean {
  if (dev.class !== PCI_CLASS_DISPLAY_VGA) return false;
  const cmd = s.fw.readw(dev.bdf, R.PCI_COMMAND);
  if (!(cmd & R.PCI_COMMAND_IO && cmd & R.PCI_COMMAND_MEMORY)) return false;
  for (let p = dev.parent; p; p = p.parent) if (!(s.fw.readb(p.bdf, R.PCI_BRIDGE_CONTROL) & R.PCI_BRIDGE_CTL_VGA)) return false;
  return true;
}

/** pci_enable_default_vga: route legacy VGA to the first VGA device when none decodes it. */
function enableDefaultVga(s: PlatformState, devices: FwDevice[]): void {
  const primary = devices.find((d) => isPciVga(s, d));
  if (primary) {
    s.log(`PCI: Using ${fmtBdf(primary.bdf)} for primary VGA`);
    return;
  }
  let dev = devices.find((d) => d.class === PCI_CLASS_DISPLAY_VGA);
  if (!dev) {
    s.log('PCI: No VGA devices found');
    return;
  }
  s.log(`PCI: Enabling ${fmtBdf(dev.bdf)} for primary VGA`);
  s.fw.maskw(dev.bdf, R.PCI_COMMAND, 0, R.PCI_COMMAND_IO | R.PCI_COMMAND_MEMORY);
  while (dev.parent) {
    dev = dev.parent;
    s.log(`PCI: Setting VGA enable on bridge ${fmtBdf(dev.bdf)}`);
    s.fw.maskw(dev.bdf, R.PCI_BRIDGE_CONTROL, 0, R.PCI_BRIDGE_CTL_VGA);
    s.fw.maskw(dev.bdf, R.PCI_COMMAND, 0, R.PCI_COMMAND_IO | R.PCI_COMMAND_MEMORY);
  }
}

const hex4 = (v: number) => v.toString(16).padStart(4, '0');
