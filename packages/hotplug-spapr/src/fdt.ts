/**
 * A flattened device tree: an in-memory node tree with libfdt's read-write insertion rules,
 * and the DTB (version 17) encoder and decoder (Devicetree Specification v0.4 ch. 5).
 *
 * QEMU builds every pseries tree with libfdt's read-write calls (fdt_setprop,
 * fdt_add_subnode). libfdt inserts a new property right after its node's name and a new
 * subnode right after its parent's properties (libfdt/fdt_rw.c), so both end up in reverse
 * call order in the blob. FdtNode keeps those rules, so a builder written in QEMU's call
 * order yields QEMU's order, which `dtc -I dtb -O dts` then prints.
 */

export interface FdtProp {
  name: string;
  value: Uint8Array;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

export class FdtNode {
  readonly props: FdtProp[] = [];
  readonly children: FdtNode[] = [];

  constructor(readonly name: string) {}

  /** fdt_setprop: an existing property keeps its place, a new one goes first. */
  setprop(name: string, value: Uint8Array): this {
    const p = this.props.find((x) => x.name === name);
    if (p) p.value = value;
    else this.props.unshift({ name, value });
    return this;
  }

  setpropCell(name: string, v: number): this {
    return this.setprop(name, cells(v));
  }

  setpropCells(name: string, vs: readonly number[]): this {
    return this.setprop(name, cells(...vs));
  }

  setpropU64(name: string, v: bigint): this {
    return this.setprop(name, u64s(v));
  }

  setpropString(name: string, s: string): this {
    return this.setprop(name, strings(s));
  }

  /** An empty (boolean) property. */
  setpropEmpty(name: string): this {
    return this.setprop(name, new Uint8Array(0));
  }

  /** fdt_add_subnode: the new node goes before the existing subnodes. */
  addSubnode(name: string): FdtNode {
    if (this.children.some((c) => c.name === name)) throw new Error(`FDT_ERR_EXISTS: ${name}`);
    const n = new FdtNode(name);
    this.children.unshift(n);
    return n;
  }

  /** Appends an already built node after the existing subnodes. */
  appendChild(n: FdtNode): FdtNode {
    this.children.push(n);
    return n;
  }

  getprop(name: string): Uint8Array | undefined {
    return this.props.find((p) => p.name === name)?.value;
  }

  child(name: string): FdtNode | undefined {
    return this.children.find((c) => c.name === name);
  }

  /** A node by `/a/b` path below this one. */
  find(path: string): FdtNode | undefined {
    let n: FdtNode | undefined = this;
    for (const part of path.split('/').filter(Boolean)) n = n?.child(part);
    return n;
  }
}

// ---- value encoders (big endian, as OF cells are) ----------------------------------------------

export function cells(...vs: number[]): Uint8Array {
  const b = new Uint8Array(vs.length * 4);
  const dv = new DataView(b.buffer);
  vs.forEach((v, i) => dv.setUint32(i * 4, v >>> 0));
  return b;
}

export function u64s(...vs: bigint[]): Uint8Array {
  const b = new Uint8Array(vs.length * 8);
  const dv = new DataView(b.buffer);
  vs.forEach((v, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, v)));
  return b;
}

/** NUL-terminated strings, concatenated (a stringlist). */
export function strings(...ss: string[]): Uint8Array {
  return concat(...ss.map((s) => concat(utf8.encode(s), new Uint8Array([0]))));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function readCell(v: Uint8Array, i = 0): number {
  return new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(i * 4);
}

export function readCells(v: Uint8Array): number[] {
  return Array.from({ length: v.length >> 2 }, (_, i) => readCell(v, i));
}

export function readStrings(v: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== 0) continue;
    out.push(utf8d.decode(v.subarray(start, i)));
    start = i + 1;
  }
  return out;
}

// ---- DTB -------------------------------------------------------------------------------------

export const FDT_MAGIC = 0xd00dfeed;
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;
const FDT_VERSION = 17;
const FDT_LAST_COMP_VERSION = 16;
const FDT_HEADER_SIZE = 40;
const FDT_RSVMAP_ENTRY_SIZE = 16;

const align4 = (n: number): number => (n + 3) & ~3;

