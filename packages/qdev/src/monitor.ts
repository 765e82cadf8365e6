/**
 * The qdev monitor: device_add / device_del as softmmu/qdev-monitor.c does them in 7.2,
 * with its checks in its order and its error texts (spec/qdev-hotplug.md §4–§5).
 */
import { Bus, Device } from './device.js';
import { QemuError, deviceNotFound } from './errors.js';
import type { Machine } from './machine.js';
import { resolvePath } from './object.js';
import { optsString, parsePropValue, pciDevfnProp, type PropValue } from './properties.js';
import type { TypeImpl } from './types.js';

/** Members of a device_add request that are not device properties. */
const NON_PROPERTY_KEYS = new Set(['driver', 'bus', 'id']);

/** util/id.c id_wellformed: a letter, then letters, digits, '-', '.', '_'. */
export function idWellFormed(id: string): boolean {
  return /^[A-Za-z][A-Za-z0-9\-._]*$/.test(id);
}

export interface DeviceAddOptions {
  /** JSON `-device {...}`: values keep their JSON types (the QemuOpts conversion is skipped). */
  json?: boolean;
}

/** Resolves the `driver` to a creatable device type (qdev_get_device_class). */
export function deviceClassFor(machine: Machine, driver: string): TypeImpl {
  const { type, alias } = machine.registry.lookupDriver(driver);
  if (!type || !type.isA('device')) {
    throw new QemuError(alias ? `'${driver}' (alias '${alias}') is not a valid device model name` : `'${driver}' is not a valid device model name`);
  }
  if (type.abstract) throw new QemuError("Parameter 'driver' expects a non-abstract device type");
  if (!type.userCreatable || (machine.phase === 'ready' && !type.hotpluggable)) {
    throw new QemuError("Parameter 'driver' expects a pluggable device type");
  }
  return type;
}

/** device_add / -device. Returns the realized device. */
export function deviceAdd(machine: Machine, rawOpts: Record<string, unknown>, how: DeviceAddOptions = {}): Device {
  // qemu_opts_from_qdict keeps only scalars: objects, arrays and null are dropped, and a
  // non-string `id` is ignored (the device becomes anonymous) - observed on 7.2.
  // Without a prototype, every user key (`__proto__`, `constructor`...) is an ordinary member
  // and reaches the property lookup, which refuses it as QEMU does. A bigint is an int64 that
  // does not fit a double: qemu_opts_from_qdict turns it into decimal text like any number.
  const opts = Object.create(null) as Record<string, PropValue>;
  for (const [k, v] of Object.entries(rawOpts)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') opts[k] = v;
  }
  if (typeof opts.id !== 'string' && !how.json) delete opts.id;
  const id = opts.id === undefined ? undefined : optsString(opts.id);
  if (id !== undefined && !idWellFormed(id)) throw new QemuError("Parameter 'id' expects an identifier");
  const driverValue = opts.driver;
  if (driverValue === undefined) throw new QemuError("Parameter 'driver' is missing");
  const driver = optsString(driverValue);
  const type = deviceClassFor(machine, driver);

  let bus: Bus | undefined;
  const busPath = opts.bus === undefined ? undefined : optsString(opts.bus);
  const wanted = type.busType;
  if (busPath !== undefined) {
    bus = findBus(machine, busPath);
    if (!wanted || !bus.isA(wanted)) throw new QemuError(`Device '${driver}' can't go on ${bus.busType} bus`);
  } else if (wanted) {
    bus = machine.firstBus((b) => b.isA(wanted) && !b.isFull());
    if (!bus) throw new QemuError(`No '${wanted}' bus found for device '${driver}'`);
  }
  if (machine.phase === 'ready' && bus && !bus.hotpluggable) {
    throw new QemuError(`Bus '${bus.name}' does not support hotplugging`);
  }

  const dev = machine.newDevice(type.name);
  if (machine.phase === 'ready') {
    dev.hotplugged = true;
    if (!bus && !machine.hotplugHandlerFor(dev)) throw new QemuError(`Device '${driver}' can not be hotplugged on this machine`);
  }
  machine.adoptUserDevice(dev, id);
  try {
    for (const [key, value] of Object.entries(opts)) {
      if (NON_PROPERTY_KEYS.has(key)) continue;
      const def = type.property(key);
      if (!def) throw new QemuError(`Property '${type.name}.${key}' not found`);
      if (def.child) throw new QemuError('Insufficient permission to perform this operation');
      dev.setProp(def, how.json ? parseJsonValue(type.name, def, value) : parsePropValue(type.name, def, value));
    }
    dev.realize(bus);
  } catch (e) {
    machine.forgetDevice(dev);
    dev.parent?.removeChild(dev.propName!);
    throw e;
  }
  return dev;
}

