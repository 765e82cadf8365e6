/**
 * A small AML encoder: the terms QEMU's PCI-hotplug DSDT uses, encoded as ACPI 6.4
 * chapter 20 (AML grammar) specifies. Each helper returns the bytes of one term; composite
 * terms take their children's bytes. Integer encoding follows QEMU's aml_int
 * (hw/acpi/aml-build.c): Zero/One ops for 0 and 1, else the smallest of Byte/Word/DWord/QWord
 * prefix, so our tables disassemble (and compare) like QEMU's.
 */

export type Aml = Uint8Array;

// ---- opcodes (ACPI 6.4 §20.3) ----------------------------------------------------------------
export const ZERO_OP = 0x00;
export const ONE_OP = 0x01;
export const NAME_OP = 0x08;
export const BYTE_PREFIX = 0x0a;
export const WORD_PREFIX = 0x0b;
export const DWORD_PREFIX = 0x0c;
export const STRING_PREFIX = 0x0d;
export const QWORD_PREFIX = 0x0e;
export const SCOPE_OP = 0x10;
export const BUFFER_OP = 0x11;
export const PACKAGE_OP = 0x12;
export const METHOD_OP = 0x14;
export const DUAL_NAME_PREFIX = 0x2e;
export const MULTI_NAME_PREFIX = 0x2f;
export const EXT_OP_PREFIX = 0x5b;
export const ROOT_CHAR = 0x5c;
export const PARENT_PREFIX_CHAR = 0x5e;
export const LOCAL0_OP = 0x60;
export const ARG0_OP = 0x68;
export const STORE_OP = 0x70;
export const SHIFT_LEFT_OP = 0x79;
export const AND_OP = 0x7b;
export const OR_OP = 0x7d;
export const NOTIFY_OP = 0x86;
export const INDEX_OP = 0x88;
export const CREATE_DWORD_FIELD_OP = 0x8a;
export const DEREF_OF_OP = 0x83;
export const LAND_OP = 0x90;
export const LOR_OP = 0x91;
export const LNOT_OP = 0x92;
export const LEQUAL_OP = 0x93;
export const LGREATER_OP = 0x94;
export const LLESS_OP = 0x95;
export const IF_OP = 0xa0;
export const ELSE_OP = 0xa1;
export const RETURN_OP = 0xa4;
// ExtOpPrefix (0x5b) second bytes
export const MUTEX_OP = 0x01;
export const ACQUIRE_OP = 0x23;
export const RELEASE_OP = 0x27;
export const OP_REGION_OP = 0x80;
export const FIELD_OP = 0x81;
export const DEVICE_OP = 0x82;

/** OperationRegion spaces (ACPI 6.4 §19.6.100). */
export const REGION_SYSTEM_MEMORY = 0x00;
export const REGION_SYSTEM_IO = 0x01;
export const REGION_PCI_CONFIG = 0x02;

/** FieldFlags: AccessType (bits 0-3), LockRule (bit 4), UpdateRule (bits 5-6). */
export const FIELD_ACCESS_BYTE = 1;
export const FIELD_ACCESS_WORD = 2;
export const FIELD_ACCESS_DWORD = 3;
export const FIELD_NO_LOCK = 0;
export const FIELD_LOCK = 0x10;
export const FIELD_PRESERVE = 0x00;
export const FIELD_WRITE_AS_ONES = 0x20;
export const FIELD_WRITE_AS_ZEROS = 0x40;

const NULL_NAME = 0x00;