/** Encodes a tree as a DTB: header, empty memory reservation map, structure, strings. */
export function encodeDtb(root: FdtNode, opts: { bootCpuidPhys?: number } = {}): Uint8Array {
  const strOffsets = new Map<string, number>();
  const strParts: Uint8Array[] = [];
  let strSize = 0;
  const nameOff = (name: string): number => {
    let off = strOffsets.get(name);
    if (off === undefined) {
      off = strSize;
      strOffsets.set(name, off);
      const bytes = strings(name);
      strParts.push(bytes);
      strSize += bytes.length;
    }
    return off;
  };
  const words: Uint8Array[] = [];
  const emit = (node: FdtNode): void => {
    const name = utf8.encode(node.name);
    const nb = new Uint8Array(4 + align4(name.length + 1));
    new DataView(nb.buffer).setUint32(0, FDT_BEGIN_NODE);
    nb.set(name, 4);
    words.push(nb);
    for (const p of node.props) {
      const pb = new Uint8Array(12 + align4(p.value.length));
      const dv = new DataView(pb.buffer);
      dv.setUint32(0, FDT_PROP);
      dv.setUint32(4, p.value.length);
      dv.setUint32(8, nameOff(p.name));
      pb.set(p.value, 12);
      words.push(pb);
    }
    for (const c of node.children) emit(c);
    words.push(cells(FDT_END_NODE));
  };
  emit(root);
  words.push(cells(FDT_END));
  const struct = concat(...words);
  const strs = concat(...strParts);
  const offRsv = FDT_HEADER_SIZE;
  const offStruct = offRsv + FDT_RSVMAP_ENTRY_SIZE;
  const offStrings = offStruct + struct.length;
  const total = offStrings + strs.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  [FDT_MAGIC, total, offStruct, offStrings, offRsv, FDT_VERSION, FDT_LAST_COMP_VERSION, opts.bootCpuidPhys ?? 0, strs.length, struct.length].forEach(
    (v, i) => dv.setUint32(i * 4, v >>> 0),
  );
  out.set(struct, offStruct);
  out.set(strs, offStrings);
  return out;
}

/** Decodes a DTB into a tree (for tests and tools). */
export function decodeDtb(blob: Uint8Array): FdtNode {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (dv.getUint32(0) !== FDT_MAGIC) throw new Error('not a DTB (bad magic)');
  const offStruct = dv.getUint32(8);
  const offStrings = dv.getUint32(12);
  const cstr = (at: number): { s: string; end: number } => {
    let e = at;
    while (blob[e] !== 0) e++;
    return { s: utf8d.decode(blob.subarray(at, e)), end: e + 1 };
  };
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  let off = offStruct;
  for (;;) {
    const tag = dv.getUint32(off);
    off += 4;
    if (tag === FDT_BEGIN_NODE) {
      const { s, end } = cstr(off);
      off = align4(end);
      const n = new FdtNode(s);
      if (stack.length) stack[stack.length - 1]!.appendChild(n);
      else root = n;
      stack.push(n);
    } else if (tag === FDT_PROP) {
      const len = dv.getUint32(off);
      const name = cstr(offStrings + dv.getUint32(off + 4)).s;
      stack[stack.length - 1]!.props.push({ name, value: blob.slice(off + 8, off + 8 + len) });
      off = align4(off + 8 + len);
    } else if (tag === FDT_END_NODE) {
      stack.pop();
    } else if (tag === FDT_END) {
      break;
    } else if (tag !== FDT_NOP) {
      throw new Error(`bad FDT tag ${tag} at ${off - 4}`);
    }
  }
  if (!root) throw new Error('empty DTB');
  return root;
}

/** A flat token stream over a subtree, as fdt_next_tag walks it (configure-connector's cursor). */
export type FdtToken = { tag: 'begin'; node: FdtNode } | { tag: 'prop'; prop: FdtProp } | { tag: 'end' };

export function flatten(node: FdtNode, out: FdtToken[] = []): FdtToken[] {
  out.push({ tag: 'begin', node });
  for (const prop of node.props) out.push({ tag: 'prop', prop });
  for (const c of node.children) flatten(c, out);
  out.push({ tag: 'end' });
  return out;
}
