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


/**
 * e1000e_gen_dsn (hw/net/e1000e.c): the Device Serial Number made from the MAC address,
 * mac[0..2] in the high bytes, mac[3..5] in the low ones, 0xff in the two middle bytes
 * (observed 0xff123456 / 0x525400ff for 52:54:00:12:34:56).
 */
export function macSerialNumber(dev: PCIDevice): bigint {
  const mac = String(dev.prop<string | null>('mac') ?? '00:00:00:00:00:00').split(':').map((b) => BigInt(parseInt(b, 16) || 0));
  const [m0, m1, m2, m3, m4, m5] = mac as [bigint, bigint, bigint, bigint, bigint, bigint];
  return m5 | (m4 << 8n) | (m3 << 16n) | (0xffn << 24n) | (0xffn << 32n) | (m2 << 40n) | (m1 << 48n) | (m0 << 56n);
}
