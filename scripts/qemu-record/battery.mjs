// Standard query battery run against every x86 (and, reduced, pseries) scenario.
import { Session } from './session.mjs';

export const LIST_PROPS_DRIVERS = [
  'e1000', 'e1000e', 'virtio-net-pci', 'virtio-blk-pci', 'virtio-mouse-pci', 'virtio-scsi-pci', 'nvme',
  'pci-bridge', 'pcie-pci-bridge', 'pcie-root-port', 'ioh3420', 'x3130-upstream', 'xio3130-downstream', 'pc-dimm',
];

const DEVICE_PROPS = [
  'type', 'realized', 'hotplugged', 'hotpluggable', 'parent_bus', 'addr', 'multifunction',
  'chassis', 'slot', 'port', 'chassis_nr', 'hotplug', 'shpc', 'msi', 'msix', 'x-native-hotplug',
  'acpi-index', 'romfile', 'rombar', 'busnr', 'bus_nr',
];
const BUS_PROPS = ['type', 'realized', 'hotplug-handler', 'acpi-pcihp-bsel', 'pci-bus-nr'];

const childTypeRe = /^child<(.+)>$/;

/** Names of `child<...>` properties of a qom-list result, with their types. */
export function childrenOf(list) {
  if (!Array.isArray(list)) return [];
  return list.flatMap((p) => {
    const m = childTypeRe.exec(p.type);
    return m ? [{ name: p.name, type: m[1] }] : [];
  });
}

/** Does this child type look like a qbus (as opposed to a device or other object)? */
function looksLikeBus(type) {
  return ['PCI', 'PCIE', 'ISA', 'System', 'i2c-bus', 'IDE', 'virtio-bus', 'virtio-pci-bus', 'SCSI', 'usb-bus',
    'spapr-vio-bus', 'System-bus', 'sysbus'].includes(type) || /bus$/i.test(type);
}

/**
 * qom-list PATH, then qom-get the interesting properties that exist, then recurse into
 * child buses (and, for buses, into nothing: their children are links).
 */
export async function inspectObject(s, path, { recurseBuses = true, depth = 0 } = {}) {
  const ex = await s.x('qom-list', { path });
  const list = Session.ret(ex);
  if (!Array.isArray(list)) return;
  const names = new Set(list.map((p) => p.name));
  const isBus = names.has('hotplug-handler') || (names.has('realized') && !names.has('hotpluggable') && list.some((p) => p.name.startsWith('child[')));
  const props = isBus ? BUS_PROPS : DEVICE_PROPS;
  for (const prop of props) {
    if (names.has(prop)) await s.x('qom-get', { path, property: prop });
  }
  if (!recurseBuses || depth > 6) return;
  for (const c of childrenOf(list)) {
    if (looksLikeBus(c.type)) await inspectObject(s, `${path}/${c.name}`, { recurseBuses, depth: depth + 1 });
  }
}

/** Inspect every device under a container (peripheral, peripheral-anon, unattached). */
export async function inspectContainer(s, path, filter = () => true) {
  const ex = await s.x('qom-list', { path });
  for (const c of childrenOf(Session.ret(ex))) {
    if (filter(c)) await inspectObject(s, `${path}/${c.name}`);
  }
}

// Board devices whose full listing is interesting (PCI functions, host bridges).
const BOARD_PCI_TYPES = new Set([
  'i440FX', 'PIIX3', 'piix3-ide', 'PIIX4_PM', 'mch', 'ICH9-LPC', 'ich9-ahci', 'ICH9-SMB', 'VGA',
  'e1000', 'isa-debugcon', 'i440FX-pcihost', 'q35-pcihost', 'spapr-pci-host-bridge',
]);

/** The catalog part (machine-independent in principle): big replies. */
const C = { catalog: true };

export async function catalog(s) {
  await s.x('query-machines', undefined, C);
  await s.x('query-commands', undefined, C);
  await s.x('qom-list-types', undefined, C);
  await s.x('qom-list-types', { abstract: true }, C);
  await s.x('qom-list-types', { implements: 'pci-device' }, C);
  await s.x('qom-list-types', { implements: 'pci-device', abstract: true }, C);
  for (const d of LIST_PROPS_DRIVERS) await s.x('device-list-properties', { typename: d }, C);
  await s.hmp('help', C);
  await s.hmp('info', C);
  await s.hmp('device_add help', C);
  await s.hmp('device_add e1000,help', C);
  await s.hmp('device_add pcie-root-port,help', C);
}

/** Topology part: QOM tree, query-pci, info pci / qtree. */
export async function topology(s, { hostBridgePath }) {
  await s.x('qom-list', { path: '/machine' });
  for (const prop of ['type', 'hotplug-handler']) await s.x('qom-get', { path: '/machine', property: prop });
  await inspectContainer(s, '/machine/peripheral');
  await inspectContainer(s, '/machine/peripheral-anon');
  await inspectContainer(s, '/machine/unattached', (c) => BOARD_PCI_TYPES.has(c.type));
  if (hostBridgePath) await inspectObject(s, hostBridgePath);
  await s.x('query-pci');
  await s.hmp('info pci');
  await s.hmp('info qtree');
}

/** Full x86 battery (item 11). */
export async function x86Battery(s, { hostBridgePath, running = false }) {
  await s.x('query-version');
  await s.x('query-status');
  await topology(s, { hostBridgePath });
  await catalog(s);
  if (running) {
    await s.x('cont', undefined, { settle: 100, note: 'start SeaBIOS under TCG' });
    await s.wait(3000, 'let SeaBIOS enumerate PCI and assign bus numbers / BARs');
    await s.x('query-status');
    await s.x('query-pci', undefined, { note: 'after ~3 s running: firmware-assigned bus numbers and BARs' });
    await s.hmp('info pci');
  }
  await s.quit();
}
