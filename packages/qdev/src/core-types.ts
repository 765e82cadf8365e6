/** The root of the device type hierarchy (hw/core/qdev.c TYPE_DEVICE, sysbus). */
import type { TypeDef } from './types.js';

export const coreTypes: TypeDef[] = [
  { name: 'object', abstract: true },
  { name: 'device', parent: 'object', abstract: true, userCreatable: true, hotpluggable: true },
  { name: 'sys-bus-device', parent: 'device', abstract: true, busType: 'System', userCreatable: false },
];