export function concat(...parts: Aml[]): Aml {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const bytes = (...b: number[]): Aml => Uint8Array.from(b);

/**
 * PkgLength (§20.2.4): the length counts itself. One byte up to 63, else 2-4 bytes with the
 * low nibble in the lead byte.
 */
export function pkgLength(bodyLen: number): Aml {
  for (let n = 1; n <= 4; n++) {
    const total = bodyLen + n;
    if (n === 1 && total <= 0x3f) return bytes(total);
    if (n > 1 && total < 2 ** (4 + 8 * (n - 1))) {
      const out = [((n - 1) << 6) | (total & 0x0f)];
      for (let k = 1; k < n; k++) out.push((total >>> (4 + 8 * (k - 1))) & 0xff);
      return bytes(...out);
    }
  }
  throw new RangeError(`AML package too long (${bodyLen} bytes)`);
}

/** A NamedField's bit length: PkgLength encoding, but the value does not count its own bytes. */
function fieldLength(bits: number): Aml {
  if (bits < 0x40) return bytes(bits);
  const n = bits < 0x1000 ? 2 : bits < 0x100000 ? 3 : 4;
  const out = [((n - 1) << 6) | (bits & 0x0f)];
  for (let k = 1; k < n; k++) out.push((bits >>> (4 + 8 * (k - 1))) & 0xff);
  return bytes(...out);
}

/** A package-encoded term: opcode(s), PkgLength, body (one allocation, the parts copied once). */
function pkg(op: Aml, ...body: Aml[]): Aml {
  let bodyLen = 0;
  for (const p of body) bodyLen += p.length;
  const len = pkgLength(bodyLen);
  const out = new Uint8Array(op.length + len.length + bodyLen);
  out.set(op, 0);
  out.set(len, op.length);
  let at = op.length + len.length;
  for (const p of body) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const utf8 = new TextEncoder();

/**
 * Names already encoded, by their text. A DSDT repeats the same few names (BSEL, _ADR, PCEJ...)
 * in every slot: each is validated and encoded once. The cached bytes are shared, so they are
 * only ever copied into a term; the exported encoders hand out copies.
 */
const segCache = new Map<string, Aml>();
const nameCache = new Map<string, Aml>();

function segBytes(seg: string): Aml {
  let b = segCache.get(seg);
  if (!b) {
    if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(seg)) throw new RangeError(`bad AML NameSeg '${seg}'`);
    b = utf8.encode(seg.padEnd(4, '_'));
    segCache.set(seg, b);
  }
  return b;
}

/** NameSeg: 4 characters, padded with '_' (QEMU pads short names the same way). */
export function nameSeg(seg: string): Aml {
  return segBytes(seg).slice();
}

/** nameString's bytes, shared (see nameCache). */
function nameBytes(path: string): Aml {
  let b = nameCache.get(path);
  if (!b) {
    b = encodeNameString(path);
    nameCache.set(path, b);
  }
  return b;
}

/**
 * NameString (§20.2.2): `\` root prefix, `^` parent prefixes, then 1 seg, a DualNamePath or a
 * MultiNamePath of dot-separated segments.
 */
export function nameString(path: string): Aml {
  return nameBytes(path).slice();
}

function encodeNameString(path: string): Aml {
  let i = 0;
  const prefix: number[] = [];
  if (path.startsWith('\\')) {
    prefix.push(ROOT_CHAR);
    i = 1;
  }
  while (path[i] === '^') {
    prefix.push(PARENT_PREFIX_CHAR);
    i++;
  }
  const rest = path.slice(i);
  const segs = rest === '' ? [] : rest.split('.').map(segBytes);
  const head = bytes(...prefix);
  if (segs.length === 0) return concat(head, bytes(NULL_NAME));
  if (segs.length === 1) return concat(head, segs[0]!);
  if (segs.length === 2) return concat(head, bytes(DUAL_NAME_PREFIX), ...segs);
  return concat(head, bytes(MULTI_NAME_PREFIX, segs.length), ...segs);
}

/** An integer constant the way aml_int encodes it. */
export function int(v: number | bigint): Aml {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) {
    // The common case without BigInt: same encodings as below.
    if (v === 0) return bytes(ZERO_OP);
    if (v === 1) return bytes(ONE_OP);
    if (v <= 0xff) return bytes(BYTE_PREFIX, v);
    if (v <= 0xffff) return bytes(WORD_PREFIX, v & 0xff, v >>> 8);
    return bytes(DWORD_PREFIX, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  }
  const n = BigInt(v);
  if (n < 0n) throw new RangeError('AML integers are unsigned');
  if (n === 0n) return bytes(ZERO_OP);
  if (n === 1n) return bytes(ONE_OP);
  const le = (width: number) => Array.from({ length: width }, (_, k) => Number((n >> BigInt(8 * k)) & 0xffn));
  if (n <= 0xffn) return bytes(BYTE_PREFIX, ...le(1));
  if (n <= 0xffffn) return bytes(WORD_PREFIX, ...le(2));
  if (n <= 0xffffffffn) return bytes(DWORD_PREFIX, ...le(4));
  return bytes(QWORD_PREFIX, ...le(8));
}

/** String constant (ASCII, NUL-terminated). */
export function string(s: string): Aml {
  return concat(bytes(STRING_PREFIX), utf8.encode(s), bytes(0));
}

export const local = (n: number): Aml => bytes(LOCAL0_OP + n);
export const arg = (n: number): Aml => bytes(ARG0_OP + n);
/** A name reference used as a term (a data object or a field unit). */
export const ref = (path: string): Aml => nameString(path);

export const name = (n: string, value: Aml): Aml => concat(bytes(NAME_OP), nameBytes(n), value);
export const scope = (n: string, ...terms: Aml[]): Aml => pkg(bytes(SCOPE_OP), nameBytes(n), ...terms);
export const device = (n: string, ...terms: Aml[]): Aml => pkg(bytes(EXT_OP_PREFIX, DEVICE_OP), nameBytes(n), ...terms);

/** Method (§19.6.85): flags = ArgCount | SerializeFlag << 3 (sync level 0). */
export function method(n: string, argc: number, serialized: boolean, ...terms: Aml[]): Aml {
  return pkg(bytes(METHOD_OP), nameBytes(n), bytes((argc & 7) | (serialized ? 0x08 : 0)), ...terms);
}

export const mutex = (n: string, syncLevel = 0): Aml => concat(bytes(EXT_OP_PREFIX, MUTEX_OP), nameBytes(n), bytes(syncLevel));
export const acquire = (n: string, timeout = 0xffff): Aml =>
  concat(bytes(EXT_OP_PREFIX, ACQUIRE_OP), nameBytes(n), bytes(timeout & 0xff, timeout >> 8));
export const release = (n: string): Aml => concat(bytes(EXT_OP_PREFIX, RELEASE_OP), nameBytes(n));

export function opRegion(n: string, space: number, offset: number, length: number): Aml {
  return concat(bytes(EXT_OP_PREFIX, OP_REGION_OP), nameBytes(n), bytes(space), int(offset), int(length));
}

/** Field (§19.6.48) with named units of `bits` each, no reserved gaps. */
export function field(region: string, flags: number, units: Array<[string, number]>): Aml {
  const list = units.map(([n, bits]) => concat(segBytes(n), fieldLength(bits)));
  return pkg(bytes(EXT_OP_PREFIX, FIELD_OP), nameBytes(region), bytes(flags), ...list);
}

export const store = (src: Aml, dst: Aml): Aml => concat(bytes(STORE_OP), src, dst);
const target = (t?: Aml): Aml => t ?? bytes(NULL_NAME);
export const shiftLeft = (a: Aml, b: Aml, t?: Aml): Aml => concat(bytes(SHIFT_LEFT_OP), a, b, target(t));
export const and = (a: Aml, b: Aml, t?: Aml): Aml => concat(bytes(AND_OP), a, b, target(t));
export const or = (a: Aml, b: Aml, t?: Aml): Aml => concat(bytes(OR_OP), a, b, target(t));
export const lnot = (a: Aml): Aml => concat(bytes(LNOT_OP), a);
export const lequal = (a: Aml, b: Aml): Aml => concat(bytes(LEQUAL_OP), a, b);
export const lless = (a: Aml, b: Aml): Aml => concat(bytes(LLESS_OP), a, b);
export const lor = (a: Aml, b: Aml): Aml => concat(bytes(LOR_OP), a, b);
export const land = (a: Aml, b: Aml): Aml => concat(bytes(LAND_OP), a, b);
export const notify = (obj: Aml, value: Aml): Aml => concat(bytes(NOTIFY_OP), obj, value);
export const ret = (v: Aml): Aml => concat(bytes(RETURN_OP), v);
export const derefOf = (v: Aml): Aml => concat(bytes(DEREF_OF_OP), v);
export const index = (obj: Aml, idx: Aml, t?: Aml): Aml => concat(bytes(INDEX_OP), obj, idx, target(t));
export const call = (path: string, ...args: Aml[]): Aml => concat(nameBytes(path), ...args);
export const createDWordField = (buf: Aml, byteIndex: Aml, n: string): Aml =>
  concat(bytes(CREATE_DWORD_FIELD_OP), buf, byteIndex, nameBytes(n));

export const ifThen = (pred: Aml, ...terms: Aml[]): Aml => pkg(bytes(IF_OP), pred, ...terms);
export const orElse = (...terms: Aml[]): Aml => pkg(bytes(ELSE_OP), ...terms);

/** Buffer (§19.6.10) of `size` bytes initialised with `init`. */
export const buffer = (size: number, init: number[] = []): Aml => pkg(bytes(BUFFER_OP), int(size), bytes(...init));

/** Package (§19.6.101) with NumElements = `count` (elements may be fewer: uninitialised). */
export const packageOf = (count: number, ...elements: Aml[]): Aml => pkg(bytes(PACKAGE_OP), bytes(count), ...elements);

/**
 * ToUUID as a 16-byte Buffer (§19.6.142): the first three groups little endian, the last two
 * byte by byte, as aml_touuid builds it.
 */
export function toUUID(uuid: string): Aml {
  const h = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(h)) throw new RangeError(`bad UUID ${uuid}`);
  const b = (i: number) => parseInt(h.slice(2 * i, 2 * i + 2), 16);
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return buffer(16, order.map(b));
}

/** EisaId (§19.3.4): the compressed 32-bit PNP id, as an integer term. */
export function eisaId(id: string): Aml {
  const c = (i: number) => id.charCodeAt(i) - 0x40;
  const hex = parseInt(id.slice(3), 16);
  const v = ((c(0) << 26) | (c(1) << 21) | (c(2) << 16) | hex) >>> 0;
  // Stored big-endian-swapped, as every ACPI table does.
  const swapped = (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
  return int(swapped);
}
