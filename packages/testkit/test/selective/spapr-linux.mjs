// Installed alone: @plugboard/qdev + @plugboard/pci-core + @plugboard/hotplug-spapr +
// @plugboard/guest (no machine package, no other backend). Builds a pseries board the way
// `-M pseries` builds itself (the sPAPR platform, XIVE, the boot CPU core, the VIO bridge and
// its NVRAM, PHB 0 with `pci.0`), boots the pseries Linux guest (SLOF, CAS, the kernel,
// rtas_errd + drmgr), hot-plugs an e1000 on pci.0 and unplugs it, printing every event and
// the guest's DLPAR log lines.
import { Bus, Clock, Machine, NS_PER_MS, PluginSet, TypeRegistry, coreTypes, definePlugin, deviceAdd, deviceDel } from '@plugboard/qdev';
import { GuestView, pciCatalogPlugin } from '@plugboard/pci-core';
import hotplugSpapr, { attachGuestPort, attachSpapr } from '@plugboard/hotplug-spapr';
import { attachPseriesGuest } from '@plugboard/guest';

const out = (o) => console.log(JSON.stringify(o));
const board = (name, parent, extra = {}) => ({ name, parent, userCreatable: false, hotpluggable: false, ...extra });
const set = new PluginSet(new TypeRegistry());
set.load(definePlugin({ name: 'core', types: coreTypes }));
set.load(pciCatalogPlugin);
set.load(hotplugSpapr);
// The board devices a machine package would own.
set.load(definePlugin({
  name: 'scratch-pseries-board',
  types: [board('spapr-xive', 'sys-bus-device'), board('spapr-vio-bridge', 'sys-bus-device'), board('spapr-nvram', 'device', { busType: 'spapr-vio-bus' })],
}));
out({ plugin: hotplugSpapr.name, unresolved: set.registry.unresolved() });

// A clock only this script moves: timers fire at their deadlines, synchronously.
const clock = new Clock({ host: { immediate() {}, after: () => ({ clear() {} }), wallNs: () => 0 } });
const m = new Machine({ registry: set.registry, typeName: 'pseries-7.2-machine', clock });
let spapr;
const gv = new GuestView(() => spapr.phbs, () => clock.nowNs());
spapr = attachSpapr(m, { guestView: gv, ramSize: 512 * 1024 * 1024, smp: { cpus: 1 }, rngSeed: () => new Uint8Array(32) });
attachGuestPort(gv, spapr);
m.addBoardDevice('spapr-xive', m.sysbus);
for (let i = 0; i < spapr.cpus.bootCores; i++) m.addBoardDevice('power9_v2.0-spapr-cpu-core', undefined, { props: { 'core-id': i * spapr.cpus.threads } });
const vio = m.addBoardDevice('spapr-vio-bridge', m.sysbus);
const vioBus = new Bus('spapr-vio', ['spapr-vio-bus', 'bus']);
vioBus.realized = true;
vio.addChildBus(vioBus);
m.addBoardDevice('spapr-nvram', vioBus);
const phb0 = m.newDevice('spapr-pci-host-bridge');
m.addUnattached(phb0);
phb0.setProp(phb0.type.property('index'), 0);
phb0.createRootBus('pci.0', false);
phb0.realize(m.sysbus);
m.finishInit();
m.guestView = gv;
m.pciRoots = [phb0.rootBus];
m.events.on((ev) => out({ event: ev.name, data: ev.data }));

const { guest } = attachPseriesGuest(m, { log: (line) => / 0000:00:00\.0/.test(line) && out({ klog: line }) });
const until = (cond, ms) => {
  for (let t = 0; t < ms && !cond(); t += 10) clock.advance(10 * NS_PER_MS);
  return cond();
};
const online = () => guest.pci.devices().some((d) => d.vendor === 0x8086 && d.device === 0x100e && d.driver === 'e1000');
m.cont();
out({ step: 'boot', ok: until(() => guest.booted, 30_000) });
deviceAdd(m, { driver: 'e1000', id: 'nic1' });
out({ step: 'online', ok: until(online, 30_000) });
deviceDel(m, 'nic1');
out({ step: 'device_del', pending: m.deviceById('nic1') !== undefined });
out({ step: 'removed', ok: until(() => m.deviceById('nic1') === undefined, 30_000), guestHasIt: guest.pci.devices().some((d) => d.vendor === 0x8086) });
