/** Shared by the AML tests: the recorded QEMU DSDT facts, our tables for the same machines, iasl. */
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPc, buildQ35, type Board } from './boards.js';
import { buildPciHotplugDsdt } from '../src/aml/index.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/qemu-7.2-linux/', import.meta.url));

export interface RecordedDsdt {
  bytes: number;
  excerpt: string[];
  aml: Record<string, string | string[]>;
}

export function recordedDsdt(scenario: 'pc' | 'q35' | 'pc-bridge'): RecordedDsdt {
  return JSON.parse(readFileSync(`${FIXTURES}acpiphp-${scenario}.json`, 'utf8')).dsdt;
}

/** The boards of the recorded scenarios (same -device options as the recorder's argv). */
export const BOARDS: Record<'pc' | 'q35' | 'pc-bridge', () => Board> = {
  pc: () => buildPc(),
  q35: () => buildQ35({ devices: [{ driver: 'pcie-root-port', id: 'rp1', chassis: 1, slot: 1 }] }),
  'pc-bridge': () => buildPc({ devices: [{ driver: 'pci-bridge', id: 'br1', chassis_nr: 1, addr: '3' }] }),
};

export function dsdtOf(b: Board): Uint8Array {
  return buildPciHotplugDsdt({ rootBus: b.root, ioBase: b.base, bridgeSupport: b.acpi.bridgeSupport, express: b.root.isExpress });
}

function pkgLength(buf: Uint8Array, i: number): [number, number] {
  const lead = buf[i]!;
  const n = lead >> 6;
  if (n === 0) return [lead & 0x3f, 1];
  let len = lead & 0x0f;
  for (let k = 1; k <= n; k++) len |= buf[i + k]! << (4 + 8 * (k - 1));
  return [len, n + 1];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The same object scan the recorder ran over QEMU's DSDT (record-acpiphp.mjs amlObjects). */
export function amlObjects(buf: Uint8Array): Record<string, string | string[]> {
  const want = new Set(['PCEJ', 'AIDX', 'PDSM', 'PCNT', 'DVNT', '_E01', '_OSC', 'PHPR', 'S00_', 'S08_', 'S10_', 'S18_', 'S28_', 'S30_']);
  const out: Record<string, string | string[]> = {};
  const text = Buffer.from(buf);
  for (let i = 36; i < buf.length - 6; i++) {
    let at = -1;
    if (buf[i] === 0x14) at = i + 1;
    else if (buf[i] === 0x5b && buf[i + 1] === 0x82) at = i + 2;
    if (at < 0) continue;
    const [len, used] = pkgLength(buf, at);
    const name = text.subarray(at + used, at + used + 4).toString('latin1');
    if (!want.has(name) || at + len > buf.length || !/^[A-Z_][A-Z0-9_]{3}$/.test(name)) continue;
    const h = hex(buf.subarray(i, at + len));
    const key = name.replace(/_+$/, '');
    if (key === 'PCNT' || key === 'DVNT') ((out[key] ??= []) as string[]).push(h);
    else out[key] ??= h;
  }
  const r = text.indexOf(Buffer.from([0x5b, 0x80, ...Buffer.from('PCST')]));
  const m = text.indexOf(Buffer.from('PCEJ'));
  if (r >= 0 && m > r) out.regions = hex(buf.subarray(r, text.lastIndexOf(0x14, m)));
  return out;
}

/** iasl on PATH (Debian acpica-tools), or undefined. */
export function iaslVersion(): string | undefined {
  const r = spawnSync('iasl', ['-v'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return (r.stdout.match(/version \S+/) ?? ['unknown'])[0];
}

/** `iasl -d` of a table: the .dsl text and iasl's console output. */
export function iaslDisassemble(table: Uint8Array): { dsl: string; output: string; status: number | null } {
  const dir = mkdtempSync(join(tmpdir(), 'pb-aml-'));
  try {
    writeFileSync(join(dir, 'dsdt.dat'), table);
    const r = spawnSync('iasl', ['-d', 'dsdt.dat'], { cwd: dir, encoding: 'utf8' });
    let dsl = '';
    try {
      dsl = readFileSync(join(dir, 'dsdt.dsl'), 'utf8');
    } catch {
      /* no output */
    }
    return { dsl, output: `${r.stdout}${r.stderr}`, status: r.status };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Block {
  head: string;
  body: Array<string | Block>;
}

/** DSL text (comments and blank lines dropped, whitespace trimmed) as a block tree. */
export function dslTree(text: string): Block {
  const root: Block = { head: '', body: [] };
  const stack = [root];
  for (const raw of text.split('\n')) {
    const l = raw.replace(/\/\/.*$/, '').trim();
    if (!l || l.startsWith('/*') || l.startsWith('*')) continue;
    const top = stack[stack.length - 1]!;
    if (l === '{') {
      const head = top.body.pop();
      const node: Block = { head: typeof head === 'string' ? head : '', body: [] };
      top.body.push(node);
      stack.push(node);
    } else if (/^\}\)?,?$/.test(l)) stack.pop();
    else top.body.push(l);
  }
  const def = root.body.find((c): c is Block => typeof c !== 'string' && c.head.startsWith('DefinitionBlock'));
  return def ?? root;
}

/** The block at `path` (heads, e.g. ['Scope (\\_SB)', 'Scope (PCI0)', 'Device (S28)']), flattened to lines. */
export function blockAt(tree: Block, path: string[]): string[] | undefined {
  // Scopes may be opened more than once (QEMU has two `Scope (_GPE)`): try every match.
  const find = (node: Block, rest: string[]): Block | undefined => {
    if (rest.length === 0) return node;
    for (const c of node.body) {
      if (typeof c === 'string' || c.head !== rest[0]) continue;
      const hit = find(c, rest.slice(1));
      if (hit) return hit;
    }
    return undefined;
  };
  const node = find(tree, path);
  if (!node) return undefined;
  const out: string[] = [];
  const walk = (b: Block) => {
    out.push(b.head);
    for (const c of b.body) typeof c === 'string' ? out.push(c) : walk(c);
    out.push('}');
  };
  walk(node);
  return out;
}
