/**
 * qdev properties: typed values parsed as QEMU parses them.
 *
 * QMP `device_add` and `-device` both go through QemuOpts in 7.2 (softmmu/qdev-monitor.c),
 * so every value reaches the property as a string: numbers as decimal, booleans as on/off.
 * The string is then parsed by the property's type with the string-input visitor's rules
 * (qapi/string-input-visitor.c, qapi/qapi-visit-core.c, hw/core/qdev-properties*.c).
 */
import { QemuError } from './errors.js';

export type PropValue = string | number | boolean | null | bigint;

/** A property type: its QOM type name (what qom-list / device-list-properties show) and codec. */
export interface PropKind<T = unknown> {
  readonly qomType: string;
  /** Parse a QemuOpts string. Throws ParseFailure with the user-facing reason. */
  parse(text: string, name: string): T;
  /** JSON value for qom-get / device-list-properties "default-value". */
  toJson(v: T): unknown;
  /** `info qtree` rendering. */
  print(v: T): string;
}

export interface PropertyDef<T = unknown> {
  name: string;
  kind: PropKind<T>;
  default?: T;
  description?: string;
  /** Shown by device-list-properties / -device X,help but settable only before realize. */
  readOnly?: boolean;
  /**
   * A child object created by the device itself (virtio-pci's `virtio-backend`): listed by
   * device-list-properties as `child<T>`, never settable, present in qom-list as the child.
   */
  child?: boolean;
}

/**
 * A failed parse; `message` is QEMU's full error text, unless `qdevForm` asks for qdev's
 * own wording (error_set_from_qdev_prop_error): "doesn't take value" or "can't find value".
 */
export class ParseFailure extends Error {
  constructor(message: string, readonly qdevForm?: 'doesnt-take' | 'cant-find') {
    super(message);
  }
}

const expects = (name: string, what: string) => new ParseFailure(`Parameter '${name}' expects ${what}`);

/** qapi/qapi-util.c qapi_bool_parse: on/yes/true/y and off/no/false/n. */
export function parseBoolText(text: string, name: string): boolean {
  switch (text) {
    case 'on': case 'yes': case 'true': case 'y':
      return true;
    case 'off': case 'no': case 'false': case 'n':
      return false;
    default:
      throw expects(name, "'on' or 'off'");
  }
}

/** util/cutils.c qemu_strtoi64 semantics: decimal, 0x hex, leading 0 octal, optional sign. */
export function parseIntText(text: string): bigint | undefined {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  const digits = m[2]!;
  let v: bigint;
  if (/^0[xX]/.test(digits)) v = BigInt(digits);
  else if (digits.length > 1 && digits.startsWith('0')) v = BigInt('0o' + digits.slice(1));
  else v = BigInt(digits);
  return m[1] === '-' ? -v : v;
}

export const boolProp: PropKind<boolean> = {
  qomType: 'bool',
  parse: parseBoolText,
  toJson: (v) => v,
  print: (v) => (v ? 'true' : 'false'),
};

function intKind(qomType: string, min: bigint, max: bigint, signed: boolean, hexPrint = false): PropKind<number> {
  const cType = qomType === 'size' ? 'size' : `${qomType}_t`;
  return {
    qomType,
    parse(text, name) {
      const v = parseIntText(text);
      if (v === undefined) throw expects(name, signed ? 'an int64 value or range' : 'a uint64 value or range');
      // Values outside 64 bits are rejected by the 64-bit parse before the range check.
      if (signed ? v < -(1n << 63n) || v >= 1n << 63n : v < -(1n << 63n) || v >= 1n << 64n) {
        throw expects(name, signed ? 'an int64 value or range' : 'a uint64 value or range');
      }
      const u = !signed && v < 0n ? v + (1n << 64n) : v; // the uint64 parse wraps negatives
      if (u < min || u > max) throw expects(name, cType);
      return Number(u);
    },
    toJson: (v) => v,
    print: (v) => (hexPrint ? `0x${v.toString(16)}` : String(v)),
  };
}

export const uint8Prop = intKind('uint8', 0n, 0xffn, false);
export const uint16Prop = intKind('uint16', 0n, 0xffffn, false);
export const uint32Prop = intKind('uint32', 0n, 0xffffffffn, false);
export const uint64Prop = intKind('uint64', 0n, (1n << 64n) - 1n, false);
export const int32Prop = intKind('int32', -(1n << 31n), (1n << 31n) - 1n, true);
export const int64Prop = intKind('int64', -(1n << 63n), (1n << 63n) - 1n, true);

