// QEMU's JSON output format (qobject/json-writer.c + qobject/qjson.c):
// ", " between members, ": " after keys, members in QDict order, strings with
// everything outside printable ASCII as uppercase \uXXXX (surrogate pairs
// beyond the BMP), and floating point numbers as printf("%.17g").

import { qdictOrderShared } from './qdict-order.js';
import { isValidCodepoint, REPLACEMENT_CHARACTER } from './utf8.js';

const FIRST_PRINTABLE = 0x20;
const DEL = 0x7f;
const HEX_WIDTH = 4;
const SURROGATE_HIGH_FIRST = 0xd800;
const SURROGATE_HIGH_LAST = 0xdbff;
const SURROGATE_LOW_FIRST = 0xdc00;
const SURROGATE_LOW_LAST = 0xdfff;
const SUPPLEMENTARY_BASE = 0x10000;
const SURROGATE_PAYLOAD_BITS = 10;

const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
};

// Strings made only of these need no escaping at all.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

const hex4 = (v: number): string => v.toString(16).toUpperCase().padStart(HEX_WIDTH, '0');

/** A JSON string literal exactly as QEMU writes it. */
export function quoteQemuString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  let runStart = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= FIRST_PRINTABLE && c < DEL && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(runStart, i);
    const short = SHORT_ESCAPES[c];
    if (short !== undefined) {
      out += short;
    } else if (c >= SURROGATE_HIGH_FIRST && c <= SURROGATE_HIGH_LAST) {
      const low = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (low >= SURROGATE_LOW_FIRST && low <= SURROGATE_LOW_LAST) {
        const cp = SUPPLEMENTARY_BASE + ((c - SURROGATE_HIGH_FIRST) << SURROGATE_PAYLOAD_BITS) + (low - SURROGATE_LOW_FIRST);
        // Supplementary noncharacters (U+xFFFE/F) are invalid for QEMU too.
        out += isValidCodepoint(cp) ? `\\u${hex4(c)}\\u${hex4(low)}` : `\\u${hex4(REPLACEMENT_CHARACTER)}`;
        i++;
      } else {
        out += `\\u${hex4(REPLACEMENT_CHARACTER)}`; // lone surrogate: not valid UTF-8
      }
    } else if (c >= SURROGATE_LOW_FIRST && c <= SURROGATE_LOW_LAST) {
      out += `\\u${hex4(REPLACEMENT_CHARACTER)}`;
    } else {
      out += `\\u${hex4(isValidCodepoint(c) ? c : REPLACEMENT_CHARACTER)}`;
    }
    runStart = i + 1;
  }
  return out + s.slice(runStart) + '"';
}

const SIGNIFICANT_DIGITS = 17;
/** %g switches to exponent notation below this decimal exponent. */
const MIN_FIXED_EXPONENT = -4;
const MANTISSA_BITS = 52;
const EXPONENT_MASK = 0x7ff;
const EXPONENT_BIAS = 1075; // 1023 + 52
const MIN_EXPONENT_DIGITS = 2;

/** Exact decimal digits and exponent of a finite non-zero double (value = 0.d1d2... * 10^(exp+1)). */
function exactDecimal(x: number): { digits: string; exp: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> BigInt(MANTISSA_BITS)) & BigInt(EXPONENT_MASK));
  let mantissa = bits & ((1n << BigInt(MANTISSA_BITS)) - 1n);
  let e2: number;
  if (biased === 0) {
    e2 = 1 - EXPONENT_BIAS; // subnormal
  } else {
    mantissa |= 1n << BigInt(MANTISSA_BITS);
    e2 = biased - EXPONENT_BIAS;
  }
  // value = mantissa * 2^e2 = (mantissa * 5^-e2) / 10^-e2 when e2 < 0
  let digits: string;
  let pointShift: number;
  if (e2 >= 0) {
    digits = (mantissa << BigInt(e2)).toString();
    pointShift = 0;
  } else {
    digits = (mantissa * 5n ** BigInt(-e2)).toString();
    pointShift = -e2;
  }
  // value = digits * 10^-pointShift; first digit has exponent len-1-pointShift
  return { digits, exp: digits.length - 1 - pointShift };
}

