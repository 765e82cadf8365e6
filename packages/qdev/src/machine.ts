/**
 * The machine object (`/machine`): containers for user and board devices, the main
 * system bus, the clock, the event bus, run state and system reset (hw/core/machine.c,
 * softmmu/runstate.c).
 */
import { Clock } from './clock.js';
import { Bus, Device, type HotplugHandler } from './device.js';
import { QemuError } from './errors.js';
import { EventBus } from './events.js';
import { Container, QObject } from './object.js';
import { parsePropValue, type PropValue } from './properties.js';
import type { TypeRegistry } from './types.js';

export type RunState = 'prelaunch' | 'running' | 'paused' | 'shutdown' | 'inmigrate' | 'postmigrate' | 'debug' | 'internal-error' | 'io-error' | 'finish-migrate' | 'restore-vm' | 'save-vm' | 'suspended' | 'watchdog' | 'guest-panicked' | 'colo';

export interface MachineInit {
  registry: TypeRegistry;
  clock?: Clock;
  events?: EventBus;
  /** QOM type name of the machine object, e.g. `pc-q35-7.2-machine`. */
  typeName: string;
}

/** A reset hook runs during system_reset after device resets (e.g. ACPI ejecting pending slots). */
export type ResetHook = (reason: { guest: boolean; reason: string }) => void;

export class Machine extends QObject {
  readonly registry: TypeRegistry;
  readonly clock: Clock;
  readonly events: EventBus;
  /** The QOM root `/` whose `machine` child this is. */
  readonly qomRoot: QObject;
  readonly peripheral = new Container();
  readonly peripheralAnon = new Container();
  readonly unattached = new Container();
  readonly sysbus: Bus;
  /** `init` while the board and `-device` options are built; `ready` after (PHASE_MACHINE_READY). */
  phase: 'init' | 'ready' = 'init';
  runState: RunState = 'prelaunch';
  private readonly ids = new Map<string, Device>();
  private anonCounter = 0;
  private unattachedCounter = 0;
  private readonly resetHooks: ResetHook[] = [];
  /** Extra objects that want the machine hotplug handler role (pc-dimm, CPUs, PHBs...). */
  machineHotplugHandler: ((dev: Device) => HotplugHandler | undefined) | undefined;

  constructor(init: MachineInit) {
    super(init.typeName);
    this.registry = init.registry;
    this.clock = init.clock ?? new Clock();
    this.events = init.events ?? new EventBus();
    this.qomRoot = new Container();
    this.qomRoot.addChild('machine', this);
    this.qomRoot.addChild('chardevs', new Container());
    this.qomRoot.addChild('objects', new Container());
    this.addChild('peripheral', this.peripheral);
    this.addChild('peripheral-anon', this.peripheralAnon);
    this.addChild('unattached', this.unattached);
    this.sysbus = new Bus('main-system-bus', ['System', 'bus']);
    this.sysbus.realized = true;
    this.unattached.addChild('sysbus', this.sysbus);
  }

  // ---- board construction --------------------------------------------------------------

  /** `-global DRIVER.PROP=VALUE` entries, applied to every new device of that type or a subtype. */
  readonly globals: Array<{ driver: string; property: string; value: string }> = [];

  /** Instantiates a device of `typeName` (not realized, not in the tree), globals applied. */
  newDevice(typeName: string): Device {
    const type = this.registry.get(typeName);
    if (!type) throw new Error(`unknown type '${typeName}'`);
    const make = type.instantiate;
    const obj = make ? make(type, this) : new Device(type, this);
    if (!(obj instanceof Device)) throw new Error(`type '${typeName}' is not a device`);
    for (const ext of this.registry.extensionsFor(type)) ext(obj);
    for (const g of this.globals) {
      if (!type.isA(g.driver)) continue;
      const def = type.property(g.property);
      // qdev_prop_set_globals: a global naming a missing property is an error for that device.
      if (!def) throw new QemuError(`can't apply global ${g.driver}.${g.property}=${g.value}: Property '${typeName}.${g.property}' not found`);
      try {
        obj.setProp(def, parsePropValue(typeName, def, g.value));
      } catch (e) {
        throw new QemuError(`can't apply global ${g.driver}.${g.property}=${g.value}: ${(e as Error).message}`);
      }
    }
    return obj;
  }

  /**
   * Creates and realizes a board device: `/machine/NAME` when named, else
   * `/machine/unattached/device[N]`. Properties are given as QemuOpts strings.
   */
  addBoardDevice(typeName: string, bus: Bus | undefined, opts: { name?: string; props?: Record<string, PropValue> } = {}): Device {
    const dev = this.newDevice(typeName);
    if (opts.name) this.addChild(opts.name, dev);
    else this.unattached.addChildArray('device', dev, () => this.unattachedCounter++);
    for (const [k, v] of Object.entries(opts.props ?? {})) {
      const def = dev.type.property(k);
      if (!def) throw new QemuError(`Property '${typeName}.${k}' not found`);
      dev.setProp(def, parsePropValue(typeName, def, v));
    }
    dev.realize(bus);
    return dev;
  }

