// QEMU's "modified UTF-8" rules (util/unicode.c): what QEMU accepts in JSON
// strings and how its JSON writer reads back the bytes of a C string. Both the
// parser (invalid input -> error) and the error texts that echo raw input bytes
// (invalid sequences -> U+FFFD on output) depend on these exact rules.

/** Largest Unicode scalar value. */
export const MAX_CODEPOINT = 0x10ffff;
const SURROGATE_FIRST = 0xd800;
const SURROGATE_LAST = 0xdfff;
const NONCHAR_BLOCK_FIRST = 0xfdd0;
const NONCHAR_BLOCK_LAST = 0xfdef;
const NONCHAR_PLANE_TAIL_MASK = 0xfffe;
export const REPLACEMENT_CHARACTER = 0xfffd;

const ASCII_LIMIT = 0x80;
const CONTINUATION_MASK = 0xc0;
const CONTINUATION_TAG = 0x80;
const PAYLOAD_BITS = 6;
const PAYLOAD_MASK = 0x3f;
const SECOND_TOP_BIT = 0x40;
/** 0xFE and 0xFF can never start a sequence. */
const FIRST_IMPOSSIBLE_BYTE = 0xfe;
/** Like QEMU, look at most this many bytes for one sequence. */
const MAX_SEQUENCE = 6;
/** Smallest code point that needs a sequence of length 2, 3, 4, 5, 6 (overlong check). */
const MIN_CODEPOINT_FOR_LENGTH = [0x80, 0x800, 0x10000, 0x200000, 0x4000000];

/** QEMU's is_valid_codepoint(): no surrogates, no noncharacters, within Unicode. */
export function isValidCodepoint(cp: number): boolean {
  if (cp > MAX_CODEPOINT) return false;
  if ((cp >= NONCHAR_BLOCK_FIRST && cp <= NONCHAR_BLOCK_LAST) || (cp & NONCHAR_PLANE_TAIL_MASK) === NONCHAR_PLANE_TAIL_MASK) {
    return false;
  }
  return !(cp >= SURROGATE_FIRST && cp <= SURROGATE_LAST);
}

/**
 * Decode one sequence at bytes[pos] the way util/unicode.c mod_utf8_codepoint()
 * does, treating `end` like the terminating NUL of a C string.
 * Returns the code point (-1 if invalid) and writes the next position to out[0].
 * `\xC0\x80` decodes to U+0000 (modified UTF-8's NUL).
 */
export function modUtf8Codepoint(bytes: Uint8Array, pos: number, end: number, out: number[]): number {
  let p = pos;
  const lead = bytes[p++]!;
  let cp: number;
  if (lead < ASCII_LIMIT) {
    cp = lead;
  } else if (lead >= FIRST_IMPOSSIBLE_BYTE || (lead & SECOND_TOP_BIT) === 0) {
    cp = -1; // impossible byte or stray continuation byte
  } else {
    let len = 0;
    let mask = ASCII_LIMIT;
    for (; lead & mask; mask >>= 1) len++;
    cp = lead & (mask - 1);
    for (let i = 1; i < len; i++) {
      const b = i < MAX_SEQUENCE && p < end ? bytes[p]! : 0;
      if ((b & CONTINUATION_MASK) !== CONTINUATION_TAG) {
        out[0] = p; // the offending byte is not consumed
        return -1;
      }
      p++;
      cp = cp * (1 << PAYLOAD_BITS) + (b & PAYLOAD_MASK);
    }
    if (!isValidCodepoint(cp)) cp = -1;
    else if (cp < MIN_CODEPOINT_FOR_LENGTH[len - 2]! && !(cp === 0 && len === 2)) cp = -1; // overlong
  }
  out[0] = p;
  return cp;
}

const CHUNK_CODE_UNITS = 4096;
const BMP_LIMIT = 0x10000;
const SURROGATE_SHIFT = 10;
const LOW_SURROGATE_MASK = 0x3ff;
const LOW_SURROGATE_FIRST = 0xdc00;

/** Collects code points into a JS string without one huge argument list. */
export class CodepointBuilder {
  private units: number[] = [];
  private parts: string[] = [];

  push(cp: number): void {
    if (cp < BMP_LIMIT) {
      this.units.push(cp);
    } else {
      const v = cp - BMP_LIMIT;
      this.units.push(SURROGATE_FIRST + (v >> SURROGATE_SHIFT), LOW_SURROGATE_FIRST + (v & LOW_SURROGATE_MASK));
    }
    if (this.units.length >= CHUNK_CODE_UNITS) this.flush();
  }

  pushAscii(bytes: Uint8Array, start: number, end: number): void {
    for (let i = start; i < end; i++) this.push(bytes[i]!);
  }

  private flush(): void {
    this.parts.push(String.fromCharCode.apply(null, this.units));
    this.units = [];
  }

  toString(): string {
    if (this.units.length) this.flush();
    return this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
  }
}

/**
 * The text QEMU's JSON writer produces from the bytes of a C string that may
 * hold invalid UTF-8 (error messages echo raw input): the bytes end at the
 * first NUL, every invalid sequence becomes U+FFFD, `\xC0\x80` is U+0000.
 * (qobject/json-writer.c quoted_str() + util/unicode.c)
 */
export function cStringToText(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const nul = bytes.indexOf(0, start);
  if (nul >= 0 && nul < end) end = nul;
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= ASCII_LIMIT) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
  const b = new CodepointBuilder();
  const next = [0];
  for (let p = start; p < end; ) {
    const cp = modUtf8Codepoint(bytes, p, end, next);
    b.push(cp < 0 ? REPLACEMENT_CHARACTER : cp);
    p = next[0]!;
  }
  return b.toString();
}

/** UTF-8 bytes of a JS string as QEMU holds it: U+0000 as `\xC0\x80`, lone surrogates as U+FFFD. */
export function qemuStringBytes(s: string): Uint8Array {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c >= ASCII_LIMIT) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(s, 'latin1');
  // Buffer's encoder already turns lone surrogates into U+FFFD; only NUL differs.
  const raw = Buffer.from(s, 'utf8');
  let nuls = 0;
  for (const b of raw) if (b === 0) nuls++;
  if (!nuls) return raw;
  const out = Buffer.alloc(raw.length + nuls);
  let o = 0;
  for (const b of raw) {
    if (b === 0) {
      out[o++] = 0xc0;
      out[o++] = 0x80;
    } else {
      out[o++] = b;
    }
  }
  return out;
}
