/**
 * The PCI-hotplug part of QEMU 7.2's DSDT (spec/acpi-pcihp.md §6, guest-acpiphp.md §2), as
 * AML bytes: the pcihp regions and methods (hw/acpi/pcihp.c build_acpi_pci_hotplug, PDSM),
 * one `Sxx` device per slot with BSEL/ASUN/_DSM/_SUN/_EJ0, DVNT and PCNT per bus
 * (hw/i386/acpi-build.c build_append_pci_bus_devices / build_append_pcihp_notify_entry), the
 * GPE method `_E01`, the `PHPR` resource device and, on q35, `_OSC`. Object order and integer
 * encodings follow the tables recorded from QEMU 7.2 (fixtures/qemu-7.2-linux/acpiphp-*.json),
 * so `iasl -d` shows the same methods. ISA, interrupt links, CPU hotplug and resource
 * templates of PCI0 are not generated.
 */
import { PCIDevice, type PCIBus } from '@plugboard/pci-core';
import { ACPI_PCIHP_PROP_BSEL } from '../regs.js';
import { noHotplug, secondaryBus } from '../slots.js';
import * as A from './encode.js';
import type { Aml } from './encode.js';

export interface PciHotplugAmlOptions {
  rootBus: PCIBus;
  /** pcihp register block: 0xae00 (PIIX4) or 0x0cc0 (ICH9). */
  ioBase: number;
  /** `acpi-pci-hotplug-with-bridge-support`: cold-plugged bridges are described recursively. */
  bridgeSupport: boolean;
  /** q35: PCI0 is a PNP0A08 with `_OSC`; false for pc's PNP0A03. */
  express: boolean;
  /** Length the PHPR device reserves (QEMU: the whole 0x18-byte block). */
  ioLen?: number;
}

/** PCI Firmware Specification `_DSM` UUID (Device Labeling Interface). */
export const PCI_DSM_UUID = 'E5C937D0-3553-4D7A-9117-EA4D19C3434D';
/** PCI host bridge `_OSC` UUID. */
export const PCI_HOST_OSC_UUID = '33DB4D5B-1FF7-401C-9657-7441C03DD766';
/** ACPI Notify values QEMU's DVNT sends (ACPI 6.4 §5.6.6). */
export const ACPI_NOTIFY_DEVICE_CHECK = 1;
export const ACPI_NOTIFY_EJECT_REQUEST = 3;
/** `_OSC` control bits QEMU grants: SHPC, PME, AER, PCIe capability (not native PCIe hotplug, bit 0). */
const OSC_CONTROL_MASK_ACPI_HOTPLUG = 0x1e;
/** Types whose non-zero functions QEMU still describes because they bring their own AML (ICH9-SMB). */
const OWN_AML_TYPES = ['ICH9-SMB'];

const PCIHP_IO_LEN = 0x18;
const STA_PRESENT_ENABLED_FUNCTIONING = 0x0b;

const hex2 = (v: number) => v.toString(16).toUpperCase().padStart(2, '0');
/** `Sxx`: xx = devfn in upper-case hex (slot 5 -> S28). */
export const slotDeviceName = (devfn: number): string => `S${hex2(devfn)}`;

// ---- \_SB.PCI0 pcihp block ---------------------------------------------------------------------

/** Regions, BLCK, PCEJ, AIDX, PDSM (build_acpi_pci_hotplug + aml_pci_pdsm). */
export function pcihpMethods(ioBase: number): Aml[] {
  const dword = A.FIELD_ACCESS_DWORD | A.FIELD_NO_LOCK | A.FIELD_WRITE_AS_ZEROS;
  const one = A.int(1);
  return [
    A.opRegion('PCST', A.REGION_SYSTEM_IO, ioBase, 0x08),
    A.field('PCST', dword, [['PCIU', 32], ['PCID', 32]]),
    A.opRegion('SEJ', A.REGION_SYSTEM_IO, ioBase + 0x08, 0x04),
    A.field('SEJ', dword, [['B0EJ', 32]]),
    A.opRegion('BNMR', A.REGION_SYSTEM_IO, ioBase + 0x10, 0x08),
    A.field('BNMR', dword, [['BNUM', 32], ['PIDX', 32]]),
    A.mutex('BLCK', 0),
    A.method('PCEJ', 2, false,
      A.acquire('BLCK'),
      A.store(A.arg(0), A.ref('BNUM')),
      A.store(A.shiftLeft(one, A.arg(1)), A.ref('B0EJ')),
      A.release('BLCK'),
      A.ret(A.int(0))),
    A.method('AIDX', 2, false,
      A.acquire('BLCK'),
      A.store(A.arg(0), A.ref('BNUM')),
      A.store(A.shiftLeft(one, A.arg(1)), A.ref('PIDX')),
      A.store(A.ref('PIDX'), A.local(0)),
      A.release('BLCK'),
      A.ret(A.local(0))),
    pdsm(),
  ];
}

