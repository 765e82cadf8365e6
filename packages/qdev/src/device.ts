/**
 * Devices and buses (hw/core/qdev.c, hw/core/bus.c): realize/unrealize, the hotplug
 * handler hooks, DEVICE_DELETED on finalization.
 */
import { QemuError } from './errors.js';
import { ghashKeyOrder } from './ghash.js';
import { QObject } from './object.js';
import { pciDevfnProp, type PropertyDef } from './properties.js';
import type { TypeImpl } from './types.js';
import type { Machine } from './machine.js';

/** include/hw/hotplug.h: every hook optional. */
export interface HotplugHandler {
  prePlug?(dev: Device): void;
  plug?(dev: Device): void;
  unplugRequest?(dev: Device): void;
  unplug?(dev: Device): void;
  /**
   * `x-query-hotplug` (spec/pcie-slot.md §8): the HotplugInfo of the slot `dev` sits in,
   * members in QAPI schema order. Handlers without it are "not supported" there.
   */
  queryHotplug?(dev: Device): Record<string, unknown>;
  /** Presses the attention button of the slot holding `dev` (the old `pcie_abp` command). */
  pressAttentionButton?(dev: Device): void;
}

export class Device extends QObject {
  readonly type: TypeImpl;
  readonly machine: Machine;
  id: string | undefined;
  parentBus: Bus | undefined;
  readonly childBuses: Bus[] = [];
  realized = false;
  /** Created after machine init completed (QMP device_add, even in -S prelaunch). */
  hotplugged = false;
  /** qdev's pending_deleted_event / pending_deleted_expires_ms (0 = never expires). */
  pendingDeletion = false;
  pendingDeletionExpiresMs = 0;
  /** Canonical path captured at realize, reported by DEVICE_DELETED. */
  realizedPath: string | undefined;
  protected readonly values = new Map<string, unknown>();

  constructor(type: TypeImpl, machine: Machine) {
    super(type.name);
    this.type = type;
    this.machine = machine;
    for (const p of type.properties) {
      if (p.child) continue;
      this.values.set(p.name, p.default);
      const classLevel = !INSTANCE_PROPERTIES.has(p.name);
      this.defineProperty({ name: p.name, type: p.kind.qomType, get: () => p.kind.toJson(this.values.get(p.name) as never) }, { classLevel });
    }
    this.defineProperty({ name: 'realized', type: 'bool', get: () => this.realized }, { classLevel: true });
    this.defineProperty({ name: 'hotplugged', type: 'bool', get: () => this.hotplugged }, { classLevel: true });
    this.defineProperty({ name: 'hotpluggable', type: 'bool', get: () => this.isHotpluggable() }, { classLevel: true });
    this.defineProperty({ name: 'parent_bus', type: 'link<bus>', get: () => this.parentBus?.canonicalPath() ?? '' }, { classLevel: true });
  }

  protected override classPropertyOrder(): readonly string[] {
    return deviceClassOrder(this.type);
  }

  /** Typed read of a qdev property value. */
  prop<T>(name: string): T {
    return this.values.get(name) as T;
  }

  /** Set before realize (property parsing) or by the device model itself. */
  setProp(def: PropertyDef, value: unknown): void {
    if (this.realized) throw new QemuError(`Attempt to set property '${def.name}' on device '${this.id ?? this.typeName}' (type '${this.typeName}') after it was realized`);
    this.values.set(def.name, value);
  }

  isHotpluggable(): boolean {
    return this.type.hotpluggable && (!this.parentBus || this.parentBus.hotpluggable);
  }

  /** The handler in charge of this device (qdev_get_hotplug_handler). */
  hotplugHandler(): HotplugHandler | undefined {
    return this.machine.hotplugHandlerFor(this) ?? this.parentBus?.hotplugHandler;
  }

  /** "e1000,id=n3"-style name used in PCI error messages. */
  describe(): string {
    return this.id ? `${this.typeName},id=${this.id}` : this.typeName;
  }

  // ---- model hooks ------------------------------------------------------------------

  /** The device model's own realize (after pre_plug). Throw QemuError to fail. */
  protected onRealize(): void {}
  /** Undo onRealize. */
  protected onUnrealize(): void {}
  /** Device reset (cold reset, bus reset, system_reset). */
  reset(): void {}

  // ---- lifecycle ----------------------------------------------------------------------

  /** device_set_realized(true): pre_plug, realize, child buses, reset if hot, plug. */
  realize(bus: Bus | undefined): void {
    if (bus) bus.attach(this);
    const handler = this.hotplugHandler();
    try {
      handler?.prePlug?.(this);
      this.onRealize();
      this.realizedPath = this.canonicalPath();
      try {
        for (const b of this.childBuses) b.realized = true;
        if (this.hotplugged) this.resetTree();
        this.pendingDeletion = false;
        this.realized = true;
        handler?.plug?.(this);
      } catch (e) {
        this.realized = false;
        this.onUnrealize();
        throw e;
      }
    } catch (e) {
      bus?.detach(this);
      throw e;
    }
  }

  /** Reset this device and everything below it. */
  resetTree(): void {
    this.reset();
    for (const b of this.childBuses) for (const d of b.children()) d.resetTree();
  }

