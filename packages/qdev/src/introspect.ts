/** QOM/qdev introspection behind qom-list, qom-get, qom-list-types, device-list-properties and `info qtree`. */
import { Bus, Device, INSTANCE_PROPERTIES, deviceClassOrder } from './device.js';
import { QemuError, deviceNotFound } from './errors.js';
import type { Machine } from './machine.js';
import { ghashKeyOrder } from './ghash.js';
import { resolvePath, type QObject } from './object.js';
import { parsePropValue, type PropValue } from './properties.js';
import type { TypeImpl, TypeRegistry } from './types.js';

export function qomList(machine: Machine, path: string): Array<{ name: string; type: string }> {
  // qmp_qom_list reports partial-path ambiguity; "" matches every object.
  if (path === '') throw new QemuError("Path '' is ambiguous");
  const obj = resolvePath(machine.qomRoot, path);
  if (!obj) throw deviceNotFound(path);
  return obj.listProperties();
}

export function qomGet(machine: Machine, path: string, property: string): unknown {
  const obj = resolvePath(machine.qomRoot, path);
  if (!obj) throw deviceNotFound(path);
  return obj.getProperty(property);
}

/** qom-set: qdev properties only before realize, as object_property_set does for devices. */
export function qomSet(machine: Machine, path: string, property: string, value: unknown): void {
  const obj = resolvePath(machine.qomRoot, path);
  if (!obj) throw deviceNotFound(path);
  if (!obj.hasProperty(property)) throw new QemuError(`Property '${obj.typeName}.${property}' not found`);
  const def = obj instanceof Device ? obj.type.property(property) : undefined;
  if (!def || def.child || !(obj instanceof Device)) throw new QemuError('Insufficient permission to perform this operation');
  if (obj.realized) {
    throw new QemuError(`Attempt to set property '${property}' on device '${obj.id ?? '<anonymous>'}' (type '${obj.typeName}') after it was realized`);
  }
  obj.setProp(def, parsePropValue(obj.typeName, def, value as PropValue));
}

export function qomListTypes(registry: TypeRegistry, opts: { implements?: string; abstract?: boolean }): Array<{ name: string; parent?: string; abstract?: boolean }> {
  const out: Array<{ name: string; parent?: string; abstract?: boolean }> = [];
  for (const t of registry.all()) {
    if (t.abstract && !opts.abstract) continue;
    if (opts.implements !== undefined && !t.isA(opts.implements)) continue;
    const e: { name: string; parent?: string; abstract?: boolean } = { name: t.name };
    if (t.abstract) e.abstract = true;
    if (t.parentType) e.parent = t.parentType.name;
    out.push(e);
  }
  return out;
}

/** Properties that device-list-properties leaves out (qdev_device_list_properties). */
const HIDDEN_DEVICE_PROPS = new Set(['type', 'realized', 'hotpluggable', 'hotplugged', 'parent_bus']);

export interface PropertyInfo {
  name: string;
  type: string;
  description?: string;
  'default-value'?: unknown;
}

export function deviceListProperties(registry: TypeRegistry, typename: string): PropertyInfo[] {
  const t = registry.get(typename);
  if (!t) throw deviceNotFound(typename);
  if (!t.isA('device')) throw new QemuError("Parameter 'typename' expects device");
  if (t.abstract) throw new QemuError("Parameter 'typename' expects a non-abstract device type");
  // qmp_device_list_properties iterates a new instance's properties (its own table, then the
  // class tables up the chain) and prepends each: the recorded QEMU order where there is one,
  // else the same iteration as qom-list computes it, reversed.
  const order = (t.classData.propertyListOrder as string[] | undefined) ?? iterationOrder(t).reverse();
  const props = [...t.properties].sort((a, b) => rank(order, a.name) - rank(order, b.name));
  return props
    .filter((p) => !HIDDEN_DEVICE_PROPS.has(p.name))
    .map((p) => {
      const info: PropertyInfo = { name: p.name, type: p.kind.qomType };
      if (p.description !== undefined) info.description = p.description;
      // A NULL string default has no "default-value" (qdev_prop_set_default skips it).
      if (p.default !== undefined && p.default !== null) info['default-value'] = p.kind.toJson(p.default as never);
      return info;
    });
}

/**
 * HMP `info qom-tree [path]` (qom/qom-hmp-cmds.c hmp_info_qom_tree): the composition tree
 * from `path` (default /machine), children sorted by name (g_slist_insert_sorted, g_strcmp0).
 * An unresolvable or ambiguous path both come back as "could not be resolved": the partial
 * path lookup returns no object when ambiguous, which is checked first.
 */
export function infoQomTree(machine: Machine, path?: string): string {
  const obj = path === undefined ? machine : resolvePath(machine.qomRoot, path);
  if (!obj) return `Path '${path}' could not be resolved.\r\n`;
  const out: string[] = [];
  printComposition(obj, 0, out);
  return out.map((l) => l + '\r\n').join('');
}

const utf8 = new TextEncoder();

/** strcmp order: bytes of the UTF-8 names. */
function byteCompare(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function printComposition(obj: QObject, indent: number, out: string[]): void {
  out.push(`${' '.repeat(indent)}/${obj.parent ? obj.propName : ''} (${obj.typeName})`);
  const kids = [...obj.childObjects.entries()].sort(([a], [b]) => byteCompare(a, b));
  for (const [, c] of kids) printComposition(c, indent + 2, out);
}

/** HMP `info qtree` (softmmu/qdev-monitor.c qdev_print / qbus_print). */
export function infoQtree(machine: Machine): string {
  const lines: string[] = [];
  printBus(machine.sysbus, 0, lines);
  return lines.map((l) => l + '\r\n').join('');
}

function printBus(bus: Bus, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  out.push(`${pad}bus: ${bus.name}`);
  out.push(`${pad}  type ${bus.busType}`);
  for (const d of [...bus.children()].reverse()) printDev(d, indent + 2, out);
}

function printDev(dev: Device, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  out.push(`${pad}dev: ${dev.typeName}, id "${dev.id ?? ''}"`);
  for (const p of dev.type.properties) if (!p.child) out.push(`${pad}  ${p.name} = ${p.kind.print(dev.prop(p.name) as never)}`);
  if (dev.parentBus) for (const l of dev.parentBus.printDevice(dev)) out.push(`${pad}  ${l}`);
  for (const b of dev.childBuses) printBus(b, indent + 2, out);
}

/** A fresh instance's property iteration: instance_init properties, then the class tables. */
function iterationOrder(t: TypeImpl): string[] {
  const instance = t.properties.filter((p) => p.child || INSTANCE_PROPERTIES.has(p.name)).map((p) => p.name);
  return [...ghashKeyOrder(instance, []), ...deviceClassOrder(t)];
}

function rank(order: string[], name: string): number {
  const i = order.indexOf(name);
  return i < 0 ? order.length : i;
}