/**
 * PDSM(uuid, rev, func, args, {bsel, sun}): function 0 advertises function 7 when the slot
 * has an acpi-index; function 7 returns {index, ""} (left uninitialised when it has none).
 */
function pdsm(): Aml {
  const [ret, caps, index] = [A.local(0), A.local(1), A.local(2)];
  const zero = A.int(0);
  const aidx = () => A.call('AIDX', A.derefOf(A.index(A.arg(4), zero)), A.derefOf(A.index(A.arg(4), A.int(1))));
  const invalid = A.int(0xffffffff);
  return A.method('PDSM', 5, true,
    A.ifThen(A.lequal(A.arg(2), zero),
      A.store(A.buffer(1, [0]), ret),
      A.store(zero, caps),
      A.ifThen(A.lnot(A.lequal(A.arg(0), A.toUUID(PCI_DSM_UUID))), A.ret(ret)),
      A.ifThen(A.lless(A.arg(1), A.int(2)), A.ret(ret)),
      A.store(aidx(), index),
      // bitwise Or here, logical Or in function 7: as QEMU 7.2 emits them
      A.ifThen(A.lnot(A.or(A.lequal(index, zero), A.lequal(index, invalid))),
        A.or(caps, A.int(1), caps),
        A.or(caps, A.shiftLeft(A.int(1), A.int(7)), caps)),
      A.store(caps, A.index(ret, zero)),
      A.ret(ret)),
    A.ifThen(A.lequal(A.arg(2), A.int(7)),
      A.store(aidx(), index),
      A.store(A.packageOf(2), ret),
      A.ifThen(A.lnot(A.lor(A.lequal(index, zero), A.lequal(index, invalid))),
        A.store(index, A.index(ret, zero)),
        A.store(A.string(''), A.index(ret, A.int(1)))),
      A.ret(ret)));
}

/** q35 `_OSC` (build_q35_osc_method): grant what the OS asks for, minus native PCIe hotplug. */
export function oscMethod(mask = OSC_CONTROL_MASK_ACPI_HOTPLUG): Aml {
  const cdw = (n: number) => A.ref(`CDW${n}`);
  return A.method('_OSC', 4, false,
    A.createDWordField(A.arg(3), A.int(0), 'CDW1'),
    A.ifThen(A.lequal(A.arg(0), A.toUUID(PCI_HOST_OSC_UUID)),
      A.createDWordField(A.arg(3), A.int(4), 'CDW2'),
      A.createDWordField(A.arg(3), A.int(8), 'CDW3'),
      A.store(cdw(3), A.local(0)),
      A.and(A.local(0), A.int(mask), A.local(0)),
      A.ifThen(A.lnot(A.lequal(A.arg(1), A.int(1))), A.or(cdw(1), A.int(0x08), cdw(1))),
      A.ifThen(A.lnot(A.lequal(cdw(3), A.local(0))), A.or(cdw(1), A.int(0x10), cdw(1))),
      A.store(A.local(0), cdw(3))),
    A.orElse(A.or(cdw(1), A.int(0x04), cdw(1))),
    A.ret(A.arg(3)));
}

/** ResourceTemplate with one 16-bit decoded I/O range (IO(Decode16, b, b, 1, len)) and the end tag. */
function ioResource(base: number, len: number): Aml {
  const IO_PORT_DESCRIPTOR = 0x47;
  const DECODE_16 = 0x01;
  const END_TAG = 0x79;
  return A.buffer(10, [IO_PORT_DESCRIPTOR, DECODE_16, base & 0xff, base >> 8, base & 0xff, base >> 8, 1, len, END_TAG, 0]);
}

/** `PHPR`: a PNP0A06 container reserving the pcihp block (build_append_pcihp_resources). */
export function phprDevice(ioBase: number, ioLen = PCIHP_IO_LEN): Aml {
  return A.device('PHPR',
    A.name('_HID', A.string('PNP0A06')),
    A.name('_UID', A.string('PCI Hotplug resources')),
    A.name('_STA', A.int(STA_PRESENT_ENABLED_FUNCTIONING)),
    A.name('_CRS', ioResource(ioBase, ioLen)));
}

// ---- per-bus slot devices ----------------------------------------------------------------------

interface BusAml {
  terms: Aml[];
  /** The bus got a PCNT method (it has a BSEL or a child bus with one). */
  hasPcnt: boolean;
}

const isColdBridge = (d: PCIDevice) => d.isBridge && !d.hotplugged;

