/**
 * The PCI type catalog with QEMU 7.2's identities (spec/devices.md), registered through
 * the plugin API like any third-party catalog.
 */
import { QemuError, boolProp, definePlugin, uint16Prop, uint8Prop, type Machine, type TypeDef, type TypeImpl } from '@plugboard/qdev';
import { PCIBridge } from '../bridge.js';
import { PCIHostBridge } from '../host.js';
import { PCIDevice, pciDeviceProperties, type PciClassHooks, type PciIdentity } from '../pci-device.js';
import * as R from '../regs.js';
import * as C from '../caps.js';
import { qemuProperties } from './props.js';
import { defaultMac, macSerialNumber } from './nic.js';
import { INERT_PROPERTIES } from './inert-properties.js';
import { virtioTypes } from './virtio.js';

const KiB = 1024;

export function pciClass(pci: PciIdentity, hooks?: PciClassHooks, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { pci, ...(hooks ? { pciHooks: hooks } : {}), ...extra };
}

/** Abstract bases: every PCI type derives from `pci-device`. */
const baseTypes: TypeDef[] = [
  { name: 'pci-device', parent: 'device', abstract: true, busType: 'PCI', properties: [...pciDeviceProperties], instantiate: (t: TypeImpl, m: Machine) => new PCIDevice(t, m) },
  { name: 'base-pci-bridge', parent: 'pci-device', abstract: true, instantiate: (t: TypeImpl, m: Machine) => new PCIBridge(t, m) },
  { name: 'pcie-port', parent: 'base-pci-bridge', abstract: true, classData: { secondaryExpress: true } },
  // Root and downstream ports close their windows at reset (pci_bridge_disable_base_limit
  // in their reset handlers); the switch's upstream port does not.
  { name: 'pcie-slot', parent: 'pcie-port', abstract: true, classData: { disableBaseLimitOnReset: true } },
  { name: 'pcie-root-port-base', parent: 'pcie-slot', abstract: true },
  { name: 'pci-host-bridge', parent: 'sys-bus-device', abstract: true, instantiate: (t: TypeImpl, m: Machine) => new PCIHostBridge(t, m) },
  { name: 'pcie-host-bridge', parent: 'pci-host-bridge', abstract: true },
];

const rootPortSlotProps = [
  { name: 'port', kind: uint8Prop, default: 0 },
  { name: 'chassis', kind: uint8Prop, default: 0 },
  { name: 'slot', kind: uint16Prop, default: 0 },
  { name: 'hotplug', kind: boolProp, default: true },
  { name: 'x-native-hotplug', kind: boolProp, default: true },
  { name: 'power_controller_present', kind: boolProp, default: true, description: 'on/off' },
];

/**
 * (chassis, slot) pairs are unique per machine (hw/pci/pcie_port.c pcie_chassis_add_slot);
 * a clash is EBUSY, printed as its negative errno.
 */
const chassisSlots = new WeakMap<object, Set<string>>();
function addChassisSlot(dev: PCIDevice): void {
  let used = chassisSlots.get(dev.machine);
  if (!used) chassisSlots.set(dev.machine, (used = new Set()));
  const key = `${dev.prop<number>('chassis')}:${dev.prop<number>('slot')}`;
  if (used.has(key)) throw new QemuError("Can't add chassis slot, error -16");
  used.add(key);
}
function removeChassisSlot(dev: PCIDevice): void {
  chassisSlots.get(dev.machine)?.delete(`${dev.prop<number>('chassis')}:${dev.prop<number>('slot')}`);
}

/** The PCIe capability of a port, with the slot/link values of spec/pcie-slot.md §1. */
function portPcieCap(dev: PCIDevice, offset: number, type: number, lnkcap: number): void {
  C.pcieCapInit(dev, offset, type, {
    port: dev.prop<number>('port') ?? 0,
    lnkcap,
    lnksta: type === C.PCI_EXP_TYPE_DOWNSTREAM ? 0 : 0x0011,
    devcap: C.PCI_EXP_DEVCAP_RBER | (type === C.PCI_EXP_TYPE_UPSTREAM || type === C.PCI_EXP_TYPE_DOWNSTREAM ? C.PCI_EXP_DEVCAP_FLR : 0),
    // Extended Fmt Field, End-End TLP Prefix; ARI Forwarding only where pcie_cap_arifwd_init
    // runs (root and downstream ports; observed 0x300000 on x3130-upstream).
    devcap2: type === C.PCI_EXP_TYPE_UPSTREAM ? 0x00300000 : 0x00300020,
  });
}

