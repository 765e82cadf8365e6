/**
 * The type registry: QEMU-style type names with parents, abstract types, interfaces and
 * aliases (qom/object.c, softmmu/qdev-monitor.c's alias table). Filled by plugins only.
 */
import type { PropertyDef } from './properties.js';
import type { QObject } from './object.js';
import type { Machine } from './machine.js';

/** `-device help` groups (include/hw/qdev-core.h DeviceCategory, printed names). */
export type DeviceCategory = 'bridge' | 'usb' | 'storage' | 'network' | 'input' | 'display' | 'sound' | 'misc' | 'cpu' | 'watchdog';

export const DEVICE_CATEGORY_NAMES: Record<DeviceCategory, string> = {
  bridge: 'Controller/Bridge/Hub devices',
  usb: 'USB devices',
  storage: 'Storage devices',
  network: 'Network devices',
  input: 'Input devices',
  display: 'Display devices',
  sound: 'Sound devices',
  misc: 'Misc devices',
  cpu: 'CPU devices',
  watchdog: 'Watchdog devices',
};

export interface TypeDef {
  name: string;
  parent?: string;
  abstract?: boolean;
  interfaces?: string[];
  /** Legacy names accepted by `-device` / `device_add` (e.g. `virtio-net` for `virtio-net-pci`). */
  aliases?: string[];
  /** `-device help` description. */
  description?: string;
  category?: DeviceCategory;
  /** Inherited from the parent when undefined. Devices default to user-creatable and hotpluggable. */
  userCreatable?: boolean;
  hotpluggable?: boolean;
  /** QOM bus type this device plugs into (`PCI`, `System`, ...); inherited. */
  busType?: string;
  /** qdev properties introduced by this type (ancestors' are inherited). */
  properties?: PropertyDef[];
  /** Creates an instance; inherited from the nearest ancestor that defines it. */
  instantiate?: (type: TypeImpl, machine: Machine) => QObject;
  /** Per-class data (identities, BAR layouts...), shallow-merged from ancestors down. */
  classData?: Record<string, unknown>;
}

/** A registered type with its inherited attributes resolved. */
export class TypeImpl {
  readonly def: TypeDef;
  readonly parentType: TypeImpl | undefined;
  readonly name: string;
  readonly properties: PropertyDef[];
  readonly classData: Record<string, unknown>;

  constructor(def: TypeDef, parentType: TypeImpl | undefined) {
    this.def = def;
    this.name = def.name;
    this.parentType = parentType;
    const own = def.properties ?? [];
    const inherited = (parentType?.properties ?? []).filter((p) => !own.some((o) => o.name === p.name));
    this.properties = [...own, ...inherited];
    this.classData = { ...(parentType?.classData ?? {}), ...(def.classData ?? {}) };
  }

  get abstract(): boolean {
    return this.def.abstract ?? false;
  }

  private inherited<K extends keyof TypeDef>(key: K): TypeDef[K] | undefined {
    for (let t: TypeImpl | undefined = this; t; t = t.parentType) if (t.def[key] !== undefined) return t.def[key];
    return undefined;
  }

  get userCreatable(): boolean {
    return this.inherited('userCreatable') ?? true;
  }
  get hotpluggable(): boolean {
    return this.inherited('hotpluggable') ?? true;
  }
  get busType(): string | undefined {
    return this.inherited('busType');
  }
  get category(): DeviceCategory | undefined {
    return this.inherited('category');
  }
  get description(): string | undefined {
    return this.def.description;
  }
  get instantiate(): ((t: TypeImpl, m: Machine) => QObject) | undefined {
    return this.inherited('instantiate');
  }

  /** True when this type is `name` or derives from it or implements it as an interface. */
  isA(name: string): boolean {
    for (let t: TypeImpl | undefined = this; t; t = t.parentType) {
      if (t.name === name || t.def.interfaces?.includes(name)) return true;
    }
    return false;
  }

  property(name: string): PropertyDef | undefined {
    return this.properties.find((p) => p.name === name);
  }
}

/**
 * Behaviour a plugin adds to instances of an existing type (and its subtypes): called for
 * every new instance, before properties are set. This is how a hotplug backend gives
 * catalog types (e.g. `pcie-slot`) their controller without owning the type.
 */
export type TypeExtension = (obj: QObject) => void;

export class TypeRegistry {
  private readonly types = new Map<string, TypeImpl>();
  private readonly extensions: Array<{ type: string; fn: TypeExtension }> = [];

  extend(typeName: string, fn: TypeExtension): void {
    this.extensions.push({ type: typeName, fn });
  }

  /** Extensions that apply to `type`, in registration order. */
  extensionsFor(type: TypeImpl): TypeExtension[] {
    return this.extensions.filter((e) => type.isA(e.type)).map((e) => e.fn);
  }
  private readonly pending = new Map<string, TypeDef>();
  private readonly aliases = new Map<string, string>();

  /** Registers types in any order; a type becomes visible once its parent exists. */
  register(...defs: TypeDef[]): void {
    for (const d of defs) {
      if (this.types.has(d.name) || this.pending.has(d.name)) throw new Error(`type '${d.name}' is already registered`);
      this.pending.set(d.name, d);
      for (const a of d.aliases ?? []) this.aliases.set(a, d.name);
    }
    let progress = true;
    while (progress) {
      progress = false;
      for (const [name, d] of this.pending) {
        const parent = d.parent === undefined ? undefined : this.types.get(d.parent);
        if (d.parent !== undefined && !parent) continue;
        this.types.set(name, new TypeImpl(d, parent));
        this.pending.delete(name);
        progress = true;
      }
    }
  }

  get(name: string): TypeImpl | undefined {
    return this.types.get(name);
  }

  /** Resolves a user-given driver name, following aliases. */
  lookupDriver(name: string): { type: TypeImpl | undefined; alias?: string } {
    const t = this.types.get(name);
    if (t) return { type: t };
    const target = this.aliases.get(name);
    if (target) return { type: this.types.get(target), alias: target };
    return { type: undefined };
  }

  aliasesOf(name: string): string[] {
    return [...this.aliases].filter(([, t]) => t === name).map(([a]) => a);
  }

  all(): TypeImpl[] {
    return [...this.types.values()];
  }

  /** Types still waiting for their parent (a plugin bug worth reporting). */
  unresolved(): string[] {
    return [...this.pending.keys()];
  }
}
