/**
 * A pseries board built the way `-M pseries` builds itself (hw/ppc/spapr.c spapr_machine_init,
 * and what packages/machines' buildPseries does once it calls attachSpapr): the platform
 * first, then XIVE, the boot CPU cores, the VIO bridge with its NVRAM, PHB 0 with `pci.0`,
 * the `-device` options and the first reset. The guest side goes through GuestView only.
 */
import { Bus, Machine, PluginSet, TypeRegistry, coreTypes, definePlugin, deviceAdd, deviceDel, type MachineEvent, type PropValue } from '@plugboard/qdev';
import { GuestView, pciCatalogPlugin, type PCIDevice, type TraceRecord } from '@plugboard/pci-core';
import { attachGuestPort, attachSpapr, hotplugSpaprPlugin, type Spapr, type SpaprGuestPort, type SpaprOptions, type SpaprPhb } from '../src/index.js';

export interface Board {
  machine: Machine;
  /** The plugin set the machine's types came from (for a QMP server's plugin commands). */
  plugins: PluginSet;
  spapr: Spapr;
  gv: GuestView & SpaprGuestPort;
  phb0: SpaprPhb;
  events: MachineEvent[];
  trace: TraceRecord[];
  add(opts: Record<string, PropValue>): PCIDevice;
  /** device_add; the error text, or 'ok'. */
  tryAdd(opts: Record<string, PropValue>): string;
  /** device_del; the error text, or 'ok'. */
  del(id: string): string;
  /** DEVICE_DELETED paths so far (and clears the list). */
  deleted(): string[];
}

const board = (name: string, parent: string, extra = {}) => ({ name, parent, userCreatable: false, hotpluggable: false, ...extra });

export function registry(): TypeRegistry {
  return pluginSet().registry;
}

export function pluginSet(): PluginSet {
  const set = new PluginSet(new TypeRegistry());
  set.load(definePlugin({ name: '@plugboard/qdev', types: coreTypes }));
  set.load(pciCatalogPlugin);
  set.load(hotplugSpaprPlugin);
  set.load(definePlugin({
    name: 'pseries-board',
    types: [board('spapr-xive', 'sys-bus-device'), board('spapr-vio-bridge', 'sys-bus-device'), board('spapr-nvram', 'device', { busType: 'spapr-vio-bus' })],
  }));
  return set;
}

export interface BoardOptions extends SpaprOptions {
  devices?: Array<Record<string, PropValue>>;
  globals?: Array<{ driver: string; property: string; value: string }>;
  /** Runs after the board devices, before `-device` options (e.g. memory backends). */
  beforeDevices?: (m: Machine) => void;
}

export function buildPseries(opts: BoardOptions = {}): Board {
  const plugins = pluginSet();
  const machine = new Machine({ registry: plugins.registry, typeName: 'pseries-7.2-machine' });
  machine.globals.push(...(opts.globals ?? []));
  let spapr!: Spapr;
  const gv = new GuestView(() => spapr.phbs, () => machine.clock.nowNs());
  spapr = attachSpapr(machine, { rngSeed: () => new Uint8Array(32), ...opts });
  const port = attachGuestPort(gv, spapr);
  machine.addBoardDevice('spapr-xive', machine.sysbus);
  for (let i = 0; i < spapr.cpus.bootCores; i++) machine.addBoardDevice('power9_v2.0-spapr-cpu-core', undefined, { props: { 'core-id': i * spapr.cpus.threads } });
  const vio = machine.addBoardDevice('spapr-vio-bridge', machine.sysbus);
  const vioBus = new Bus('spapr-vio', ['spapr-vio-bus', 'bus']);
  vioBus.realized = true;
  vio.addChildBus(vioBus);
  machine.addBoardDevice('spapr-nvram', vioBus);
  const phb0 = machine.newDevice('spapr-pci-host-bridge') as SpaprPhb;
  machine.addUnattached(phb0);
  phb0.setProp(phb0.type.property('index')!, 0);
  phb0.createRootBus('pci.0', false);
  phb0.realize(machine.sysbus);
  opts.beforeDevices?.(machine);
  for (const d of opts.devices ?? []) deviceAdd(machine, d);
  machine.finishInit();
  const events: MachineEvent[] = [];
  machine.events.on((e) => events.push(e));
  const trace: TraceRecord[] = [];
  gv.onTrace((r) => trace.push(r));
  return {
    machine, plugins, spapr, gv: port, phb0, events, trace,
    add: (o) => deviceAdd(machine, o) as PCIDevice,
    tryAdd: (o) => {
      try {
        deviceAdd(machine, o);
        return 'ok';
      } catch (e) {
        return (e as Error).message;
      }
    },
    del: (id) => {
      try {
        deviceDel(machine, id);
        return 'ok';
      } catch (e) {
        return (e as Error).message;
      }
    },
    deleted: () => events.splice(0).filter((e) => e.name === 'DEVICE_DELETED').map((e) => e.data!.path as string),
  };
}