const bridgeTypes: TypeDef[] = [
  {
    name: 'pci-bridge', parent: 'base-pci-bridge', category: 'bridge', description: 'Standard PCI Bridge',
    properties: qemuProperties('pci-bridge'),
    classData: pciClass(
      { vendorId: R.PCI_VENDOR_ID_REDHAT, deviceId: 0x0001, revision: 0, classCode: 0x060400, headerType: 1, interruptPin: 1, bars: [{ index: 0, size: 256, type: 'mem64' }] },
      {
        identity: (dev, base) => (dev.prop<boolean>('shpc') ? base : { ...base, bars: [] }),
        capabilities: (dev) => {
          // hw/pci/slotid_cap.c: a chassis number is mandatory.
          if (!dev.prop<number>('chassis_nr')) throw new QemuError('Bridge chassis not specified. Each bridge is required to be assigned a unique chassis id > 0.');
          if (dev.prop<boolean>('shpc')) dev.addCapability(R.PCI_CAP_ID_SHPC, 0x40, 8);
          // pci_bridge_initfn: 66 MHz and fast back-to-back capable (real QEMU 7.2: Status 0x00b0,
          // fixtures/qemu-7.2-linux/shpchp-pc.json; the pseries DTB lists both properties).
          dev.config.set16(R.PCI_STATUS, dev.config.get16(R.PCI_STATUS) | R.PCI_STATUS_66MHZ | R.PCI_STATUS_FAST_BACK);
          // ... and so is the secondary side (Secondary Status 0x00a0, recorded shpchp-pc).
          dev.config.set16(R.PCI_SEC_STATUS, dev.config.get16(R.PCI_SEC_STATUS) | R.PCI_STATUS_66MHZ | R.PCI_STATUS_FAST_BACK);
          C.slotIdInit(dev, 0x48, 0, dev.prop<number>('chassis_nr'));
          if (dev.prop<string>('msi') !== 'off') C.msiInit(dev, 0x4c, 1, true, true);
        },
      },
    ),
  },
  {
    name: 'pcie-pci-bridge', parent: 'base-pci-bridge', category: 'bridge', description: 'Red Hat PCIe to PCI bridge',
    properties: qemuProperties('pcie-pci-bridge'),
    classData: pciClass(
      { vendorId: R.PCI_VENDOR_ID_REDHAT, deviceId: 0x000e, revision: 0, classCode: 0x060400, headerType: 1, interruptPin: 1, express: true, bars: [{ index: 0, size: 256, type: 'mem64' }] },
      {
        capabilities: (dev) => {
          dev.addCapability(R.PCI_CAP_ID_SHPC, 0x40, 8);
          // hw/pci-bridge/pcie_pci_bridge.c: ARI Forwarding Supported (pcie_cap_arifwd_init).
          C.pcieCapInit(dev, 0x48, C.PCI_EXP_TYPE_PCI_BRIDGE, { devcap2: 0x00000020 });
          // pci_bridge_initfn: 66 MHz capable and fast back-to-back capable (observed Status 0x00b0).
          dev.config.set16(R.PCI_STATUS, dev.config.get16(R.PCI_STATUS) | R.PCI_STATUS_66MHZ | R.PCI_STATUS_FAST_BACK);
          dev.config.set16(R.PCI_SEC_STATUS, dev.config.get16(R.PCI_SEC_STATUS) | R.PCI_STATUS_66MHZ | R.PCI_STATUS_FAST_BACK);
          // pcie_pci_bridge_realize: PMC 0x3 and nothing else (PMCSR 0 and read-only; recorded
          // shpchp-q35-pcie-pci-bridge reads 0 after Linux set D0).
          C.pmInit(dev, 0x84, 0x0003, { ctrl: 0, wmask: 0 });
          if (dev.prop<string>('msi') !== 'off') C.msiInit(dev, 0x8c, 1, true, true);
          // pcie_pci_bridge_realize adds AER on any bus (on pc's pci.0 the guest cannot reach it).
          C.aerInit(dev, 0x100, { rootPort: false });
        },
      },
    ),
  },
  {
    name: 'pcie-root-port', parent: 'pcie-root-port-base', category: 'bridge', description: 'PCI Express Root Port',
    properties: qemuProperties('pcie-root-port', rootPortSlotProps),
    classData: pciClass(
      { vendorId: R.PCI_VENDOR_ID_REDHAT, deviceId: 0x000c, revision: 0, classCode: 0x060400, headerType: 1, interruptPin: 1, express: true, bars: [{ index: 0, size: 4 * KiB, type: 'mem32' }] },
      {
        unrealize: removeChassisSlot,
        capabilities: (dev) => {
          addChassisSlot(dev);
          C.ssvidInit(dev, 0x40, R.PCI_VENDOR_ID_REDHAT, 0);
          C.msixInit(dev, 0x48, 1, 0, 0, 0, 0x800);
          portPcieCap(dev, 0x54, C.PCI_EXP_TYPE_ROOT_PORT, 0x00300604);
          C.aerInit(dev, 0x100, { rootPort: true });
          if (!dev.prop<boolean>('disable-acs')) C.acsInit(dev, 0x148);
        },
      },
    ),
  },
  {
    name: 'ioh3420', parent: 'pcie-root-port-base', category: 'bridge', description: 'Intel IOH device id 3420 PCIE Root Port',
    properties: qemuProperties('ioh3420', rootPortSlotProps),
    classData: pciClass(
      { vendorId: R.PCI_VENDOR_ID_INTEL, deviceId: 0x3420, revision: 2, classCode: 0x060400, headerType: 1, interruptPin: 1, express: true },
      {
        unrealize: removeChassisSlot,
        capabilities: (dev) => {
          addChassisSlot(dev);
          C.ssvidInit(dev, 0x40, R.PCI_VENDOR_ID_INTEL, 0);
          // 32-bit MSI with per-vector masking (flags 0x0102), hw/pci-bridge/ioh3420.c.
          C.msiInit(dev, 0x60, 2, false, true);
          portPcieCap(dev, 0x90, C.PCI_EXP_TYPE_ROOT_PORT, 0x00000411);
          C.aerInit(dev, 0x100, { rootPort: true });
        },
      },
    ),
  },
  {
    name: 'x3130-upstream', parent: 'pcie-port', category: 'bridge', description: 'TI X3130 Upstream Port of PCI Express Switch',
    properties: qemuProperties('x3130-upstream', [{ name: 'port', kind: uint8Prop, default: 0 }]),
    classData: pciClass(
      { vendorId: R.PCI_VENDOR_ID_TI, deviceId: 0x8232, revision: 2, classCode: 0x060400, headerType: 1, interruptPin: 0, express: true },
      {
        capabilities: (dev) => {
          C.msiInit(dev, 0x70, 1, true, false);
          C.ssvidInit(dev, 0x80, 0, 0);
          portPcieCap(dev, 0x90, C.PCI_EXP_TYPE_UPSTREAM, 0x00000411);
          C.aerInit(dev, 0x100, { rootPort: false });
        },
      },
    ),
  },
  {
    name: 'xio3130-downstream', parent: 'pcie-slot', category: 'bridge', description: 'TI X3130 Downstream Port of PCI Express Switch',
    properties: qemuProperties('xio3130-downstream', rootPortSlotProps),
    classData: pciClass(
      { vendorId: R.PCI_VENDOR_ID_TI, deviceId: 0x8233, revision: 1, classCode: 0x060400, headerType: 1, interruptPin: 0, express: true },
      {
        unrealize: removeChassisSlot,
        capabilities: (dev) => {
          addChassisSlot(dev);
          C.msiInit(dev, 0x70, 1, true, false);
          C.ssvidInit(dev, 0x80, 0, 0);
          portPcieCap(dev, 0x90, C.PCI_EXP_TYPE_DOWNSTREAM, 0x00000400);
          C.aerInit(dev, 0x100, { rootPort: false });
        },
      },
    ),
  },
];

