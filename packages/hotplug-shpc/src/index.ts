/**
 * @plugboard/hotplug-shpc: the Standard Hot-Plug Controller of QEMU 7.2's `pci-bridge`
 * (shpc=on) and `pcie-pci-bridge` (hw/pci/shpc.c; spec/shpc.md). The catalog types get
 * their controller through type extensions, the same door a third-party plugin would use:
 * load the plugin and every such bridge carries a live SHPC.
 */
import { definePlugin, type QObject } from '@plugboard/qdev';
import { PCIBridge, type PCIDevice } from '@plugboard/pci-core';
import { ShpcController } from './controller.js';

export * as shpcRegs from './regs.js';
export * from './regs.js';
export { ShpcController, SHPC_BAR } from './controller.js';
export { ShpcRegisters } from './registers.js';
export { runCommand, slotCommand, setSecondaryBusSpeed, slotSnapshot, type CommandHost, type SlotSnapshot } from './commands.js';
export {
  shpcHotplugInfo, deviceAndPath, ledStatus, slotStateName, slotIsOn, HOTPLUG_TYPE_SHPC, EVENT_X_DEVICE_ON,
  type DeviceAndPath, type LedStatus, type ShpcSlotState, type ShpcHotplugInfoInput,
} from './query.js';

/** The QOM types whose instances carry an SHPC (pci-bridge-seat derives from pci-bridge). */
export const SHPC_BRIDGE_TYPES = ['pci-bridge', 'pcie-pci-bridge'] as const;

const controllers = new WeakMap<PCIDevice, ShpcController>();

/** Gives a bridge its SHPC model (idempotent); inert when the bridge has no SHPC capability. */
export function attachShpc(bridge: PCIBridge): ShpcController {
  let c = controllers.get(bridge);
  if (!c) {
    c = new ShpcController(bridge);
    controllers.set(bridge, c);
    bridge.attachModel(c);
  }
  return c;
}

/** The SHPC of a bridge, if it has one (and the capability is present). */
export function shpcOf(bridge: PCIDevice): ShpcController | undefined {
  const c = controllers.get(bridge);
  return c?.present ? c : undefined;
}

const extend = (obj: QObject): void => {
  if (obj instanceof PCIBridge) attachShpc(obj);
};

export const shpcHotplugPlugin = definePlugin({
  name: '@plugboard/hotplug-shpc',
  extensions: SHPC_BRIDGE_TYPES.map((type) => ({ type, extend })),
});

export default shpcHotplugPlugin;