/** The bus' `acpi-pcihp-bsel` QOM property (read as QOM does, whoever assigned it). */
function bselOf(bus: PCIBus): number | undefined {
  return bus.hasProperty(ACPI_PCIHP_PROP_BSEL) ? (bus.getProperty(ACPI_PCIHP_PROP_BSEL) as number) : undefined;
}

/** The terms describing `bus`'s devices inside its ACPI scope (build_append_pci_bus_devices). */
export function busDevices(bus: PCIBus, bridgeSupport: boolean, isRoot = false): BusAml {
  const bsel = bselOf(bus);
  const hasBsel = bsel !== undefined;
  const terms: Aml[] = [];
  const notifySlots: number[] = [];
  const childPcnt: string[] = [];
  if (hasBsel) terms.push(A.name('BSEL', A.int(bsel)));
  // devfn -> device, the first in bus-children order (as a linear search would find it).
  const byDevfn = new Map<number, PCIDevice>();
  for (const d of bus.children()) if (d instanceof PCIDevice && !byDevfn.has(d.devfn)) byDevfn.set(d.devfn, d);
  for (let devfn = 0; devfn < 256; devfn++) {
    const dev = byDevfn.get(devfn);
    const slot = devfn >> 3;
    const fn = devfn & 7;
    // Devfns that get no Device are skipped before any AML is built for them.
    let hotpluggable: boolean;
    let sec: PCIBus | undefined;
    if (!dev) {
      // Empty slots: function 0 only, on BSEL buses; a PCIe bus has slot 0 only.
      if (!hasBsel || fn !== 0 || (bus.isExpress && slot > 0)) continue;
      hotpluggable = true;
    } else {
      const describedBridge = bridgeSupport && isColdBridge(dev);
      if (fn !== 0 && !describedBridge && !OWN_AML_TYPES.some((t) => dev.type.isA(t))) continue;
      hotpluggable = hasBsel && !noHotplug(dev);
      sec = describedBridge ? secondaryBus(dev) : undefined;
    }
    const body: Aml[] = [A.name('_ADR', A.int(((slot << 16) | fn) >>> 0))];
    if (hasBsel) body.push(...slotDsm(slot));
    if (sec) {
      const child = busDevices(sec, bridgeSupport);
      body.push(...child.terms);
      if (child.hasPcnt) childPcnt.push(slotDeviceName(devfn));
    }
    if (hotpluggable) {
      body.push(A.name('_SUN', A.int(slot)), (slotEj0 ??= A.method('_EJ0', 1, false, A.call('PCEJ', A.ref('BSEL'), A.ref('_SUN')))));
      notifySlots.push(slot);
    }
    terms.push(A.device(slotDeviceName(devfn), ...body));
  }
  if (hasBsel) terms.push(dvnt(notifySlots));
  const hasPcnt = hasBsel || childPcnt.length > 0;
  if (hasPcnt || isRoot) terms.push(pcnt(bsel, childPcnt));
  return { terms, hasPcnt };
}

/**
 * Everything busDevices reads from the tree under `bus`, as a string: equal keys give equal
 * terms, so a table built for one key can be handed out again (dsdtForController). Keep it in
 * step with busDevices: a field read there and missing here would serve a stale table.
 */
export function busDevicesKey(bus: PCIBus, bridgeSupport: boolean): string {
  const bsel = bselOf(bus);
  let key = `[${bsel ?? '-'}${bus.isExpress ? 'e' : ''}`;
  for (const d of bus.children()) {
    if (!(d instanceof PCIDevice)) continue;
    const own = OWN_AML_TYPES.some((t) => d.type.isA(t));
    key += ` ${d.devfn}:${+d.isBridge}${+d.hotplugged}${+d.type.hotpluggable}${+own}`;
    const sec = bridgeSupport && isColdBridge(d) ? secondaryBus(d) : undefined;
    if (sec) key += busDevicesKey(sec, bridgeSupport);
  }
  return key + ']';
}

/**
 * ASUN and the per-slot `_DSM` that hands {BSEL, ASUN} to PDSM. The `_DSM` body is the same
 * in every slot and ASUN depends on the slot number only: both are built once per slot and
 * shared (terms are only ever copied into their parent, never written).
 */
const slotDsmCache: Aml[][] = [];
let slotDsmMethod: Aml | undefined;
/** `_EJ0` of a hotpluggable slot: PCEJ(BSEL, _SUN), the same bytes in every slot. */
let slotEj0: Aml | undefined;
function slotDsm(slot: number): Aml[] {
  const cached = slotDsmCache[slot];
  if (cached) return cached;
  slotDsmMethod ??= A.method('_DSM', 4, true,
    A.store(A.packageOf(2, A.ref('BSEL'), A.ref('ASUN')), A.local(0)),
    A.ret(A.call('PDSM', A.arg(0), A.arg(1), A.arg(2), A.arg(3), A.local(0))));
  return (slotDsmCache[slot] = [A.name('ASUN', A.int(slot)), slotDsmMethod]);
}

