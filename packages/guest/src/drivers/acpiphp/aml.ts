/**
 * The guest's AML interpreter (an ACPICA stand-in, drivers/acpi/acpica/ in Linux): loads a
 * DSDT into a namespace and runs its methods, so every port access of QEMU's hotplug methods
 * happens because the AML asks for it (guest-acpiphp.md §2). It covers the opcodes QEMU's
 * PCI-hotplug AML uses (ACPI 6.4 ch. 20); anything else is reported as unsupported.
 * Integers are 32-bit (table revision 1, as QEMU's x86 DSDT). Nothing here knows a device model:
 * SystemIO field accesses go to the GuestView.
 */
import type { GuestView } from '@plugboard/pci-core';

import { isLeadNameChar, nodePath, Reader, type AmlNode, type AmlNotify, type AmlValue } from './aml-reader.js';

export { nodePath, type AmlNode, type AmlNotify, type AmlValue } from './aml-reader.js';

const REGION_SYSTEM_IO = 0x01;
const FIELD_WRITE_AS_ONES = 0x20;
const FIELD_UPDATE_MASK = 0x60;
const MASK32 = 0xffffffff;

interface Frame {
  scope: AmlNode;
  args: AmlValue[];
  locals: AmlValue[];
  notifies: AmlNotify[];
  returned: boolean;
  ret: AmlValue;
}

/** A store target: how to write the value that was computed. */
type Target = { kind: 'none' } | { kind: 'local' | 'arg'; n: number } | { kind: 'node'; node: AmlNode } | { kind: 'index'; obj: AmlValue; i: number };

export class AmlInterpreter {
  readonly root: AmlNode = { seg: '\\', parent: undefined, children: new Map(), kind: 'scope' };

  constructor(readonly view: GuestView) {
    // The predefined root scopes (ACPI 6.4 §5.3.1; ACPICA acpi_gbl_pre_defined_names).
    for (const seg of ['_GPE', '_PR_', '_SB_', '_SI_', '_TZ_']) this.root.children.set(seg, { seg, parent: this.root, children: new Map(), kind: 'scope' });
  }

  /** Loads a table (DefinitionBlock): its 36-byte header is skipped. */
  load(table: Uint8Array): void {
    const r = new Reader(table, 36, table.length);
    this.loadTerms(r, this.root, table.length);
  }

  find(path: string, from: AmlNode = this.root): AmlNode | undefined {
    const root = path.startsWith('\\');
    const segs = path.replace(/^\\/, '').split('.').filter(Boolean).map((s) => s.padEnd(4, '_'));
    return this.resolve({ root, up: 0, segs }, from, false);
  }

  private resolve(n: { root: boolean; up: number; segs: string[] }, scope: AmlNode, search = true): AmlNode | undefined {
    let base: AmlNode | undefined = n.root ? this.root : scope;
    for (let i = 0; i < n.up; i++) base = base?.parent;
    if (!base) return undefined;
    const walk = (from: AmlNode) => n.segs.reduce<AmlNode | undefined>((x, s) => x?.children.get(s), from);
    if (n.root || n.up || n.segs.length !== 1 || !search) return walk(base);
    // A single segment is searched upward to the root (ACPI 6.4 §5.3).
    for (let s: AmlNode | undefined = base; s; s = s.parent) {
      const hit = s.children.get(n.segs[0]!);
      if (hit) return hit;
    }
    return undefined;
  }

  /** Creates (or reuses, for scopes) the node a definition names. */
  private define(n: { root: boolean; up: number; segs: string[] }, scope: AmlNode, kind: AmlNode['kind']): AmlNode {
    const parent = this.resolve({ ...n, segs: n.segs.slice(0, -1) }, scope, false);
    if (!parent) throw new Error(`AML: parent scope of ${n.segs.join('.')} not found`);
    const seg = n.segs[n.segs.length - 1]!;
    const existing = parent.children.get(seg);
    if (existing && (kind === 'scope' || existing.kind === kind)) return existing;
    const node: AmlNode = { seg, parent, children: new Map(), kind };
    parent.children.set(seg, node);
    return node;
  }

