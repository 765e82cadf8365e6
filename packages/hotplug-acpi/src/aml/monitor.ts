/**
 * Monitor helpers for the ACPI hotplug block, for apps/qmp-server to wire: HMP `i` / `o`
 * (port read / write through the GuestView, as monitor/hmp-cmds.c hmp_ioport_read/write in
 * 7.2, output checked against Debian's 7.2.22) and a DSDT dump.
 */
import type { GuestView } from '@plugboard/pci-core';

export type PortSize = 1 | 2 | 4;

/** IOPORTS_MASK: x86 port addresses are 16 bits. */
const IOPORTS_MASK = 0xffff;
const SIZE_OF: Record<string, number> = { b: 1, h: 2, w: 4, g: 8 };
const SUFFIX: Record<number, string> = { 1: 'b', 2: 'w', 4: 'l' };

/**
 * The `/fmt` of `i` and `o`: an optional count, format letters and a size letter (b=1, h=2,
 * w=4, g=8). Default 4 bytes. Throws QEMU's text for anything else
 * (`invalid char in format: 'l'`).
 */
export function parseIoFormat(fmt: string | undefined): number {
  if (!fmt) return 4;
  const body = fmt.replace(/^\//, '');
  let size = 4;
  for (const c of body.replace(/^\d+/, '')) {
    if (c in SIZE_OF) size = SIZE_OF[c]!;
    else if (!'xduoci'.includes(c)) throw new Error(`invalid char in format: '${c}'`);
  }
  return size;
}

/** `i /fmt addr`: `portl[0xae00] = 0x00000020` (sizes other than 2 and 4 read one byte). */
export function hmpPortRead(view: GuestView, fmtSize: number, addr: number): string {
  const size: PortSize = fmtSize === 2 || fmtSize === 4 ? fmtSize : 1;
  const port = addr & IOPORTS_MASK;
  const val = view.ioRead(port, size) >>> 0;
  return `port${SUFFIX[size]}[0x${port.toString(16).padStart(4, '0')}] = 0x${val.toString(16).padStart(size * 2, '0')}\n`;
}

/** `o /fmt addr value`: no output. */
export function hmpPortWrite(view: GuestView, fmtSize: number, addr: number, value: number): void {
  const size: PortSize = fmtSize === 2 || fmtSize === 4 ? fmtSize : 1;
  const mask = size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
  view.ioWrite(addr & IOPORTS_MASK, (value & mask) >>> 0, size);
}

/** The table as base64 (for a QMP reply) or `xxd`-style hex lines (for HMP / the CLI). */
export function dumpTable(table: Uint8Array, format: 'base64' | 'hex' = 'hex'): string {
  if (format === 'base64') return Buffer.from(table).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < table.length; i += 16) {
    const row = [...table.subarray(i, i + 16)];
    const hex = row.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = row.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${i.toString(16).padStart(8, '0')}: ${hex.padEnd(47)}  ${text}`);
  }
  return lines.join('\n') + '\n';
}
