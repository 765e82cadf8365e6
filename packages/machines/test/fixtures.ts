import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../fixtures/qemu-7.2/', import.meta.url));

export interface Exchange {
  send: unknown;
  replies: Array<Record<string, unknown>>;
  raw: string[];
  events: unknown[];
}

export function loadFixture(name: string): { argv: string[]; exchanges: Exchange[] } {
  return JSON.parse(readFileSync(root + name + '.json', 'utf8'));
}

/** The first reply QEMU gave to `execute` (with matching arguments when given). */
export function replyTo(name: string, execute: string, args?: Record<string, unknown>): Record<string, unknown> {
  const f = loadFixture(name);
  const ex = f.exchanges.find((e) => {
    const s = e.send as { execute?: string; arguments?: Record<string, unknown> } | undefined;
    return typeof s === 'object' && s?.execute === execute && (args === undefined || JSON.stringify(s.arguments ?? {}) === JSON.stringify(args));
  });
  if (!ex) throw new Error(`fixture ${name} has no ${execute} ${JSON.stringify(args ?? {})}`);
  return ex.replies[0]!;
}

/** `-device` arguments of a fixture's command line, parsed as QemuOpts. */
export function fixtureDevices(name: string): Array<{ opts: Record<string, unknown> }> {
  const argv = loadFixture(name).argv;
  const out: Array<{ opts: Record<string, unknown> }> = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '-device') continue;
    const [driver, ...rest] = argv[i + 1]!.split(',');
    const opts: Record<string, unknown> = { driver };
    for (const kv of rest) {
      const eq = kv.indexOf('=');
      opts[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    out.push({ opts });
  }
  return out;
}
