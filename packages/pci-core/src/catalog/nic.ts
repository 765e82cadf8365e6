import type { PCIDevice } from '../pci-device.js';

/**
 * qemu_macaddr_default_if_unset (net/net.c): NICs without `mac=` get 52:54:00:12:34:56,
 * then ...:57 and so on, counted per machine here (per process in QEMU).
 */
const nicCounter = new WeakMap<object, number>();
export function defaultMac(dev: PCIDevice): void {
  if (dev.prop<string | null>('mac') !== null) return;
  const n = nicCounter.get(dev.machine) ?? 0;
  nicCounter.set(dev.machine, n + 1);
  const def = dev.type.property('mac');
  if (def) dev.setProp(def, `52:54:00:12:34:${(0x56 + n).toString(16).padStart(2, '0')}`);
}