  private loadTerms(r: Reader, scope: AmlNode, end: number): void {
    while (r.pos < end) {
      const op = r.byte();
      if (op === 0x10) {
        const pe = r.pkgEnd();
        const node = this.resolve(r.nameString(), scope, false);
        if (!node) throw new Error('AML: Scope of an undefined object');
        this.loadTerms(r, node, pe);
      } else if (op === 0x14) {
        const pe = r.pkgEnd();
        const node = this.define(r.nameString(), scope, 'method');
        const flags = r.byte();
        node.method = { argc: flags & 7, serialized: (flags & 8) !== 0, code: r.b.subarray(r.pos, pe) };
        r.pos = pe;
      } else if (op === 0x08) {
        const node = this.define(r.nameString(), scope, 'name');
        node.value = this.evalTerm(r, this.frame(scope));
      } else if (op === 0x5b) {
        this.loadExt(r, scope);
      } else throw new Error(`AML: opcode 0x${op.toString(16)} not supported at load time`);
    }
  }

  private loadExt(r: Reader, scope: AmlNode): void {
    const op = r.byte();
    if (op === 0x82) {
      const pe = r.pkgEnd();
      const node = this.define(r.nameString(), scope, 'device');
      this.loadTerms(r, node, pe);
    } else if (op === 0x80) {
      const node = this.define(r.nameString(), scope, 'region');
      const space = r.byte();
      const f = this.frame(scope);
      node.region = { space, offset: this.int(this.evalTerm(r, f)), length: this.int(this.evalTerm(r, f)) };
    } else if (op === 0x81) {
      const pe = r.pkgEnd();
      const region = this.resolve(r.nameString(), scope);
      if (!region?.region) throw new Error('AML: Field of an unknown region');
      const flags = r.byte();
      let bit = 0;
      while (r.pos < pe) {
        if (r.peek() === 0x00) {
          r.pos++;
          bit += this.fieldLen(r);
          continue;
        }
        const node = this.define({ root: false, up: 0, segs: [r.seg()] }, scope, 'field');
        const len = this.fieldLen(r);
        node.field = { region, bitOffset: bit, bitLength: len, access: flags & 0x0f, update: flags & FIELD_UPDATE_MASK };
        bit += len;
      }
    } else if (op === 0x01) {
      this.define(r.nameString(), scope, 'mutex');
      r.byte();
    } else throw new Error(`AML: extended opcode 0x5b 0x${op.toString(16)} not supported at load time`);
  }

  private fieldLen(r: Reader): number {
    const lead = r.byte();
    const n = lead >> 6;
    let len = n === 0 ? lead & 0x3f : lead & 0x0f;
    for (let k = 1; k <= n; k++) len |= r.byte() << (4 + 8 * (k - 1));
    return len;
  }

  private frame(scope: AmlNode, args: AmlValue[] = []): Frame {
    return { scope, args, locals: new Array(8).fill(undefined), notifies: [], returned: false, ret: undefined };
  }

  // ---- execution --------------------------------------------------------------------------------

  /** Evaluates an object by path (`_ADR`, `\_SB.PCI0.S28._EJ0`): runs methods, reads names and fields. */
  evaluate(node: AmlNode, args: AmlValue[] = [], notifies: AmlNotify[] = []): AmlValue {
    if (node.kind === 'method') return this.invoke(node, args, notifies);
    if (node.kind === 'field') return this.readField(node);
    return node.value;
  }

  private invoke(node: AmlNode, args: AmlValue[], notifies: AmlNotify[]): AmlValue {
    const m = node.method!;
    const f = this.frame(node, args);
    f.notifies = notifies;
    this.execTerms(new Reader(m.code, 0, m.code.length), f, m.code.length);
    // Objects a method creates (CreateDWordField) live only while it runs.
    for (const [k, c] of [...node.children]) if (c.kind === 'bufferField') node.children.delete(k);
    return f.ret;
  }