/**
 * pcie_endpoint_cap_common_init: an integrated endpoint on a PCIe root bus (q35's pcie.0),
 * an endpoint anywhere else, pc's conventional pci.0 included (observed FLAGS 0x0001).
 */
function expressEndpointType(dev: PCIDevice): number {
  return dev.pciBus.isRoot && dev.pciBus.isExpress ? C.PCI_EXP_TYPE_RC_END : C.PCI_EXP_TYPE_ENDPOINT;
}

const endpointTypes: TypeDef[] = [
  {
    name: 'e1000', parent: 'pci-device', category: 'network', description: 'Intel Gigabit Ethernet', aliases: ['e1000-82540em'],
    properties: qemuProperties('e1000'),
    classData: pciClass({
      vendorId: R.PCI_VENDOR_ID_INTEL, deviceId: 0x100e, revision: 3, classCode: 0x020000, headerType: 0, interruptPin: 1,
      bars: [{ index: 0, size: 128 * KiB, type: 'mem32' }, { index: 1, size: 64, type: 'io' }], romSize: 256 * KiB, romfile: 'efi-e1000.rom',
    }, { capabilities: defaultMac }),
  },
  {
    name: 'e1000e', parent: 'pci-device', category: 'network', description: 'Intel 82574L GbE Controller',
    properties: qemuProperties('e1000e'),
    classData: pciClass(
      {
        vendorId: R.PCI_VENDOR_ID_INTEL, deviceId: 0x10d3, revision: 0, classCode: 0x020000, headerType: 0, interruptPin: 1, express: true,
        subsystemVendorId: R.PCI_VENDOR_ID_INTEL, subsystemId: 0,
        bars: [{ index: 0, size: 128 * KiB, type: 'mem32' }, { index: 1, size: 128 * KiB, type: 'mem32' }, { index: 2, size: 32, type: 'io' }, { index: 3, size: 16 * KiB, type: 'mem32' }],
        romSize: 256 * KiB, romfile: 'efi-e1000e.rom',
      },
      {
        identity: (dev, base) => ({ ...base, subsystemVendorId: dev.prop<number>('subsys_ven'), subsystemId: dev.prop<number>('subsys') }),
        capabilities: (dev) => {
          defaultMac(dev);
          // Added in QEMU's order, read back through CF8/CFC from QEMU 7.2: the list runs
          // PM 0xc8 -> MSI 0xd0 -> PCIe 0xe0 -> MSI-X 0xa0 (each new cap goes to the head).
          C.msixInit(dev, 0xa0, 5, 3, 0, 3, 0x2000);
          // A version 1 capability (e1000e_pci_realize: pcie_endpoint_cap_v1_init; observed FLAGS 0x0001).
          C.pcieCapInit(dev, 0xe0, expressEndpointType(dev), { version: 1 });
          C.msiInit(dev, 0xd0, 1, true, false);
          // e1000e_add_pm_capability: PM 1.1 with DSI (PMC 0x0022), PMCSR 0, PME enable and data
          // select writable, PME status write-1-to-clear.
          C.pmInit(dev, 0xc8, 0x0022, { ctrl: 0, wmask: 0x1f03, w1c: 0x8000 });
          // e1000e_pci_realize adds AER and the serial number on any bus (hw/net/e1000e.c).
          C.aerInit(dev, 0x100, { rootPort: false });
          C.dsnInit(dev, 0x140, macSerialNumber(dev));
        },
      },
    ),
  },
  {
    name: 'nvme', parent: 'pci-device', category: 'storage', description: 'Non-Volatile Memory Express',
    properties: qemuProperties('nvme'),
    classData: pciClass(
      { vendorId: R.PCI_VENDOR_ID_REDHAT, deviceId: 0x0010, revision: 2, classCode: 0x010802, headerType: 0, interruptPin: 1, express: true, bars: [{ index: 0, size: 16 * KiB, type: 'mem64' }] },
      {
        capabilities: (dev) => {
          // QEMU 7.2's list (CF8/CFC): MSI-X 0x40 -> PCIe 0x80 -> PM 0x60 (head insertion).
          C.pmInit(dev, 0x60);
          // nvme_init_pci: pcie_cap_flr_init advertises Function Level Reset (DEVCAP 0x10008000).
          // FLR itself (a write of BCR_FLR resetting the function) is not modelled.
          C.pcieCapInit(dev, 0x80, expressEndpointType(dev), { devcap: 0x10008000 });
          C.msixInit(dev, 0x40, 65, 0, 0x2000, 0, 0x3000);
        },
      },
    ),
  },
  {
    name: 'VGA', parent: 'pci-device', category: 'display', description: 'VGA',
    properties: [
      { name: 'vgamem_mb', kind: uint8Prop as never, default: 16 },
    ],
    classData: pciClass({
      vendorId: 0x1234, deviceId: 0x1111, revision: 2, classCode: 0x030000, headerType: 0, interruptPin: 0,
      bars: [{ index: 0, size: 16 * KiB * KiB, type: 'mem32', prefetch: true }, { index: 2, size: 4 * KiB, type: 'mem32' }], romSize: 64 * KiB, romfile: 'vgabios-stdvga.bin',
    }),
  },
];