/** Sizes accept suffixes k/M/G/T (util/cutils.c qemu_strtosz). */
export const sizeProp: PropKind<number> = {
  qomType: 'size',
  parse(text, name) {
    const m = /^\s*(\d+(?:\.\d+)?)([kKmMgGtTpPeE]?)[bB]?$/.exec(text);
    if (!m) throw expects(name, 'a size value');
    const mult: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50, e: 2 ** 60 };
    return Math.floor(Number(m[1]) * mult[m[2]!.toLowerCase()]!);
  },
  toJson: (v) => v,
  print: (v) => String(v),
};

/** Strings: a NULL string reads as "" through qom-get and prints as "" (qdev_prop_string). */
export const strProp: PropKind<string | null> = {
  qomType: 'str',
  parse: (text) => text,
  toJson: (v) => v ?? '',
  print: (v) => `"${v ?? ''}"`,
};

/** `mac=`: six colon-separated hex bytes (qdev_prop_macaddr). */
export const macaddrProp: PropKind<string | null> = {
  qomType: 'str',
  parse(text) {
    if (!/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(text)) throw new ParseFailure('mac', 'doesnt-take');
    return text.split(':').map((b) => b.padStart(2, '0').toLowerCase()).join(':');
  },
  toJson: (v) => v ?? '',
  print: (v) => `"${v ?? ''}"`,
};

/**
 * A reference to a host backend (`netdev=`, `drive=`, `chardev=`): Plugboard creates no
 * backends, so like QEMU without the matching -netdev/-drive any name is unknown.
 */
export function backendRefProp(qomType = 'str'): PropKind<string | null> {
  return {
    qomType,
    parse(text) {
      throw new ParseFailure(text, 'cant-find');
    },
    toJson: (v) => v ?? '',
    print: (v) => `"${v ?? ''}"`,
  };
}

/** A string-typed backend reference (netdev=, drive=, chardev=...). */
export function refProp(qomType: string): PropKind<string | null> {
  return { ...strProp, qomType };
}

/** QAPI enums such as OnOffAuto. */
export function enumProp(qomType: string, values: readonly string[]): PropKind<string> {
  return {
    qomType,
    parse(text, name) {
      if (!values.includes(text)) throw new ParseFailure(`Parameter '${name}' does not accept value '${text}'`);
      return text;
    },
    toJson: (v) => v,
    print: (v) => `"${v}"`,
  };
}

export const onOffAutoProp = enumProp('OnOffAuto', ['auto', 'on', 'off']);

/**
 * PCI `addr`: "SLOT[.FN]" in hex (slot <= 0x1f, fn <= 7) or an integer devfn -1..255.
 * Any failure gives qdev's "doesn't take value" text (hw/core/qdev-properties-system.c).
 */
export const pciDevfnProp: PropKind<number> = {
  qomType: 'int32',
  parse(text) {
    // scanf("%x.%x") semantics: optional sign and 0x prefix per number; a negative number
    // wraps to a huge unsigned value and so is out of range.
    const num = String.raw`\s*([+-]?)(?:0[xX])?([0-9a-fA-F]+)`;
    const m = new RegExp(`^${num}(?:\\.${num})?$`).exec(text);
    if (m) {
      const slot = parseInt(m[2]!, 16);
      const fn = m[4] === undefined ? 0 : parseInt(m[4], 16);
      const negative = (m[1] === '-' && slot !== 0) || (m[3] === '-' && fn !== 0);
      if (!negative && slot <= 0x1f && fn <= 7) return (slot << 3) | fn;
    }
    throw new ParseFailure('devfn', 'doesnt-take');
  },
  toJson: (v) => v,
  print: (v) => (v < 0 ? '<unset>' : `${(v >> 3).toString(16).padStart(2, '0')}.${v & 7}`),
};

export function linkProp(targetType: string): PropKind<string | null> {
  return { ...strProp, qomType: `link<${targetType}>` };
}

/**
 * Parses `value` for property `def` of type `typeName` with QEMU's error wording.
 * Values from QMP are first turned into QemuOpts strings.
 */
export function parsePropValue(typeName: string, def: PropertyDef, value: PropValue): unknown {
  const text = optsString(value);
  try {
    return def.kind.parse(text, def.name);
  } catch (e) {
    if (!(e instanceof ParseFailure)) throw e;
    if (e.qdevForm === 'doesnt-take') throw new QemuError(`Property '${typeName}.${def.name}' doesn't take value '${text}'`);
    if (e.qdevForm === 'cant-find') throw new QemuError(`Property '${typeName}.${def.name}' can't find value '${text}'`);
    throw new QemuError(e.message);
  }
}

/** qemu_opts_from_qdict: numbers become decimal text, booleans on/off. */
export function optsString(v: PropValue): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (v === null) return '';
  return String(v);
}
