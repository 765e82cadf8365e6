/**
 * Config-space dumps in the `lspci -xxxx` text format, which `lspci -F FILE` reads back:
 * a `BB:DD.F` header line, then lines of 16 hex bytes prefixed by their offset.
 */
import type { PCIDevice } from './pci-device.js';
import { PCI_CLASS_DESCRIPTIONS } from './info-pci.js';
import { PCI_CLASS_DEVICE, PCI_DEVICE_ID, PCI_VENDOR_ID } from './regs.js';

const hex = (v: number, w: number) => v.toString(16).padStart(w, '0');

export function dumpConfigSpace(dev: PCIDevice, opts: { domain?: number } = {}): string {
  const c = dev.config;
  const cls = c.get16(PCI_CLASS_DEVICE);
  const desc = PCI_CLASS_DESCRIPTIONS.get(cls) ?? `Class ${hex(cls, 4)}`;
  const dom = opts.domain ? `${hex(opts.domain, 4)}:` : '';
  const lines = [`${dom}${hex(dev.pciBus.number, 2)}:${hex(dev.slot, 2)}.${dev.fn} ${desc}: Device ${hex(c.get16(PCI_VENDOR_ID), 4)}:${hex(c.get16(PCI_DEVICE_ID), 4)}`];
  for (let off = 0; off < c.size; off += 16) {
    const bytes = [...c.data.subarray(off, off + 16)].map((b) => hex(b, 2)).join(' ');
    lines.push(`${hex(off, off < 0x100 ? 2 : 3)}: ${bytes}`);
  }
  return lines.join('\n') + '\n\n';
}
