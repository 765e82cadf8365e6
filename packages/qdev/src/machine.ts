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
  /** `-smp` CPUs at start (current_machine->smp.cpus): what devices sizing queues by CPU read. */
  smpCpus = 1;
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

  /** Every bus ever given to a device (Device.addChildBus), by name; busByName's index. */
  private readonly busIndex = new Map<string, Bus[]>();

  registerBus(bus: Bus): void {
    const list = this.busIndex.get(bus.name);
    if (list) list.push(bus);
    else this.busIndex.set(bus.name, [bus]);
  }

  forgetBus(bus: Bus): void {
    const list = this.busIndex.get(bus.name);
    const i = list?.indexOf(bus) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    if (list?.length === 0) this.busIndex.delete(bus.name);
  }

  /**
   * qbus_find_recursive by name: the first bus called `name` in buses() order. Indexed: walking
   * every device for each of N device_adds made plugging N devices quadratic (bench/scale.mjs);
   * only a name given to several buses on the tree falls back to the walk, for QEMU's order.
   */
  busByName(name: string): Bus | undefined {
    if (this.sysbus.name === name) return this.sysbus;
    const onTree = (this.busIndex.get(name) ?? []).filter((b) => this.isOnTree(b));
    return onTree.length <= 1 ? onTree[0] : this.firstBus((b) => b.name === name);
  }

  /** The first bus in buses() order that satisfies `pred`, without walking the rest. */
  firstBus(pred: (b: Bus) => boolean, from: Bus = this.sysbus): Bus | undefined {
    if (pred(from)) return from;
    for (const d of from.children()) {
      for (const b of d.childBuses) {
        const found = this.firstBus(pred, b);
        if (found) return found;
      }
    }
    return undefined;
  }

  /** Whether buses() reaches `bus`: its chain of parent devices and buses ends at the system bus. */
  private isOnTree(bus: Bus): boolean {
    for (let b: Bus | undefined = bus; b; b = b.parentDevice?.parentBus) if (b === this.sysbus) return true;
    return false;
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

  /**
   * qemu_system_reset: devices reset, hooks run, RESET event (not for the cold reset). Devices
   * a reset hook unplugged inside deferRcuDeletions() get their DEVICE_DELETED after RESET, as
   * QEMU finalizes them after an RCU grace period (qdev-hotplug.md §6). A reset from the
   * `shutdown` state (-no-shutdown) leaves the VM in prelaunch (runstate.c main_loop_should_exit).
   */
  systemReset(reason: { guest: boolean; reason: string }): void {
    const deferred: Device[] = [];
    this.rcuDeferred = deferred;
    try {
      this.systemResetDevices(reason);
    } finally {
      this.rcuDeferred = undefined;
    }
    this.events.emit('RESET', { guest: reason.guest, reason: reason.reason });
    for (const d of deferred) this.emitDeviceDeleted(d);
    // main_loop_should_exit (softmmu/runstate.c): after any reset a VM that is not running is
    // in prelaunch (real QEMU 7.2: stop, system_reset -> query-status "prelaunch").
    if (this.runState !== 'running') this.runState = 'prelaunch';
  }

  /** Set while a system reset runs: where deferRcuDeletions() parks DEVICE_DELETED. */
  private rcuDeferred: Device[] | undefined;
  private rcuDepth = 0;

  /**
   * Runs `fn` (an unplug) whose devices QEMU finalizes only after an RCU grace period (PCI
   * functions and what hangs off their address space). During a system reset their
   * DEVICE_DELETED follow RESET; at any other time they are sent at once.
   */
  deferRcuDeletions(fn: () => void): void {
    this.rcuDepth++;
    try {
      fn();
    } finally {
      this.rcuDepth--;
    }
  }

  private shutdownHandler: ((cause: { guest: boolean; reason: string }) => void) | undefined;

  /** Who acts on a shutdown request (the host: SHUTDOWN, then exit or, with -no-shutdown, stop). */
  onShutdownRequest(fn: (cause: { guest: boolean; reason: string }) => void): void {
    this.shutdownHandler = fn;
  }

  /**
   * qemu_system_shutdown_request: the guest powers the machine off (sPAPR RTAS power-off, ACPI
   * S5). Without a host handler: SHUTDOWN, then the VM stops in `shutdown` (-no-shutdown).
   */
  requestShutdown(cause: { guest: boolean; reason: string }): void {
    if (this.shutdownHandler) return this.shutdownHandler(cause);
    this.events.emit('SHUTDOWN', { guest: cause.guest, reason: cause.reason });
    this.stopWith('shutdown');
  }

  /**
   * Reboot action (`-no-reboot` makes it `shutdown`, softmmu/runstate.c reboot_action): what a
   * guest-initiated reset does.
   */
  rebootAction: 'reset' | 'shutdown' = 'reset';

  private resetRequestHandler: ((cause: { guest: boolean; reason: string }) => void) | undefined;

  /** Who acts on a guest reset request instead of the default (the host may defer it). */
  onResetRequest(fn: (cause: { guest: boolean; reason: string }) => void): void {
    this.resetRequestHandler = fn;
  }

  private resetting = false;

  /**
   * qemu_system_reset_request (softmmu/runstate.c): the guest reboots the machine (sPAPR RTAS
   * system-reboot). With the reboot action `shutdown` (-no-reboot) it is a shutdown request
   * with the same cause; otherwise the main loop resets the machine: RESET {guest: true,
   * reason}, pending unplugs complete as in any reset, and a VM that was not running is left in
   * prelaunch (main_loop_should_exit). QEMU stops the calling vCPU at once and resets from the
   * main loop; here the reset runs before the call returns (a request during a reset is
   * dropped: the reset is already happening).
   */
  requestReset(cause: { guest: boolean; reason: string }): void {
    if (this.rebootAction === 'shutdown') return this.requestShutdown(cause);
    if (this.resetRequestHandler) return this.resetRequestHandler(cause);
    if (this.resetting) return;
    this.resetting = true;
    try {
      this.systemReset(cause);
    } finally {
      this.resetting = false;
    }
    if (this.runState !== 'running') this.runState = 'prelaunch';
  }

  /**
   * vm_stop(state) (softmmu/cpus.c do_vm_stop): a running VM stops in `state`, clock stopped,
   * STOP sent; a VM that is not running keeps its state (prelaunch stays prelaunch).
   */
  stopWith(state: RunState): void {
    if (this.runState !== 'running') return;
    this.runState = state;
    this.clock.stop();
    this.events.emit('STOP');
  }

  private readonly errorReportListeners = new Set<(text: string) => void>();

  /** error_report from a device model (QEMU prints it on stderr): the host decides where it goes. */
  errorReport(text: string): void {
    for (const l of this.errorReportListeners) l(text);
  }

  onErrorReport(fn: (text: string) => void): () => void {
    this.errorReportListeners.add(fn);
    return () => this.errorReportListeners.delete(fn);
  }

  private systemResetDevices(reason: { guest: boolean; reason: string }): void {
    for (const d of [...this.devices()]) d.reset();
    for (const h of this.resetHooks) h(reason);
  }

  /** cont: prelaunch/paused -> running (once in prelaunch again after a reset, not a first start). */
  cont(): void {
    if (this.runState === 'running') return;
    if (this.runState === 'shutdown') throw new QemuError('Resetting the Virtual Machine is required');
    const first = !this.started;
    this.started = true;
    this.runState = 'running';
    this.clock.start();
    this.events.emit('RESUME');
    if (first) this.onFirstStart?.();
  }

  private started = false;

  stop(): void {
    if (this.runState !== 'running') return;
    this.runState = 'paused';
    this.clock.stop();
    this.events.emit('STOP');
  }

  /** Called once when the VM first runs (firmware, guest boot are attached here). */
  onFirstStart: (() => void) | undefined;

  emitDeviceDeleted(dev: Device): void {
    if (this.rcuDepth > 0 && this.rcuDeferred) {
      this.rcuDeferred.push(dev);
      return;
    }
    const path = dev.realizedPath ?? dev.canonicalPath();
    this.events.emit('DEVICE_DELETED', dev.id !== undefined ? { device: dev.id, path } : { path });
  }
}