/** DVNT(slots, code): Notify(Sxx, code) for each hotpluggable slot whose bit is set. */
function dvnt(slots: number[]): Aml {
  return A.method('DVNT', 2, false,
    ...slots.map((s) => A.ifThen(A.and(A.arg(0), A.int((1 << s) >>> 0)), A.notify(A.ref(slotDeviceName(s << 3)), A.arg(1)))));
}

/** PCNT: select this bus, Device Check the UP slots, Eject Request the DOWN slots, recurse. */
function pcnt(bsel: number | undefined, children: string[]): Aml {
  const body: Aml[] = [];
  if (bsel !== undefined) {
    body.push(
      A.store(A.int(bsel), A.ref('BNUM')),
      A.call('DVNT', A.ref('PCIU'), A.int(ACPI_NOTIFY_DEVICE_CHECK)),
      A.call('DVNT', A.ref('PCID'), A.int(ACPI_NOTIFY_EJECT_REQUEST)));
  }
  for (const c of children) body.push(A.call(`^${c}.PCNT`));
  return A.method('PCNT', 0, false, ...body);
}

// ---- the table ---------------------------------------------------------------------------------

/** The DSDT body (TermList): the hotplug objects in QEMU 7.2's order. */
export function pciHotplugTerms(o: PciHotplugAmlOptions): Aml[] {
  const pci0: Aml[] = o.express
    ? [A.name('_HID', A.eisaId('PNP0A08')), A.name('_CID', A.eisaId('PNP0A03')), A.name('_ADR', A.int(0)), A.name('_UID', A.int(0)), oscMethod()]
    : [A.name('_HID', A.eisaId('PNP0A03')), A.name('_ADR', A.int(0)), A.name('_UID', A.int(0))];
  const slots = busDevices(o.rootBus, o.bridgeSupport, true);
  return [
    A.scope('_SB', A.device('PCI0', ...pci0)),
    A.scope('_SB.PCI0', ...pcihpMethods(o.ioBase)),
    // CPU hotplug's edge GPE (hw/acpi/cpu.c): its CSCN scan is not modelled, but its presence
    // makes the OS enable GPE 2 as it does on QEMU (observed enable byte 0x06).
    A.method('\\_GPE._E02', 0, false),
    A.scope('\\_SB.PCI0', phprDevice(o.ioBase, o.ioLen)),
    A.scope('\\_SB', A.scope('PCI0', ...slots.terms)),
    A.scope('_GPE', A.method('_E01', 0, false, A.acquire('\\_SB.PCI0.BLCK'), A.call('\\_SB.PCI0.PCNT'), A.release('\\_SB.PCI0.BLCK'))),
  ];
}

/** ACPI table header fields QEMU uses (hw/acpi/aml-build.c ACPI_BUILD_APPNAME6 / _TABLE4). */
const OEM_ID = 'BOCHS ';
const OEM_TABLE_ID = 'BXPC    ';
const CREATOR_ID = 'BXPC';
const ACPI_TABLE_HEADER_LEN = 36;

/** A complete table (36-byte header with checksum) around `terms`: what `iasl -d` reads. */
export function acpiTable(signature: string, revision: number, terms: Aml[]): Uint8Array {
  const body = A.concat(...terms);
  const t = new Uint8Array(ACPI_TABLE_HEADER_LEN + body.length);
  const dv = new DataView(t.buffer);
  const ascii = (s: string, at: number) => [...s].forEach((c, i) => (t[at + i] = c.charCodeAt(0)));
  ascii(signature, 0);
  dv.setUint32(4, t.length, true);
  t[8] = revision;
  ascii(OEM_ID, 10);
  ascii(OEM_TABLE_ID, 16);
  dv.setUint32(24, 1, true);
  ascii(CREATOR_ID, 28);
  dv.setUint32(32, 1, true);
  t.set(body, ACPI_TABLE_HEADER_LEN);
  t[9] = (256 - (t.reduce((s, b) => s + b, 0) & 0xff)) & 0xff;
  return t;
}

/** The hotplug DSDT for a machine: revision 1 (32-bit integers), as QEMU's x86 DSDT. */
export function buildPciHotplugDsdt(o: PciHotplugAmlOptions): Uint8Array {
  return acpiTable('DSDT', 1, pciHotplugTerms(o));
}
