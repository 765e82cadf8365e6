// Installed alone: @plugboard/qdev + @plugboard/pci-core + @plugboard/hotplug-pcie +
// @plugboard/guest. The same board, with the simulated Linux (firmware, boot, pciehp) doing
// the guest's part; every event and pciehp's kernel log lines are printed.
import { Clock, Machine, NS_PER_MS, PluginSet, TypeRegistry, coreTypes, definePlugin, deviceAdd, deviceDel } from '@plugboard/qdev';
import { GuestView, pciCatalogPlugin } from '@plugboard/pci-core';
import { pcieHotplugPlugin } from '@plugboard/hotplug-pcie';
import { attachGuest } from '@plugboard/guest';

const out = (o) => console.log(JSON.stringify(o));
const set = new PluginSet(new TypeRegistry());
set.load(definePlugin({ name: 'core', types: coreTypes }));
set.load(pciCatalogPlugin);
set.load(pcieHotplugPlugin);
// A clock only this script moves: timers fire at their deadlines, synchronously.
const clock = new Clock({ host: { immediate() {}, after: () => ({ clear() {} }), wallNs: () => 0 } });
const m = new Machine({ registry: set.registry, typeName: 'scratch-q35-machine', clock });
const host = m.newDevice('q35-pcihost');
m.addChild('q35', host);
const root = host.createRootBus('pcie.0', true);
const gv = new GuestView(() => [host], () => clock.nowNs());
root.msiSink = { msi: (_d, address, data) => gv.raise({ kind: 'msi', line: data & 0xff, data: { address, data } }) };
root.intxSink = { intx: (d, pin, level) => gv.raise({ kind: 'intx', line: (pin + d.slot) & 3, level }) };
host.realize(m.sysbus);
root.realized = true;
const mch = m.newDevice('mch');
host.addChild('mch', mch);
mch.realize(root);
m.guestView = gv;
m.events.on((ev) => out({ event: ev.name, data: ev.data }));
deviceAdd(m, { driver: 'pcie-root-port', id: 'rp1', chassis: 1, slot: 1, addr: '1' });
m.finishInit();
const { guest } = attachGuest(m, { log: (line) => /pciehp|e1000e 0000:01/.test(line) && out({ klog: line }) });
const until = (cond, ms) => {
  for (let t = 0; t < ms && !cond(); t += 10) clock.advance(10 * NS_PER_MS);
  return cond();
};
m.cont();
out({ step: 'boot', ok: until(() => guest.booted, 10_000) });
deviceAdd(m, { driver: 'e1000e', id: 'nic1', bus: 'rp1' });
out({ step: 'online', ok: until(() => guest.device('0000:01:00.0')?.driver === 'e1000e', 30_000) });
deviceDel(m, 'nic1');
out({ step: 'removed', ok: until(() => m.deviceById('nic1') === undefined, 30_000) });
