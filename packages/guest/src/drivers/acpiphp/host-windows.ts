/**
 * The root bus' windows acpiphp assigns from (the PCI core does the assignment,
 * os/setup-bus.ts): what QEMU's `_CRS` gives PCI0 (hw/i386/acpi-build.c), for a RAM size.
 */
import type { PciResource } from '../../os/pci-dev.js';

/** The host bridge windows QEMU's `_CRS` gives PCI0, for the end of low RAM. */
export function rootWindows(lowMemEnd: number, q35: boolean): PciResource[] {
  const mem: PciResource[] = q35
    ? [{ kind: 'mem', start: lowMemEnd, end: 0xafffffff }, { kind: 'mem', start: 0xc0000000, end: 0xfebfffff }]
    : [{ kind: 'mem', start: lowMemEnd, end: 0xfebfffff }];
  return [{ kind: 'io', start: 0x0d00, end: 0xffff }, ...mem];
}
