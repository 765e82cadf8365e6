/**
 * A toy hotplug controller for the kit's own tests, with switchable bugs: root bus of a
 * q35-like board, two read-to-clear bitmaps and an eject register in I/O space, SCI 9. Its
 * guest driver scans or ejects on the interrupt. Each `Bug` breaks one contract rule.
 */
import { Machine, PluginSet, QemuError, TypeRegistry, completeUnplug, coreTypes, definePlugin, deviceAdd, type Clock, type Device, type HotplugHandler } from '@plugboard/qdev';
import { GuestView, PCIDevice, pciCatalogPlugin, type PCIBus, type PCIHostBridge } from '@plugboard/pci-core';
import type { HotplugDriver } from '@plugboard/guest';

export type Bug = 'none' | 'double-deleted' | 'no-pending' | 'sync-unplug' | 'noisy-refusal' | 'shared-counter' | 'reset-keeps';

const PORT = 0x7000;
const UP = 0;
const DOWN = 4;
const EJECT = 8;
const SCI = 9;
/** The `shared-counter` bug: state kept across machines, so no two runs look alike. */
let sharedCounter = 0;

class ToyController implements HotplugHandler {
  up = 0;
  down = 0;
  constructor(readonly machine: ToyMachine, readonly bus: PCIBus, readonly bug: Bug) {}

  private notify(): void {
    this.machine.guestView.raise({ kind: 'sci', line: SCI });
  }

  prePlug(dev: Device): void {
    if (dev.id === 'refused') {
      if (this.bug === 'noisy-refusal') this.notify();
      throw new QemuError('toy: refused');
    }
  }

  plug(dev: Device): void {
    if (!dev.hotplugged) return;
    this.up |= 1 << (dev as PCIDevice).slot;
    this.notify();
  }

  unplugRequest(dev: Device): void {
    if (this.bug === 'sync-unplug') return completeUnplug(dev);
    if (this.bug !== 'no-pending') dev.pendingDeletion = true;
    this.down |= 1 << (dev as PCIDevice).slot;
    this.notify();
  }

  unplug(dev: Device): void {
    if (this.bug === 'double-deleted') this.machine.emitDeviceDeleted(dev);
  }

  read(off: number): number {
    const v = off === UP ? this.up : off === DOWN ? this.down : this.bug === 'shared-counter' ? sharedCounter++ : 0;
    if (off === UP) this.up = 0;
    if (off === DOWN) this.down = 0;
    return v;
  }

  write(off: number, v: number): void {
    if (off !== EJECT) return;
    for (const d of [...this.bus.children()]) if (d instanceof PCIDevice && v & (1 << d.slot) && d.isHotpluggable()) completeUnplug(d);
  }

  reset(): void {
    if (this.bug !== 'reset-keeps') for (const d of [...this.bus.children()]) if (d.pendingDeletion) completeUnplug(d);
    this.up = this.down = 0;
  }
}

export class ToyMachine extends Machine {
  readonly guestView: GuestView;
  readonly pciRoots: PCIBus[] = [];
  host!: PCIHostBridge;
  constructor(registry: TypeRegistry, clock: Clock) {
    super({ registry, typeName: 'toy-machine', clock });
    this.guestView = new GuestView(() => [this.host], () => this.clock.nowNs());
  }
}

export function toyMachine(clock: Clock, bug: Bug = 'none'): ToyMachine {
  const set = new PluginSet(new TypeRegistry());
  set.load(definePlugin({ name: '@plugboard/qdev', types: coreTypes }));
  set.load(pciCatalogPlugin);
  const m = new ToyMachine(set.registry, clock);
  const host = m.newDevice('q35-pcihost') as PCIHostBridge;
  m.addChild('q35', host);
  const root = host.createRootBus('pcie.0', true);
  host.realize(m.sysbus);
  root.realized = true;
  m.host = host;
  m.pciRoots.push(root);
  const mch = m.newDevice('mch');
  host.addChild('mch', mch);
  mch.realize(root);
  const toy = new ToyController(m, root, bug);
  root.setHotplugHandler(toy, host);
  m.guestView.addIoRegion({ base: PORT, size: 12, name: 'toy', read: (o) => toy.read(o), write: (o, v) => toy.write(o, v) });
  m.onReset(() => toy.reset());
  deviceAdd(m, { driver: 'e1000', id: 'cold0', bus: 'pcie.0' });
  m.finishInit();
  return m;
}

/** The toy's guest driver: on SCI 9, scan the added slots, remove and eject the others. */
export const toyDriver: HotplugDriver = {
  name: 'toyhp',
  init(guest) {
    guest.irq.requestIrq(SCI, 'toyhp', () => {
      guest.sched.spawn('toyhp', (function* () {
        const v = guest.view;
        const up = v.ioRead(PORT + UP, 4);
        const down = v.ioRead(PORT + DOWN, 4);
        const root = guest.pci.roots[0]!;
        for (let s = 0; s < 32; s++) {
          if (up & (1 << s)) for (const d of yield* guest.pci.scanSlot(root, s << 3)) guest.bindDriver(d);
          if (down & (1 << s) && guest.policy.name !== 'ignore-unplug') {
            for (const d of [...root.devices].reverse()) if (d.slot === s) guest.removeDevice(d);
            v.ioWrite(PORT + EJECT, 1 << s, 4);
          }
        }
        v.ioRead(PORT + EJECT, 4);
      })());
      return true;
    });
  },
};
