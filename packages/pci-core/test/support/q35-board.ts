/**
 * A tiny q35-like board for the hotplug backends' tests (`-M q35 -nodefaults -global
 * ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off`): host bridge, pcie.0 without a hotplug
 * handler, MCH at 00.0, then the `-device` options and the first reset. Types come through
 * PluginSet exactly as the CLI loads them (qdev's core types, pci-core's catalog, then the
 * backend under test); the guest side goes through GuestView only.
 *
 * A test helper, not part of pci-core's API: hotplug-pcie's and hotplug-shpc's tests import it
 * by relative path. It imports the packages by name, so it shares their built modules with
 * the tests.
 */
import { Machine, PluginSet, TypeRegistry, coreTypes, definePlugin, deviceAdd, deviceDel, type MachineEvent, type Plugin, type PropValue } from '@plugboard/qdev';
import { GuestView, pciCatalogPlugin, type PCIBus, type PCIDevice, type PCIHostBridge } from '@plugboard/pci-core';

export interface MsiRecord {
  dev: string;
  address: bigint;
  data: number;
}

export interface Q35Board {
  machine: Machine;
  gv: GuestView;
  root: PCIBus;
  /** Every machine event (DEVICE_DELETED, X_DEVICE_ON, RESET), in order. */
  events: MachineEvent[];
  /** MSI writes reaching the root bus. */
  msis: MsiRecord[];
  /** INTx level changes reaching the root bus (after swizzling). */
  intx: Array<{ dev: string; pin: number; level: number }>;
  add(opts: Record<string, PropValue>): PCIDevice;
  /** device_add returning QEMU's error text or 'ok'. */
  tryAdd(opts: Record<string, PropValue>): string;
  /** device_del returning QEMU's error text or 'ok'. */
  del(id: string): string;
  dev(id: string): PCIDevice;
  /** `device` (else `path`) of every DEVICE_DELETED so far. */
  deleted(): string[];
}

/** A registry loaded as the CLI loads it: qdev's core types, pci-core's catalog, then `backend`. */
export function q35Registry(backend: Plugin): TypeRegistry {
  const set = new PluginSet(new TypeRegistry());
  set.load(definePlugin({ name: '@plugboard/qdev', types: coreTypes }));
  set.load(pciCatalogPlugin);
  set.load(backend);
  return set.registry;
}

/** QEMU's error text of `f`, or 'ok'. */
export const errorText = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return (e as Error).message;
  }
};

export interface Q35BoardOptions {
  /** `-device` options, cold-plugged before the first reset. */
  devices?: Array<Record<string, PropValue>>;
  /** Runs after the board is wired, before cold plug. */
  beforeColdPlug?: (b: Q35Board) => void;
}

/** Builds the board with `backend` loaded. */
export function buildQ35Board(backend: Plugin, opts: Q35BoardOptions = {}): Q35Board {
  const machine = new Machine({ registry: q35Registry(backend), typeName: 'pc-q35-7.2-machine' });
  const host = machine.newDevice('q35-pcihost') as PCIHostBridge;
  machine.addChild('q35', host);
  const root = host.createRootBus('pcie.0', true);
  host.realize(machine.sysbus);
  root.realized = true;
  const mch = machine.newDevice('mch');
  host.addChild('mch', mch);
  mch.realize(root);
  const gv = new GuestView(() => [host], () => machine.clock.nowNs());
  const board: Q35Board = {
    machine, gv, root, events: [], msis: [], intx: [],
    add: (o) => deviceAdd(machine, o) as PCIDevice,
    tryAdd: (o) => errorText(() => deviceAdd(machine, o)),
    del: (id) => errorText(() => deviceDel(machine, id)),
    dev: (id) => {
      const d = machine.deviceById(id);
      if (!d) throw new Error(`no device ${id}`);
      return d as PCIDevice;
    },
    deleted: () => board.events.filter((e) => e.name === 'DEVICE_DELETED').map((e) => String(e.data?.device ?? e.data?.path)),
  };
  root.msiSink = { msi: (dev, address, data) => board.msis.push({ dev: dev.id ?? dev.typeName, address, data }) };
  root.intxSink = { intx: (dev, pin, level) => board.intx.push({ dev: dev.id ?? dev.typeName, pin, level }) };
  machine.events.on((ev) => board.events.push(ev));
  opts.beforeColdPlug?.(board);
  for (const d of opts.devices ?? []) deviceAdd(machine, d);
  machine.finishInit();
  return board;
}
