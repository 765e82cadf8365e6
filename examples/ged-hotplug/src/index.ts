/**
 * plugboard-plugin-ged-hotplug: an example third-party Plugboard plugin, built only on the
 * published entry points of @plugboard/qdev, @plugboard/pci-core and @plugboard/guest.
 *
 *   plugboard -plugin ./examples/ged-hotplug/dist/index.js -M q35 \
 *     -device ged-pci-hotplug,id=ged0 -qmp unix:/tmp/pb.sock,server=on,wait=off
 *
 * Option: `-plugin ./examples/ged-hotplug/dist/index.js,mmio-base=0xfed38000` moves the
 * register window (the device's default and where the guest driver looks).
 *
 * then `device_add {"driver": "e1000e", "id": "nic1", "bus": "pcie.0"}` and `device_del`.
 * See docs/plugins.md for the plugin API and this plugin's design.
 */
import { QemuError, definePlugin, parsePropValue, uint32Prop, type Machine, type Plugin } from '@plugboard/qdev';
import { TYPE_GED_PCI_HOTPLUG, gedOf, gedPciHotplugTypeAt } from './controller.js';
import { gedHotplugDriver } from './guest-driver.js';
import { GED_DEFAULT_BASE } from './regs.js';

const controller = (machine: Machine) => {
  const ged = gedOf(machine);
  if (!ged) throw new QemuError('No ged-pci-hotplug device on this machine');
  return ged;
};

const hex = (v: number) => `0x${v.toString(16)}`;

export interface GedPluginConfig {
  /** Where the platform puts the GED's registers (default GED_DEFAULT_BASE). */
  base?: number;
}

/**
 * The plugin for one platform layout. `-plugin ...,mmio-base=ADDR` moves the register window:
 * it becomes the default of `ged-pci-hotplug.mmio-base` and the address the guest driver reads
 * (a real guest learns it from the DSDT's `_CRS`, which the platform writes). A device given
 * another `mmio-base` by hand is not found by the guest, like a GED missing from the DSDT.
 */
export function createGedHotplugPlugin(config: GedPluginConfig = {}) {
  const base = config.base ?? GED_DEFAULT_BASE;
  return definePlugin({
    name: 'plugboard-plugin-ged-hotplug',
    options: {
      'mmio-base': {
        description: 'guest physical address of the register window (the device default and where the guest looks)',
        default: hex(GED_DEFAULT_BASE),
      },
    },
    configure: (o): Plugin => {
      const text = o['mmio-base'];
      // Parsed as the device property parses it: "0xfed38000", "4275273728"...
      const at = text === undefined ? base : (parsePropValue(TYPE_GED_PCI_HOTPLUG, { name: 'mmio-base', kind: uint32Prop }, text) as number);
      return createGedHotplugPlugin({ ...config, base: at });
    },
    types: [gedPciHotplugTypeAt(base)],
    guestDrivers: [gedHotplugDriver({ base })],
    qmpCommands: [
      {
        // Downstream-extension name (QAPI's __RFQDN_ prefix): never collides with QEMU's.
        name: '__org.example_query-ged-hotplug',
        handler: (_args, { machine }) => controller(machine).status(),
      },
    ],
    hmpCommands: [
      {
        name: 'info_ged',
        params: '',
        help: 'show the GED PCI hotplug controller (registers and hot-plugged slots)',
        run: (_args, { machine }) => {
          const s = controller(machine).status();
          const lines = [
            `ged-pci-hotplug at ${hex(s.base)} irq ${s.irq}, bus ${s.bus} (segment ${s.segment})`,
            `  GDAT ${hex(s.gdat)} PCIU ${hex(s.up)} PCID ${hex(s.down)}`,
            ...s.slots.map((x) => `  slot ${x.slot}: ${x.device}${x.pending ? ' (unplug pending)' : ''}`),
          ];
          return lines.join('\r\n') + '\r\n';
        },
      },
    ],
  });
}

export const gedHotplugPlugin = createGedHotplugPlugin();

export default gedHotplugPlugin;

export { GedPciHotplug, TYPE_GED_PCI_HOTPLUG, gedOf, gedPciHotplugType, gedPciHotplugTypeAt } from './controller.js';
export { gedHotplugDriver, GED_DRIVER, type GedDriverOptions } from './guest-driver.js';
export * from './regs.js';
