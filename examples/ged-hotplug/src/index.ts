/**
 * plugboard-plugin-ged-hotplug: an example third-party Plugboard plugin, built only on the
 * published entry points of @plugboard/qdev, @plugboard/pci-core and @plugboard/guest.
 *
 *   plugboard -plugin ./examples/ged-hotplug/dist/index.js -M q35 \
 *     -device ged-pci-hotplug,id=ged0 -qmp unix:/tmp/pb.sock,server=on,wait=off
 *
 * then `device_add {"driver": "e1000e", "id": "nic1", "bus": "pcie.0"}` and `device_del`.
 * See docs/plugins.md for the plugin API and this plugin's design.
 */
import { QemuError, definePlugin, type Machine } from '@plugboard/qdev';
import { gedOf, gedPciHotplugType } from './controller.js';
import { gedHotplugDriver } from './guest-driver.js';

const controller = (machine: Machine) => {
  const ged = gedOf(machine);
  if (!ged) throw new QemuError('No ged-pci-hotplug device on this machine');
  return ged;
};

const hex = (v: number) => `0x${v.toString(16)}`;

export const gedHotplugPlugin = definePlugin({
  name: 'plugboard-plugin-ged-hotplug',
  types: [gedPciHotplugType],
  guestDrivers: [gedHotplugDriver()],
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

export default gedHotplugPlugin;

export { GedPciHotplug, TYPE_GED_PCI_HOTPLUG, gedOf, gedPciHotplugType } from './controller.js';
export { gedHotplugDriver, GED_DRIVER, type GedDriverOptions } from './guest-driver.js';
export * from './regs.js';