  private execTerms(r: Reader, f: Frame, end: number): void {
    while (r.pos < end && !f.returned) {
      const op = r.peek();
      if (op === 0xa0) {
        r.pos++;
        const pe = r.pkgEnd();
        const pred = this.int(this.evalTerm(r, f));
        if (pred) this.execTerms(r, f, pe);
        r.pos = pe;
        if (r.pos < end && r.peek() === 0xa1) {
          r.pos++;
          const ee = r.pkgEnd();
          if (!pred && !f.returned) this.execTerms(r, f, ee);
          r.pos = ee;
        }
      } else if (op === 0xa4) {
        r.pos++;
        f.ret = this.evalTerm(r, f);
        f.returned = true;
      } else if (op === 0x86) {
        r.pos++;
        const node = this.resolve(r.nameString(), f.scope);
        const value = this.int(this.evalTerm(r, f));
        if (!node) throw new Error('AML: Notify on an unknown object');
        f.notifies.push({ node, value });
      } else if (op === 0x5b && (r.b[r.pos + 1] === 0x23 || r.b[r.pos + 1] === 0x27)) {
        // Acquire / Release: one CPU runs AML here, so the mutex never blocks (no I/O either).
        const acquire = r.b[r.pos + 1] === 0x23;
        r.pos += 2;
        r.nameString();
        if (acquire) r.pos += 2;
      } else if (op === 0x8a) {
        r.pos++;
        const buf = this.evalTerm(r, f);
        const at = this.int(this.evalTerm(r, f));
        const node = this.define(r.nameString(), f.scope, 'bufferField');
        if (!(buf instanceof Uint8Array)) throw new Error('AML: CreateDWordField on a non-buffer');
        node.bufferField = { buffer: buf, byteOffset: at };
      } else this.evalTerm(r, f);
    }
  }

  /** One TermArg / expression; statements with targets store their result too. */
  private evalTerm(r: Reader, f: Frame): AmlValue {
    const op = r.byte();
    switch (op) {
      case 0x00: return 0;
      case 0x01: return 1;
      case 0xff: return MASK32;
      case 0x0a: return r.byte();
      case 0x0b: return r.byte() | (r.byte() << 8);
      case 0x0c: return (r.byte() | (r.byte() << 8) | (r.byte() << 16) | (r.byte() << 24)) >>> 0;
      case 0x0d: {
        let s = '';
        for (let c = r.byte(); c !== 0; c = r.byte()) s += String.fromCharCode(c);
        return s;
      }
      case 0x11: {
        const pe = r.pkgEnd();
        const size = this.int(this.evalTerm(r, f));
        const buf = new Uint8Array(size);
        buf.set(r.b.subarray(r.pos, Math.min(pe, r.pos + size)));
        r.pos = pe;
        return buf;
      }
      case 0x12: {
        const pe = r.pkgEnd();
        const count = r.byte();
        const elems: AmlValue[] = new Array(count).fill(undefined);
        for (let i = 0; r.pos < pe; i++) {
          // Package elements that are names are references resolved now (their values).
          elems[i] = isLeadNameChar(r.peek()) ? this.readName(r, f) : this.evalTerm(r, f);
        }
        return elems;
      }
      case 0x70: {
        const v = this.evalTerm(r, f);
        this.store(this.target(r, f), v, f);
        return v;
      }
      case 0x79: case 0x7b: case 0x7d: {
        const a = this.int(this.evalTerm(r, f));
        const b = this.int(this.evalTerm(r, f));
        const v = (op === 0x79 ? (b >= 32 ? 0 : a << b) : op === 0x7b ? a & b : a | b) >>> 0;
        this.store(this.target(r, f), v, f);
        return v;
      }
      case 0x83: {
        const ref = this.evalTerm(r, f);
        return ref;
      }
      case 0x88: {
        const obj = this.evalTerm(r, f);
        const i = this.int(this.evalTerm(r, f));
        const t = this.target(r, f);
        const v = Array.isArray(obj) ? obj[i] : obj instanceof Uint8Array ? obj[i] : undefined;
        if (t.kind !== 'none') this.store(t, v, f);
        return v;
      }
      case 0x90: return this.int(this.evalTerm(r, f)) && this.int(this.evalTerm(r, f)) ? 1 : 0;
      case 0x91: {
        const a = this.int(this.evalTerm(r, f));
        const b = this.int(this.evalTerm(r, f));
        return a || b ? 1 : 0;
      }
      case 0x92: return this.int(this.evalTerm(r, f)) ? 0 : 1;
      case 0x93: return equal(this.evalTerm(r, f), this.evalTerm(r, f)) ? 1 : 0;
      case 0x95: return this.int(this.evalTerm(r, f)) < this.int(this.evalTerm(r, f)) ? 1 : 0;
      default:
        if (op >= 0x60 && op <= 0x67) return f.locals[op - 0x60];
        if (op >= 0x68 && op <= 0x6e) return f.args[op - 0x68];
        if (isLeadNameChar(op)) {
          r.pos--;
          return this.readName(r, f);
        }
        throw new Error(`AML: opcode 0x${op.toString(16)} not supported`);
    }
  }