  /**
   * Unrealize and unparent (object_unparent on a device): child buses' devices go first;
   * each realized device gets DEVICE_DELETED once it is gone.
   */
  destroy(): void {
    for (const b of this.childBuses) for (const d of [...b.children()].reverse()) d.destroy();
    const wasRealized = this.realized;
    if (this.realized) {
      this.realized = false;
      this.onUnrealize();
    }
    this.parentBus?.detach(this);
    this.machine.forgetDevice(this);
    for (const b of this.childBuses) this.machine.forgetBus(b);
    this.parent?.removeChild(this.propName!);
    if (wasRealized) this.machine.emitDeviceDeleted(this);
  }

  /** Child objects that are devices but not on a child bus (virtio backends) are reported first. */
  addChildBus(bus: Bus): void {
    bus.parentDevice = this;
    this.childBuses.push(bus);
    this.addChild(bus.name, bus);
    this.machine.registerBus(bus);
  }
}

export class Bus extends QObject {
  readonly name: string;
  /** QOM type chain, most derived first, e.g. ['PCIE', 'PCI', 'bus']. */
  readonly busTypes: readonly string[];
  parentDevice: Device | undefined;
  hotplugHandler: HotplugHandler | undefined;
  /** Handler owner for the `hotplug-handler` link, for qom-get. */
  hotplugHandlerObject: QObject | undefined;
  maxDevices: number | undefined;
  realized = false;
  private readonly devs: Device[] = [];
  private childSeq = 0;

  constructor(name: string, busTypes: readonly string[]) {
    super(busTypes[0]!);
    this.name = name;
    this.busTypes = busTypes;
    // qbus_initfn (hw/core/bus.c): both are properties of the instance, in this order.
    this.defineProperty({
      name: 'hotplug-handler',
      type: 'link<hotplug-handler>',
      get: () => this.hotplugHandlerObject?.canonicalPath() ?? '',
    });
    this.defineProperty({ name: 'realized', type: 'bool', get: () => this.realized });
  }

  get busType(): string {
    return this.busTypes[0]!;
  }


  /** 7.2: a bus is hotpluggable iff it has a hotplug handler. */
  get hotpluggable(): boolean {
    return this.hotplugHandler !== undefined;
  }

  isA(busType: string): boolean {
    return this.busTypes.includes(busType);
  }

  children(): readonly Device[] {
    return this.devs;
  }

  isFull(): boolean {
    return this.maxDevices !== undefined && this.devs.length >= this.maxDevices;
  }

  setHotplugHandler(handler: HotplugHandler | undefined, owner?: QObject): void {
    this.hotplugHandler = handler;
    this.hotplugHandlerObject = handler ? owner : undefined;
  }

  attach(dev: Device): void {
    dev.parentBus = this;
    this.devs.push(dev);
    const link = `child[${this.childSeq++}]`;
    this.defineProperty({ name: link, type: `link<${dev.typeName}>`, get: () => dev.canonicalPath() });
    linkNames.set(dev, link);
  }

  detach(dev: Device): void {
    const i = this.devs.indexOf(dev);
    if (i >= 0) this.devs.splice(i, 1);
    const link = linkNames.get(dev);
    if (link) this.deleteProperty(link);
    dev.parentBus = undefined;
  }

  /** Extra `info qtree` lines for a device on this bus (PCI prints class/addr/BARs). */
  printDevice(_dev: Device): string[] {
    return [];
  }
}

const linkNames = new WeakMap<Device, string>();

/**
 * qdev properties QEMU adds to the instance rather than the class: `bootindex` always comes
 * from device_add_bootindex_property() or an alias to it (object_property_add*), at instance_init.
 */
export const INSTANCE_PROPERTIES: ReadonlySet<string> = new Set(['bootindex']);

/** TYPE_DEVICE's class properties in device_class_init order (hw/core/qdev.c). */
const DEVICE_CLASS_PROPERTIES = ['realized', 'hotpluggable', 'hotplugged', 'parent_bus'];

/**
 * One class's property table in iteration order. The names are the type's own qdev
 * properties, each preceded by its `legacy-` twin when the property type can print itself
 * (only PCI devfn in 7.2: device_class_set_props -> qdev_class_add_legacy_property, then
 * qdev_class_add_property). A type whose device-list-properties listing was recorded from
 * QEMU (classData.propertyListOrder, the same iteration reversed) takes its order from it;
 * otherwise the properties are taken to be declared in QEMU's order and hashed.
 */
function classTable(t: TypeImpl): string[] {
  const names = t.name === 'device' ? [...DEVICE_CLASS_PROPERTIES] : t.name === 'object' ? ['type'] : [];
  for (const p of t.def.properties ?? []) {
    if (p.child || INSTANCE_PROPERTIES.has(p.name)) continue;
    if (p.kind === pciDevfnProp) names.push(`legacy-${p.name}`);
    names.push(p.name);
  }
  const recorded = t.def.classData?.propertyListOrder as readonly string[] | undefined;
  if (recorded) {
    const own = new Set(names);
    const order = [...recorded].reverse().filter((n) => own.has(n));
    if (order.length === own.size) return order;
  }
  return ghashKeyOrder(names, []);
}

const classOrders = new WeakMap<TypeImpl, readonly string[]>();

/** The class tables from `type` up to TYPE_OBJECT, each in hash order (object_property_iter_next). */
export function deviceClassOrder(type: TypeImpl): readonly string[] {
  let order = classOrders.get(type);
  if (!order) {
    const names: string[] = [];
    let t: TypeImpl | undefined = type;
    for (; t; t = t.parentType) names.push(...classTable(t));
    if (!names.includes('type')) names.push('type');
    order = names;
    classOrders.set(type, order);
  }
  return order;
}