function parseJsonValue(typeName: string, def: { name: string; kind: unknown }, value: PropValue): unknown {
  // With JSON, `addr` may be an integer devfn (-1..255) rather than a "slot.fn" string.
  // The visitor's int32 first (hw/core/qdev-properties-system.c set_pci_devfn), then the range.
  if (def.kind === pciDevfnProp && (typeof value === 'number' || typeof value === 'bigint')) {
    if (typeof value === 'number' && !Number.isInteger(value)) throw new QemuError(`Invalid parameter type for '${def.name}', expected: integer`);
    if (value < -(2 ** 31) || value >= 2 ** 31) throw new QemuError(`Parameter '${def.name}' expects int32_t`);
    if (value < -1 || value > 255) throw new QemuError(`Parameter '${def.name}' expects a value between -1 and 255`);
    return Number(value);
  }
  return parsePropValue(typeName, def as never, value);
}

/** qbus_find: a bus name anywhere, or a `/`-separated dev/bus path; a device with one bus is its bus. */
export function findBus(machine: Machine, path: string): Bus {
  let bus: Bus;
  let parts: string[];
  if (path.startsWith('/')) {
    bus = machine.sysbus;
    parts = path.split('/').filter((p) => p !== '');
  } else {
    const [first, ...rest] = path.split('/');
    const found = machine.busByName(first);
    if (!found) throw new QemuError(`Bus '${first}' not found`);
    bus = found;
    parts = rest.filter((p) => p !== '');
  }
  for (let i = 0; i < parts.length; i += 2) {
    const elem = parts[i]!;
    const dev = findDevOnBus(machine, bus, elem);
    if (!dev) throw deviceNotFound(elem);
    const busName = parts[i + 1];
    if (busName === undefined) {
      if (dev.childBuses.length === 1) {
        bus = dev.childBuses[0]!;
        break;
      }
      throw new QemuError(dev.childBuses.length ? `Device '${elem}' has multiple child buses` : `Device '${elem}' has no child bus`);
    }
    const next = dev.childBuses.find((b) => b.name === busName);
    if (!next) throw new QemuError(`Bus '${busName}' not found`);
    bus = next;
  }
  if (bus.isFull()) throw new QemuError(`Bus '${path}' is full`);
  return bus;
}

/** qbus_find_dev: by id, then type name, then alias. */
function findDevOnBus(machine: Machine, bus: Bus, elem: string): Device | undefined {
  const kids = bus.children();
  return (
    kids.find((d) => d.id === elem) ??
    kids.find((d) => d.typeName === elem) ??
    kids.find((d) => machine.registry.aliasesOf(d.typeName).includes(elem))
  );
}

/** find_device_state: an id under /machine/peripheral, or an absolute QOM path. */
export function findDevice(machine: Machine, id: string): Device {
  // find_device_state(): an id is a path below /machine/peripheral ("" is the container itself,
  // "vn/virtio-backend" a child of device vn), anything starting with '/' an absolute path.
  const obj = resolvePath(id.startsWith('/') ? machine.qomRoot : machine.peripheral, id.startsWith('/') ? id : `/${id}`);
  if (!obj) throw deviceNotFound(id);
  if (!(obj instanceof Device)) throw new QemuError(`${id} is not a hotpluggable device`);
  return obj;
}

/** device_del. Returns once the request is issued; completion is DEVICE_DELETED. */
export function deviceDel(machine: Machine, id: string): void {
  const dev = findDevice(machine, id);
  if (dev.pendingDeletion && (dev.pendingDeletionExpiresMs === 0 || dev.pendingDeletionExpiresMs > machine.clock.nowMs())) {
    throw new QemuError(`Device ${id} is already in the process of unplug`);
  }
  checkUnpluggable(dev);
  const handler = dev.hotplugHandler();
  if (!handler) throw new QemuError(`Device '${dev.typeName}' does not support hotplugging`);
  if (handler.unplugRequest) handler.unplugRequest(dev);
  else completeUnplug(dev);
}

/** qdev_unplug's bus and class checks, shared with x-query-hotplug. */
export function checkUnpluggable(dev: Device): void {
  if (dev.parentBus && !dev.parentBus.hotpluggable) throw new QemuError(`Bus '${dev.parentBus.name}' does not support hotplugging`);
  if (!dev.type.hotpluggable) throw new QemuError(`Device '${dev.typeName}' does not support hotplugging`);
}

/** Completes an unplug from a hotplug controller (guest ejected, slot powered off...). */
export function completeUnplug(dev: Device): void {
  const handler = dev.hotplugHandler();
  if (handler?.unplug) handler.unplug(dev);
  if (dev.parent || dev.realized) dev.destroy();
}