  /** A name in an expression: method call (with its arguments), field read or data object. */
  private readName(r: Reader, f: Frame): AmlValue {
    const node = this.resolve(r.nameString(), f.scope);
    if (!node) throw new Error('AML: reference to an undefined name');
    if (node.kind === 'method') {
      const args = Array.from({ length: node.method!.argc }, () => this.evalTerm(r, f));
      return this.invoke(node, args, f.notifies);
    }
    if (node.kind === 'field') return this.readField(node);
    if (node.kind === 'bufferField') {
      const { buffer, byteOffset } = node.bufferField!;
      return new DataView(buffer.buffer, buffer.byteOffset).getUint32(byteOffset, true);
    }
    return node.value;
  }

  private target(r: Reader, f: Frame): Target {
    const op = r.peek();
    if (op === 0x00) {
      r.pos++;
      return { kind: 'none' };
    }
    if (op >= 0x60 && op <= 0x67) return (r.pos++, { kind: 'local', n: op - 0x60 });
    if (op >= 0x68 && op <= 0x6e) return (r.pos++, { kind: 'arg', n: op - 0x68 });
    if (op === 0x88) {
      r.pos++;
      const obj = this.evalTerm(r, f);
      const i = this.int(this.evalTerm(r, f));
      this.target(r, f);
      return { kind: 'index', obj, i };
    }
    const node = this.resolve(r.nameString(), f.scope);
    if (!node) throw new Error('AML: store to an undefined name');
    return { kind: 'node', node };
  }

  private store(t: Target, v: AmlValue, f: Frame): void {
    switch (t.kind) {
      case 'none': return;
      case 'local': f.locals[t.n] = v; return;
      case 'arg': f.args[t.n] = v; return;
      case 'index':
        if (Array.isArray(t.obj)) t.obj[t.i] = v;
        else if (t.obj instanceof Uint8Array) t.obj[t.i] = this.int(v) & 0xff;
        return;
      case 'node': {
        const n = t.node;
        if (n.kind === 'field') this.writeField(n, this.int(v));
        else if (n.kind === 'bufferField') new DataView(n.bufferField!.buffer.buffer, n.bufferField!.buffer.byteOffset).setUint32(n.bufferField!.byteOffset, this.int(v), true);
        else n.value = v;
      }
    }
  }

  private int(v: AmlValue): number {
    if (typeof v === 'number') return v >>> 0;
    if (v instanceof Uint8Array) return v.subarray(0, 4).reduce((a, b, i) => a | (b << (8 * i)), 0) >>> 0;
    if (v === undefined) throw new Error('AML: use of an uninitialised object');
    throw new Error('AML: integer expected');
  }

  // ---- operation regions ------------------------------------------------------------------------

  /** The access unit of a field: its width in bytes and the unit's port. */
  private unit(node: AmlNode): { port: number; width: 1 | 2 | 4; shift: number; mask: number } {
    const fd = node.field!;
    const reg = fd.region.region!;
    if (reg.space !== REGION_SYSTEM_IO) throw new Error(`AML: region space ${reg.space} not supported`);
    const width = (fd.access === 3 ? 4 : fd.access === 2 ? 2 : 1) as 1 | 2 | 4;
    const byte = Math.floor(fd.bitOffset / 8 / width) * width;
    const shift = fd.bitOffset - byte * 8;
    if (shift + fd.bitLength > width * 8) throw new Error('AML: field spans access units');
    const mask = fd.bitLength >= 32 ? MASK32 : ((1 << fd.bitLength) - 1) >>> 0;
    return { port: reg.offset + byte, width, shift, mask };
  }

  private readField(node: AmlNode): number {
    const u = this.unit(node);
    return ((this.view.ioRead(u.port, u.width) >>> u.shift) & u.mask) >>> 0;
  }

  /** WriteAsZeros / WriteAsOnes fill the rest of the unit; Preserve reads it first. */
  private writeField(node: AmlNode, v: number): void {
    const u = this.unit(node);
    const full = u.width === 4 ? MASK32 : (1 << (8 * u.width)) - 1;
    const fieldBits = (u.mask << u.shift) >>> 0;
    const update = node.field!.update;
    const rest = update === FIELD_WRITE_AS_ONES ? full : update === 0 && fieldBits !== full ? this.view.ioRead(u.port, u.width) : 0;
    this.view.ioWrite(u.port, (((rest & ~fieldBits) | ((v & u.mask) << u.shift)) & full) >>> 0, u.width);
  }
}

function equal(a: AmlValue, b: AmlValue): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}
