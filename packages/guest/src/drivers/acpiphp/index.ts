/**
 * The acpiphp hotplug driver of the simulated Linux guest: ACPI tables from the firmware,
 * the GPE/SCI path and acpiphp's slot handling (guest-acpiphp.md). Registered as a built-in
 * hotplug driver ahead of pciehp/shpchp: it claims the bridges whose slots the DSDT describes
 * (Linux enumerates ACPI slots at bus scan time, before the PCIe port services probe, and
 * pciehp stays off ports whose hotplug `_OSC` did not grant).
 */
import type { GuestView } from '@plugboard/pci-core';
import type { HotplugDriver } from '../../os/drivers.js';
import type { LinuxGuest } from '../../os/linux.js';
import type { PciDev } from '../../os/pci-dev.js';
import { AcpiEvents, type AcpiHardware } from './acpi.js';
import { AmlInterpreter } from './aml.js';
import { rootWindows } from './host-windows.js';
import { AcpiphpGlue } from './glue.js';

export { AmlInterpreter, nodePath, type AmlNode, type AmlNotify, type AmlValue } from './aml.js';
export { AcpiEvents, WorkQueue, type AcpiHardware } from './acpi.js';
export { AcpiphpGlue, type AcpiphpSlot, type AcpiphpBridge, type AcpiphpFunc } from './glue.js';
export { rootWindows } from './host-windows.js';

/** The ACPI tables firmware left in guest memory (QEMU's etc/acpi/tables via SeaBIOS). */
export interface AcpiTables {
  dsdt?: Uint8Array;
}

const tables = new WeakMap<GuestView, () => AcpiTables | undefined>();

/**
 * Makes `source` the ACPI tables the guest on `view` finds at boot (asked at every boot, as
 * QEMU rebuilds the tables when the firmware reads them after a reset).
 */
export function provideAcpiTables(view: GuestView, source: () => AcpiTables | undefined): void {
  tables.set(view, source);
}

export function acpiTablesOf(view: GuestView): AcpiTables | undefined {
  return tables.get(view)?.();
}

export interface AcpiphpOptions {
  /** Guest RAM in bytes (sets the host bridge's 32-bit window, `_CRS`), default 128 MiB. */
  ramSize?: number;
}

const PIIX4_PM = { vendor: 0x8086, device: 0x7113, pmbaseMask: 0xffc0 };
const ICH9_LPC = { vendor: 0x8086, device: 0x2918, pmbaseMask: 0xff80 };
const PMBASE = 0x40;
/** hw/acpi/piix4.c GPE_BASE/GPE_LEN; ICH9: PMBASE + 0x20, 16 bytes (include/hw/acpi/ich9.h). */
const PIIX4_GPE0 = 0xafe0;
const PIIX4_GPE0_LEN = 4;
const ICH9_GPE0_OFFSET = 0x20;
const ICH9_GPE0_LEN = 16;
const SCI_IRQ = 9;
const DEFAULT_RAM = 128 * 1024 * 1024;
/** `_OSC` control bits (include/linux/acpi.h OSC_PCI_*): the set Linux 6.1 requests. */
const OSC_PCI_EXPRESS_NATIVE_HP_CONTROL = 0x01;
const OSC_PCI_CONTROL_REQUESTED = 0x3f;
const OSC_PCI_SUPPORT = 0x1f;
const PCI_HOST_OSC_UUID = [0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40, 0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66];

/** What the FADT tells Linux, read back from the chipset registers firmware programmed. */
function acpiHardware(guest: LinuxGuest): { hw: AcpiHardware; q35: boolean } | undefined {
  for (const dev of guest.pci.devices()) {
    for (const chip of [PIIX4_PM, ICH9_LPC]) {
      if (dev.vendor !== chip.vendor || dev.device !== chip.device) continue;
      const pmbase = dev.read32(PMBASE) & chip.pmbaseMask;
      const q35 = chip === ICH9_LPC;
      return {
        q35,
        hw: q35
          ? { pm1Event: pmbase, gpe0: pmbase + ICH9_GPE0_OFFSET, gpe0Len: ICH9_GPE0_LEN, sciIrq: SCI_IRQ }
          : { pm1Event: pmbase, gpe0: PIIX4_GPE0, gpe0Len: PIIX4_GPE0_LEN, sciIrq: SCI_IRQ },
      };
    }
  }
  return undefined;
}