  /** Board objects that are not devices (host bridge helpers...) under /machine/unattached. */
  addUnattached(obj: QObject): void {
    this.unattached.addChildArray('device', obj, () => this.unattachedCounter++);
  }

  /** Registers a user device under /machine/peripheral[-anon]; throws on duplicate id. */
  adoptUserDevice(dev: Device, id: string | undefined): void {
    if (id !== undefined) {
      if (this.ids.has(id) || this.peripheral.childObjects.has(id)) throw new QemuError(`Duplicate device ID '${id}'`);
      dev.id = id;
      this.ids.set(id, dev);
      this.peripheral.addChild(id, dev);
    } else {
      this.peripheralAnon.addChildArray('device', dev, () => this.anonCounter++);
    }
  }

  forgetDevice(dev: Device): void {
    if (dev.id !== undefined && this.ids.get(dev.id) === dev) this.ids.delete(dev.id);
  }

  deviceById(id: string): Device | undefined {
    return this.ids.get(id);
  }

  private anonBusCounter = 0;

  /**
   * Name for a bus created without one (hw/core/bus.c qbus_init_internal): `ID.N` after the
   * parent's id and child-bus count, else the lower-cased bus type with a process-wide
   * counter (`pci.1`, `ide.0`...). Bridges pass their id as the explicit name.
   */
  busName(busType: string, parent: Device | undefined, explicit?: string): string {
    if (explicit) return explicit;
    if (parent?.id) return `${parent.id}.${parent.childBuses.length}`;
    return `${busType.toLowerCase()}.${this.anonBusCounter++}`;
  }

  /** qdev_get_machine_hotplug_handler. */
  hotplugHandlerFor(dev: Device): HotplugHandler | undefined {
    return this.machineHotplugHandler?.(dev);
  }

  /** Every bus, depth first from the main system bus (qbus_find_recursive's order). */
  *buses(from: Bus = this.sysbus): Generator<Bus> {
    yield from;
    for (const d of from.children()) for (const b of d.childBuses) yield* this.buses(b);
  }

  /** Every device on the bus tree, depth first. */
  *devices(from: Bus = this.sysbus): Generator<Device> {
    for (const d of from.children()) {
      yield d;
      for (const b of d.childBuses) yield* this.devices(b);
    }
  }

  // ---- run state, reset, events -----------------------------------------------------------

  /** Board finished: `-device` options applied, the machine is "ready" (PHASE_MACHINE_READY). */
  finishInit(): void {
    this.phase = 'ready';
    this.systemResetDevices({ guest: false, reason: 'cold' });
  }

  onReset(hook: ResetHook): void {
    this.resetHooks.push(hook);
  }

  private readonly powerdownHooks: Array<() => void> = [];

  /** qemu_register_powerdown_notifier: how the board tells its guest (ACPI button, sPAPR EPOW). */
  onPowerdown(hook: () => void): void {
    this.powerdownHooks.push(hook);
  }

  /**
   * system_powerdown (softmmu/runstate.c qemu_system_powerdown): POWERDOWN, then the board's
   * notifiers, whatever the run state (QEMU 7.2 sends it in prelaunch too).
   */
  powerdown(): void {
    this.events.emit('POWERDOWN');
    for (const h of this.powerdownHooks) h();
  }

  /** qemu_system_reset: devices reset, hooks run, RESET event (not for the cold reset). */
  systemReset(reason: { guest: boolean; reason: string }): void {
    this.systemResetDevices(reason);
    this.events.emit('RESET', { guest: reason.guest, reason: reason.reason });
  }

  private systemResetDevices(reason: { guest: boolean; reason: string }): void {
    for (const d of [...this.devices()]) d.reset();
    for (const h of this.resetHooks) h(reason);
  }

  /** cont: prelaunch/paused -> running. */
  cont(): void {
    if (this.runState === 'running') return;
    const wasPrelaunch = this.runState === 'prelaunch';
    this.runState = 'running';
    this.clock.start();
    this.events.emit('RESUME');
    if (wasPrelaunch) this.onFirstStart?.();
  }

  stop(): void {
    if (this.runState !== 'running') return;
    this.runState = 'paused';
    this.clock.stop();
    this.events.emit('STOP');
  }

  /** Called once when the VM first runs (firmware, guest boot are attached here). */
  onFirstStart: (() => void) | undefined;

  emitDeviceDeleted(dev: Device): void {
    const path = dev.realizedPath ?? dev.canonicalPath();
    this.events.emit('DEVICE_DELETED', dev.id !== undefined ? { device: dev.id, path } : { path });
  }
}