/** printf("%.17g", x) as glibc prints it (exact value, round half to even). */
export function formatDouble(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  let { digits, exp } = exactDecimal(x);
  if (digits.length > SIGNIFICANT_DIGITS) {
    const keep = digits.slice(0, SIGNIFICANT_DIGITS);
    const rest = digits.slice(SIGNIFICANT_DIGITS);
    const first = rest.charCodeAt(0) - 0x30;
    const tail = /[1-9]/.test(rest.slice(1));
    const lastKept = keep.charCodeAt(SIGNIFICANT_DIGITS - 1) - 0x30;
    const roundUp = first > 5 || (first === 5 && (tail || lastKept % 2 === 1));
    let kept = BigInt(keep);
    if (roundUp) kept += 1n;
    digits = kept.toString();
    if (digits.length > SIGNIFICANT_DIGITS) {
      digits = digits.slice(0, SIGNIFICANT_DIGITS); // 99..9 rounded to 100..0
      exp++;
    }
  }
  digits = digits.replace(/0+$/, '') || '0';
  if (exp < MIN_FIXED_EXPONENT || exp >= SIGNIFICANT_DIGITS) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const eSign = exp < 0 ? '-' : '+';
    return `${sign}${mant}e${eSign}${String(Math.abs(exp)).padStart(MIN_EXPONENT_DIGITS, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/** A number as QEMU writes it: integers in decimal, everything else with %.17g. */
export function formatNumber(n: number): string {
  if (n >= 0 && n < SMALL_INTS.length && (n | 0) === n && !Object.is(n, -0)) return SMALL_INTS[n]!;
  if (Number.isSafeInteger(n) && !Object.is(n, -0)) return String(n);
  return formatDouble(n);
}

/** Decimal strings of the small integers replies are full of (BDFs, BAR numbers, IRQs...). */
const SMALL_INTS = Array.from({ length: 1024 }, (_, i) => String(i));

/** Per QDict order (qdictOrderShared's shared arrays): each member's `, "key": ` text. */
const memberPrefixes = new WeakMap<readonly string[], string[]>();

function prefixesOf(order: readonly string[]): string[] {
  let p = memberPrefixes.get(order);
  if (!p) {
    p = order.map((k, i) => (i ? ', ' : '') + quoteQemuString(k) + ': ');
    memberPrefixes.set(order, p);
  }
  return p;
}

function write(v: unknown, depth: number): string {
  switch (typeof v) {
    case 'string':
      return quoteQemuString(v);
    case 'number':
      return formatNumber(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return 'null';
    default:
      break;
  }
  if (v === null) return 'null';
  if (depth > MAX_WRITE_DEPTH) throw new RangeError('toQmpJson: value nested too deeply (cycle?)');
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ', ' : '') + write(v[i], depth + 1);
    return out + ']';
  }
  const obj = v as Record<string, unknown>;
  const order = qdictOrderShared(obj);
  const prefixes = prefixesOf(order);
  let out = '{';
  for (let i = 0; i < order.length; i++) out += prefixes[i]! + write(obj[order[i]!], depth + 1);
  return out + '}';
}

/** Refuses absurd depth instead of overflowing the stack (values from our parser stay ≤ 1024). */
const MAX_WRITE_DEPTH = 4096;

/**
 * Serialize like QEMU's qobject_to_json(): `{"a": [1, 2]}` spacing, QEMU's
 * string escaping and number format, object members in QDict order (insert
 * them in QAPI schema order). `undefined` members are omitted (absent
 * optional members); numbers that are safe integers print as integers, others
 * with %.17g; bigints print as integers.
 */
export function toQmpJson(value: unknown): string {
  return write(value, 0);
}
