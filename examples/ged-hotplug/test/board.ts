/**
 * The plugin's own test board, from published entry points only: a q35-like machine (host
 * bridge, pcie.0, MCH at 00.0) with its guest view, types loaded through a PluginSet exactly
 * as the CLI loads them, then the `-device` options and the first reset. Real users get
 * `-M q35` from @plugboard/machines; a plugin's tests need no machine package.
 */
import { Machine, PluginSet, TypeRegistry, coreTypes, definePlugin, deviceAdd, type Clock } from '@plugboard/qdev';
import { GuestView, pciCatalogPlugin, type PCIBus, type PCIHostBridge } from '@plugboard/pci-core';
import gedHotplugPlugin from '../src/index.js';

export class BoardMachine extends Machine {
  readonly guestView: GuestView;
  readonly pciRoots: PCIBus[] = [];
  host!: PCIHostBridge;

  constructor(registry: TypeRegistry, clock: Clock | undefined) {
    super({ registry, typeName: 'ged-test-board-machine', ...(clock ? { clock } : {}) });
    this.guestView = new GuestView(() => [this.host], () => this.clock.nowNs());
  }
}

export const GED = { driver: 'ged-pci-hotplug', id: 'ged0' };

export function pluginSet(): PluginSet {
  const set = new PluginSet(new TypeRegistry());
  set.load(definePlugin({ name: '@plugboard/qdev', types: coreTypes }));
  set.load(pciCatalogPlugin);
  set.load(gedHotplugPlugin);
  return set;
}

export function gedBoard(ctx: { clock?: Clock } = {}, devices: Array<Record<string, unknown>> = [GED]): BoardMachine {
  const set = pluginSet();
  const m = new BoardMachine(set.registry, ctx.clock);
  const host = m.newDevice('q35-pcihost') as PCIHostBridge;
  m.addChild('q35', host);
  const root = host.createRootBus('pcie.0', true);
  // Interrupt fabric: MSI and INTx reach the guest through its view (no APIC is modelled).
  root.msiSink = { msi: (_dev, address, data) => m.guestView.raise({ kind: 'msi', line: data & 0xff, data: { address, data } }) };
  root.intxSink = { intx: (dev, pin, level) => m.guestView.raise({ kind: 'intx', line: (pin + dev.slot) & 3, level }) };
  host.realize(m.sysbus);
  root.realized = true;
  m.host = host;
  m.pciRoots.push(root);
  const mch = m.newDevice('mch');
  host.addChild('mch', mch);
  mch.realize(root);
  set.attach(m);
  for (const d of devices) deviceAdd(m, d);
  m.finishInit();
  return m;
}