/** Chipset functions: board-created only. */
const chipsetTypes: TypeDef[] = [
  { name: 'i440FX', parent: 'pci-device', userCreatable: false, hotpluggable: false, classData: pciClass({ vendorId: R.PCI_VENDOR_ID_INTEL, deviceId: 0x1237, revision: 2, classCode: 0x060000, headerType: 0, interruptPin: 0 }) },
  { name: 'PIIX3', parent: 'pci-device', userCreatable: false, hotpluggable: false, classData: pciClass({ vendorId: R.PCI_VENDOR_ID_INTEL, deviceId: 0x7000, revision: 0, classCode: 0x060100, headerType: 0, interruptPin: 0 }) },
  { name: 'piix3-ide', parent: 'pci-device', userCreatable: false, hotpluggable: false, category: 'storage', classData: pciClass({ vendorId: R.PCI_VENDOR_ID_INTEL, deviceId: 0x7010, revision: 0, classCode: 0x010180, headerType: 0, interruptPin: 0, bars: [{ index: 4, size: 16, type: 'io' }] }) },
  { name: 'PIIX4_PM', parent: 'pci-device', userCreatable: false, hotpluggable: false, properties: [{ name: 'acpi-pci-hotplug-with-bridge-support', kind: boolProp, default: true }, { name: 'acpi-root-pci-hotplug', kind: boolProp, default: true }], classData: pciClass({ vendorId: R.PCI_VENDOR_ID_INTEL, deviceId: 0x7113, revision: 3, classCode: 0x068000, headerType: 0, interruptPin: 1 }) },
  { name: 'mch', parent: 'pci-device', userCreatable: false, hotpluggable: false, classData: pciClass({ vendorId: R.PCI_VENDOR_ID_INTEL, deviceId: 0x29c0, revision: 0, classCode: 0x060000, headerType: 0, interruptPin: 0 }) },
  { name: 'ICH9-LPC', parent: 'pci-device', userCreatable: false, hotpluggable: false, properties: [{ name: 'acpi-pci-hotplug-with-bridge-support', kind: boolProp, default: true }, { name: 'x-keep-pci-slot-hpc', kind: boolProp, default: true }], classData: pciClass({ vendorId: R.PCI_VENDOR_ID_INTEL, deviceId: 0x2918, revision: 2, classCode: 0x060100, headerType: 0, interruptPin: 0 }) },
  {
    name: 'ich9-ahci', parent: 'pci-device', userCreatable: true, category: 'storage', description: 'ICH9 AHCI',
    classData: pciClass(
      { vendorId: R.PCI_VENDOR_ID_INTEL, deviceId: 0x2922, revision: 2, classCode: 0x010601, headerType: 0, interruptPin: 1, bars: [{ index: 4, size: 32, type: 'io' }, { index: 5, size: 4 * KiB, type: 'mem32' }] },
      {
        capabilities: (dev) => {
          C.msiInit(dev, 0x80, 1, false, false);
          dev.addCapability(R.PCI_CAP_ID_SATA, 0xa8, 8);
        },
      },
    ),
  },
  { name: 'ICH9-SMB', parent: 'pci-device', userCreatable: false, hotpluggable: false, classData: pciClass({ vendorId: R.PCI_VENDOR_ID_INTEL, deviceId: 0x2930, revision: 2, classCode: 0x0c0500, headerType: 0, interruptPin: 1, bars: [{ index: 4, size: 64, type: 'io' }] }) },
  { name: 'i440FX-pcihost', parent: 'pci-host-bridge', userCreatable: false },
  { name: 'q35-pcihost', parent: 'pcie-host-bridge', userCreatable: false },
];

/**
 * device-list-properties lists a class's properties in QOM's hash-table order, which
 * differs from the declaration order `info qtree` uses: keep QEMU's listing order, as
 * recorded with the property table, for the types that have one.
 */
function withListOrder(t: TypeDef): TypeDef {
  const recorded = INERT_PROPERTIES[t.name];
  return recorded ? { ...t, classData: { ...t.classData, propertyListOrder: recorded.map((p) => p.name) } } : t;
}

export const pciTypes: TypeDef[] = [...baseTypes, ...bridgeTypes, ...endpointTypes, ...virtioTypes, ...chipsetTypes].map(withListOrder);

/** The catalog as a plugin: the built-ins use the same door as third parties. */
export const pciCatalogPlugin = definePlugin({ name: '@plugboard/pci-core', types: pciTypes });