/** QEMU's lowmem split (hw/i386/pc_piix.c, pc_q35.c), as the guest firmware computes it. */
function lowMemEnd(ram: number, q35: boolean): number {
  return q35 ? Math.min(ram, ram >= 0xb0000000 ? 0x80000000 : 0xb0000000) : Math.min(ram, ram >= 0xe0000000 ? 0xc0000000 : 0xe0000000);
}

interface State {
  events: AcpiEvents;
  glue: AcpiphpGlue;
  nativePcieHotplug: boolean;
}

export function createAcpiphpDriver(opts: AcpiphpOptions = {}): HotplugDriver & { state(guest: LinuxGuest): State | undefined } {
  const states = new WeakMap<LinuxGuest, State>();
  const isNative = (st: State) => (bridge: PciDev) => (st.nativePcieHotplug && bridge.isHotplugBridge) || !!bridge.hotplugDriver && bridge.hotplugDriver !== 'acpiphp';
  return {
    name: 'acpiphp',
    state: (guest) => states.get(guest),
    init(guest) {
      states.get(guest)?.events.stop();
      states.delete(guest);
      const dsdt = acpiTablesOf(guest.view)?.dsdt;
      const found = acpiHardware(guest);
      guest.printk('acpiphp: ACPI Hot Plug PCI Controller Driver version: 0.5');
      if (!dsdt || !found) return;
      const aml = new AmlInterpreter(guest.view);
      try {
        aml.load(dsdt);
      } catch (e) {
        guest.printk(`ACPI Error: DSDT load failed (${e instanceof Error ? e.message : String(e)})`);
        return;
      }
      let glue: AcpiphpGlue | undefined;
      const events = new AcpiEvents(guest, aml, found.hw, (n) => glue?.notify(n));
      events.initGpes();
      const st: State = { events, glue: undefined as unknown as AcpiphpGlue, nativePcieHotplug: osc(aml) };
      guest.nativePcieHotplug = st.nativePcieHotplug;
      glue = new AcpiphpGlue(guest, aml, events, rootWindows(lowMemEnd(opts.ramSize ?? DEFAULT_RAM, found.q35), found.q35), isNative(st));
      st.glue = glue;
      states.set(guest, st);
      const root = guest.pci.roots.find((r) => r.domain === 0 && r.number === 0);
      if (root) glue.enumerate(root);
    },
    probe(port, guest) {
      const st = states.get(guest);
      if (!st || !port.subordinate || isNative(st)(port)) return false;
      const bridge = st.glue.enumerate(port.subordinate);
      return !!bridge?.slots.some((s) => s.name !== undefined);
    },
    remove(port, guest) {
      const st = states.get(guest);
      if (!st) return;
      const i = st.glue.bridges.findIndex((b) => b.bus.self === port);
      if (i >= 0) st.glue.bridges.splice(i, 1);
    },
  };
}

/** negotiate_os_control: ask for everything; native PCIe hotplug only if `_OSC` grants bit 0. */
function osc(aml: AmlInterpreter): boolean {
  const node = aml.find('\\_SB.PCI0._OSC');
  if (!node) return false;
  const buf = new Uint8Array(12);
  const dv = new DataView(buf.buffer);
  dv.setUint32(4, OSC_PCI_SUPPORT, true);
  dv.setUint32(8, OSC_PCI_CONTROL_REQUESTED, true);
  try {
    aml.evaluate(node, [Uint8Array.from(PCI_HOST_OSC_UUID), 1, 3, buf]);
  } catch {
    return false;
  }
  return (dv.getUint32(8, true) & OSC_PCI_EXPRESS_NATIVE_HP_CONTROL) !== 0;
}

/** The built-in instance (128 MiB RAM window unless a guest is built with its own instance). */
export const acpiphpDriver = createAcpiphpDriver();
