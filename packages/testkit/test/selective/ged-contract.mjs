// A plugin author's install: @plugboard/qdev, pci-core, guest, testkit and the example
// plugin, from tarballs. Runs the testkit's contract against the plugin, without vitest.
import { Machine, PluginSet, TypeRegistry, coreTypes, definePlugin, deviceAdd } from '@plugboard/qdev';
import { GuestView, pciCatalogPlugin } from '@plugboard/pci-core';
import { runHotplugContract } from '@plugboard/testkit';
import ged from 'plugboard-plugin-ged-hotplug';

function board({ clock }) {
  const set = new PluginSet(new TypeRegistry());
  for (const p of [definePlugin({ name: 'core', types: coreTypes }), pciCatalogPlugin, ged]) set.load(p);
  const m = new Machine({ registry: set.registry, typeName: 'scratch-machine', clock });
  const host = m.newDevice('q35-pcihost');
  m.addChild('q35', host);
  const root = host.createRootBus('pcie.0', true);
  host.realize(m.sysbus);
  root.realized = true;
  const mch = m.newDevice('mch');
  host.addChild('mch', mch);
  mch.realize(root);
  m.guestView = new GuestView(() => [host], () => clock.nowNs());
  m.pciRoots = [root];
  set.attach(m);
  deviceAdd(m, { driver: 'ged-pci-hotplug', id: 'ged0' });
  m.finishInit();
  return m;
}

const results = runHotplugContract({
  name: 'ged', createMachine: board, guestDrivers: ged.guestDrivers,
  plug: { driver: 'e1000e', id: 'nic1', bus: 'pcie.0' }, boundDriver: 'e1000e',
  repeatedUnplug: 'refused', unplugWithoutGuest: 'pending', resetWhilePending: 'unplugs',
});
for (const r of results) console.log(JSON.stringify({ case: r.name, status: r.status, ...(r.error ? { error: r.error.message } : {}) }));
