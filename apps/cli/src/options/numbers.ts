/**
 * Number parsing with the semantics of QEMU's util/cutils.c (qemu_strtou64,
 * qemu_strtoi64, qemu_strtosz), which wrap C's strtoull/strtoll: leading
 * whitespace and a sign are accepted, base 0 means 0x-hex / 0-octal / decimal,
 * negative numbers wrap for the unsigned variant, trailing characters are an
 * error. Values are bigint because QEMU's are 64-bit.
 */

export type NumError = 'EINVAL' | 'ERANGE';

export type NumResult = { ok: true; value: bigint } | { ok: false; error: NumError };

const U64 = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);

function isCSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

function digitValue(c: string | undefined): number {
  if (c === undefined) return 99;
  const code = c.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 122) return code - 87;
  if (code >= 65 && code <= 90) return code - 55;
  return 99;
}

interface Scan {
  /** Magnitude (unbounded), sign applied separately. */
  magnitude: bigint;
  negative: boolean;
  /** Index after the last consumed character; 0 when nothing converted. */
  end: number;
}

/** C strtoull/strtoll scanning: returns where conversion stopped. */
function scanInteger(s: string, base: number): Scan {
  let i = 0;
  while (isCSpace(s[i])) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') {
    negative = s[i] === '-';
    i++;
  }
  let b = base;
  if ((b === 0 || b === 16) && s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && digitValue(s[i + 2]) < 16) {
    i += 2;
    b = 16;
  } else if (b === 0) {
    b = s[i] === '0' ? 8 : 10;
  }
  const start = i;
  let magnitude = 0n;
  while (digitValue(s[i]) < b) {
    magnitude = magnitude * BigInt(b) + BigInt(digitValue(s[i]));
    i++;
  }
  if (i === start) return { magnitude: 0n, negative: false, end: 0 };
  return { magnitude, negative, end: i };
}

/** qemu_strtou64 with endptr: the value, and where parsing stopped. */
export function strtou64Prefix(s: string, base: number): { value: bigint; end: number; error?: NumError } {
  const r = scanInteger(s, base);
  if (r.end === 0) return { value: 0n, end: 0, error: 'EINVAL' };
  if (r.magnitude > U64) return { value: U64, end: r.end, error: 'ERANGE' };
  // strtoull negates in unsigned arithmetic: "-1" is 2^64-1.
  const value = r.negative ? (-r.magnitude) & U64 : r.magnitude;
  return { value, end: r.end };
}

/** qemu_strtou64(s, NULL, base): the whole string must be a number. */
export function qemuStrtou64(s: string, base = 0): NumResult {
  const r = strtou64Prefix(s, base);
  if (r.error === 'EINVAL' || r.end < s.length) return { ok: false, error: 'EINVAL' };
  if (r.error) return { ok: false, error: r.error };
  return { ok: true, value: r.value };
}

/** qemu_strtoi64(s, NULL, base). */
export function qemuStrtoi64(s: string, base = 0): NumResult {
  const r = scanInteger(s, base);
  if (r.end === 0 || r.end < s.length) return { ok: false, error: 'EINVAL' };
  const v = r.negative ? -r.magnitude : r.magnitude;
  if (v > I64_MAX || v < I64_MIN) return { ok: false, error: 'ERANGE' };
  return { ok: true, value: v };
}

const SUFFIX_SHIFT: Record<string, bigint> = { B: 0n, K: 10n, M: 20n, G: 30n, T: 40n, P: 50n, E: 60n };

function suffixMul(c: string | undefined): bigint | undefined {
  if (c === undefined) return undefined;
  const shift = SUFFIX_SHIFT[c.toUpperCase()];
  return shift === undefined ? undefined : 1n << shift;
}

export type SizeResult =
  | { ok: true; value: bigint; hexSuffix: boolean }
  | { ok: false; error: NumError; hexSuffix: boolean };

/**
 * qemu_strtosz(s, NULL, ...) as QEMU 7.2 behaves: decimal integral part, an
 * optional fraction that needs a unit suffix ("1.5G"; "1.k" is fine, an
 * exponent is not), hex only as "0x..." without fraction (a suffix after hex
 * is accepted but deprecated), suffixes B K M G T P E in either case, the
 * result exact with 0.5 rounded up. Overflow is ERANGE, but an overflowing
 * number followed by more characters is EINVAL (QEMU checks the rest last).
 */
export function qemuStrtosz(s: string, defaultSuffix = 'B'): SizeResult {
  let hexSuffix = false;
  const bad = (error: NumError): SizeResult => ({ ok: false, error, hexSuffix });
  const finish = (end: number, error: NumError | undefined, value: bigint): SizeResult => {
    if (end < s.length) return bad('EINVAL');
    if (error) return bad(error);
    return { ok: true, value, hexSuffix };
  };

  const dec = strtou64Prefix(s, 10);
  if (dec.error === 'EINVAL') return bad('EINVAL');
  if (dec.error === 'ERANGE') return finish(dec.end, 'ERANGE', 0n);
  if (s.slice(0, dec.end).includes('-')) return bad('EINVAL');
  let val = dec.value;
  let end = dec.end;
  let valf = 0n;
  let hex = false;
  if (val === 0n && (s[end] === 'x' || s[end] === 'X')) {
    const h = strtou64Prefix(s, 16);
    if (h.error) return finish(h.end, h.error, 0n);
    if (s[h.end] === '.') return bad('EINVAL');
    val = h.value;
    end = h.end;
    hex = true;
  } else if (s[end] === '.') {
    // strtod on ".digits[exponent]"; no digits means "skip the dot".
    const m = /^\.(\d+)([eE][+-]?\d+)?/.exec(s.slice(end));
    if (!m) {
      end += 1;
    } else if (m[2] !== undefined) {
      return bad('EINVAL');
    } else {
      const scaled = Math.trunc(Number(`0.${m[1]}`) * 2 ** 64);
      // A fraction that rounds to 1.0 overflows C's uint64_t cast to 0 on x86-64.
      valf = scaled >= 2 ** 64 ? 0n : BigInt(scaled);
      end += m[0].length;
    }
  }
  let mul = suffixMul(s[end]);
  if (mul !== undefined) {
    if (hex) hexSuffix = true;
    end += 1;
  } else {
    mul = suffixMul(defaultSuffix) ?? 1n;
  }
  if (mul === 1n) {
    if (valf !== 0n) return bad('EINVAL');
    return finish(end, undefined, val);
  }
  const frac = valf * mul;
  let total = val * mul + (frac >> 64n);
  total += (frac >> 63n) & 1n; // round 0.5 upward
  if (total > U64) return finish(end, 'ERANGE', 0n);
  return finish(end, undefined, total);
}

/** QAPI/QemuOpts boolean spellings (qapi/qapi-util.c qapi_bool_parse). */
export function parseQemuBool(s: string): boolean | undefined {
  if (s === 'on' || s === 'yes' || s === 'true' || s === 'y') return true;
  if (s === 'off' || s === 'no' || s === 'false' || s === 'n') return false;
  return undefined;
}

/** Lower-case hex without padding, as printf's %lx. */
export function hex(v: bigint): string {
  return v.toString(16);
}
