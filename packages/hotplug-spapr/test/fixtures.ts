/** The QEMU 7.2 recordings of fixtures/qemu-7.2-ppc (scripts/record-qemu-ppc.mjs). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../fixtures/qemu-7.2-ppc/', import.meta.url));

export interface Exchange {
  send?: { execute?: string; arguments?: Record<string, unknown> };
  note?: string;
  replies: Array<{ return?: unknown; error?: { class: string; desc: string } }>;
  events: Array<{ event: string; data?: Record<string, unknown> }>;
  order?: string[];
}

export interface Transcript {
  argv: string[];
  exchanges: Exchange[];
}

export function transcript(name: string): Transcript {
  return JSON.parse(readFileSync(root + name + '.json', 'utf8'));
}

/** The replies and events of every request, in order (qmp_capabilities left out). */
export function requests(name: string): Exchange[] {
  return transcript(name).exchanges.filter((e) => e.send && e.send.execute !== 'qmp_capabilities');
}

/** QEMU's reply to the first `execute` with these arguments. */
export function reply(name: string, execute: string, args?: Record<string, unknown>): Exchange['replies'][0] {
  const ex = requests(name).find((e) => e.send!.execute === execute && (args === undefined || JSON.stringify(e.send!.arguments ?? {}) === JSON.stringify(args)));
  if (!ex) throw new Error(`${name}: no ${execute} ${JSON.stringify(args ?? {})}`);
  return ex.replies[0]!;
}

/** A dumpdtb recording: the command line, dtc's decompilation and the blob. */
export function dtbFixture(name: string): { argv: string[]; dts: string; dtb: Uint8Array } {
  const j = JSON.parse(readFileSync(root + `dtb-${name}.json`, 'utf8'));
  return { argv: j.argv, dts: j.dts, dtb: Uint8Array.from(Buffer.from(j.dtb, 'base64')) };
}

/** `-device` options of a command line, as QemuOpts. */
export function devicesOf(argv: string[]): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  argv.forEach((a, i) => {
    if (a !== '-device') return;
    const [driver, ...rest] = argv[i + 1]!.split(',');
    const o: Record<string, string> = { driver: driver! };
    for (const kv of rest) o[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
    out.push(o);
  });
  return out;
}
