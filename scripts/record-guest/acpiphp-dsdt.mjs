// DSDT helpers for record-acpiphp.mjs: `iasl -d` of the table the guest dumped, pruned to
// QEMU's PCI-hotplug objects (the fixture's `dsdt.excerpt`), and the raw AML bytes of those
// objects (`dsdt.aml`) for byte-level comparisons. Dependency-free; needs iasl (acpica-tools).
import fs from 'node:fs';
import path from 'node:path';
import { run } from './lib.mjs';

/** Hotplug objects of QEMU's DSDT (hw/acpi/pcihp.c, hw/i386/acpi-build.c names). */
const HOTPLUG_WORDS = /PCNT|DVNT|PCEJ|AIDX|PDSM|BSEL|BNUM|PCIU|PCID|B0EJ|PIDX|BLCK|_EJ0|_SUN|ASUN|_E01|PHPR|_OSC|PCST|SEJ|BNMR/;

/** iasl -d output as a tree: {head, lines (own statements), kids} split on braces. */
function dslTree(lines) {
  const root = { head: null, body: [] };
  const stack = [root];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const t = l.trim();
    const top = stack[stack.length - 1];
    if (t === '{') {
      const prev = top.body.pop();
      const node = { head: prev, body: [] };
      top.body.push(node);
      stack.push(node);
    } else if (t === '}' || t === '})' || /^\}\)?\s*$/.test(t)) {
      stack.pop().close = l;
    } else top.body.push(l);
  }
  return root;
}

const mentions = (n) => (typeof n === 'string' ? HOTPLUG_WORDS.test(n) : HOTPLUG_WORDS.test(n.head ?? '') || n.body.some(mentions));
const isSlotDevice = (n) => typeof n !== 'string' && /Device \(S[0-9A-F]{2}\)/.test(n.head ?? '');

/**
 * Prunes the tree to the hotplug objects: Scope/Device blocks are descended into when they
 * mention a hotplug object or are slot devices `Sxx`; any other block (Method, Field, If...)
 * is kept whole when it mentions one. Nothing of the ISA/LNK/CPU/resource-template AML stays.
 */
function prune(n, inSlot) {
  const out = [];
  for (const c of n.body) {
    if (typeof c === 'string') {
      if (inSlot || HOTPLUG_WORDS.test(c)) out.push(c);
      continue;
    }
    const container = /^\s*(Scope|Device) \(/.test(c.head ?? '') && !/Device \(PHPR\)/.test(c.head);
    if (container) {
      if (mentions(c) || isSlotDevice(c)) out.push({ ...c, body: prune(c, isSlotDevice(c)) });
    } else if (mentions(c) || (inSlot && /^\s*Method \(/.test(c.head ?? ''))) out.push(c);
  }
  return out;
}

function flatten(nodes, out = []) {
  for (const n of nodes) {
    if (typeof n === 'string') { out.push(n); continue; }
    const indent = n.head.match(/^\s*/)[0];
    out.push(n.head, `${indent}{`);
    flatten(n.body, out);
    out.push(n.close ?? `${indent}}`);
  }
  return out;
}

/** AML PkgLength at `i`: [length, bytes used] (ACPI 6.4 §20.2.4). */
function pkgLength(buf, i) {
  const lead = buf[i];
  const n = lead >> 6;
  if (n === 0) return [lead & 0x3f, 1];
  let len = lead & 0x0f;
  for (let k = 1; k <= n; k++) len |= buf[i + k] << (4 + 8 * (k - 1));
  return [len, n + 1];
}

/**
 * Raw bytes of the DSDT's hotplug objects, by name (first occurrence; every PCNT and DVNT),
 * so tests can compare our AML byte for byte: MethodOp 0x14 / DeviceOp 0x5B 0x82, PkgLength, NameSeg.
 */
function amlObjects(buf) {
  const want = new Set(['PCEJ', 'AIDX', 'PDSM', 'PCNT', 'DVNT', '_E01', '_OSC', 'PHPR', 'S00_', 'S08_', 'S10_', 'S18_', 'S28_', 'S30_']);
  const out = {};
  for (let i = 36; i < buf.length - 6; i++) {
    let at = -1;
    if (buf[i] === 0x14) at = i + 1;
    else if (buf[i] === 0x5b && buf[i + 1] === 0x82) at = i + 2;
    if (at < 0) continue;
    const [len, used] = pkgLength(buf, at);
    const name = buf.subarray(at + used, at + used + 4).toString('latin1');
    if (!want.has(name) || at + len > buf.length || !/^[A-Z_][A-Z0-9_]{3}$/.test(name)) continue;
    const hex = buf.subarray(i, at + len).toString('hex');
    const key = name.replace(/_+$/, '');
    if (key === 'PCNT' || key === 'DVNT') (out[key] ??= []).push(hex);
    else out[key] ??= hex;
  }
  const r = buf.indexOf(Buffer.from([0x5b, 0x80, ...Buffer.from('PCST')]));
  const m = buf.indexOf(Buffer.from('PCEJ'));
  if (r >= 0 && m > r) out.regions = buf.subarray(r, buf.lastIndexOf(0x14, m)).toString('hex');
  return out;
}

/** Decompiles the DSDT and keeps the hotplug objects (pcihp regions and methods, slot devices, _E01, _OSC). */
export function dsdtExcerpt(hex, tmp) {
  const bin = path.join(tmp, 'dsdt.dat');
  fs.writeFileSync(bin, Buffer.from(hex, 'hex'));
  const r = run('iasl', ['-d', bin], { cwd: tmp });
  const dsl = path.join(tmp, 'dsdt.dsl');
  if (r.status !== 0 || !fs.existsSync(dsl)) return { error: `iasl -d failed: ${r.stderr || r.stdout}` };
  const lines = fs.readFileSync(dsl, 'utf8').split('\n').filter((l) => l.trim() !== '' && !/^\s*(\/\*|\*)/.test(l));
  const tree = dslTree(lines);
  return { bytes: hex.length / 2, excerpt: flatten(prune(tree, false)), aml: amlObjects(Buffer.from(hex, 'hex')) };
}

