export { QemuError, deviceNotFound, type QemuErrorClass } from './errors.js';
export { Clock, NS_PER_MS, NS_PER_SEC, type ClockMode, type ClockHost, type Timer } from './clock.js';
export { EventBus, type MachineEvent, type EventListener } from './events.js';
export { QObject, Container, resolvePath, mustResolve, type ObjectProperty } from './object.js';
export {
  ParseFailure, boolProp, uint8Prop, uint16Prop, uint32Prop, uint64Prop, int32Prop, int64Prop, sizeProp, strProp,
  refProp, enumProp, macaddrProp, backendRefProp, onOffAutoProp, pciDevfnProp, linkProp, parsePropValue, parseBoolText, parseIntText, optsString,
  type PropKind, type PropertyDef, type PropValue,
} from './properties.js';
export { TypeRegistry, TypeImpl, DEVICE_CATEGORY_NAMES, type TypeDef, type DeviceCategory, type TypeExtension } from './types.js';
export { Device, Bus, type HotplugHandler } from './device.js';
export { Machine, type MachineInit, type RunState, type ResetHook } from './machine.js';
export {
  deviceAdd, deviceDel, findBus, findDevice, deviceClassFor, idWellFormed, checkUnpluggable, completeUnplug,
  type DeviceAddOptions,
} from './monitor.js';
export { qomList, qomGet, qomSet, qomListTypes, deviceListProperties, infoQtree, infoQomTree, type PropertyInfo } from './introspect.js';
export {
  definePlugin, configurePlugin, PluginSet, type Plugin, type PluginOptionDef, type PluginCommand, type PluginHmpCommand, type MachineTypeDef, type MachineCreateContext, type MachineOptions,
} from './plugin.js';
export { coreTypes } from './core-types.js';
export { GHashOrder, gStrHash, ghashKeyOrder } from './ghash.js';
