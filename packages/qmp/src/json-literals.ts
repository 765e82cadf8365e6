// Conversion of single tokens to values, with QEMU's rules and error texts
// (qobject/json-parser.c parse_string(), parse_literal(), parse_keyword()).

import { CodepointBuilder, cStringToText, isValidCodepoint, modUtf8Codepoint } from './utf8.js';

/** A conversion failure; `message` is the text after "JSON parse error, ". */
export class LiteralError {
  constructor(readonly message: string) {}
}

/** QEMU formats parse errors into a fixed buffer (json-parser.c parse_error()). */
export const PARSE_ERROR_MESSAGE_MAX = 1023;

const BACKSLASH = 0x5c;
const ESCAPE_LENGTH = 6; // \uXXXX
const HEX_DIGITS = 4;
const HIGH_SURROGATE_FIRST = 0xd800;
const HIGH_SURROGATE_LAST = 0xdbff;
const LOW_SURROGATE_FIRST = 0xdc00;
const LOW_SURROGATE_LAST = 0xdfff;
const SURROGATE_PAYLOAD_BITS = 10;
const SURROGATE_PAYLOAD_MASK = 0x3ff;
const SUPPLEMENTARY_BASE = 0x10000;
const ASCII_LIMIT = 0x80;

const SIMPLE_ESCAPES: Record<number, number> = {
  0x22: 0x22, // \"
  0x27: 0x27, // \'  (QEMU extension)
  0x5c: 0x5c, // \\
  0x2f: 0x2f, // \/
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
};

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}

/** Four hex digits at `pos` (not past `end`), or -1. */
function fourHex(bytes: Uint8Array, pos: number, end: number): number {
  let cp = 0;
  for (let i = 0; i < HEX_DIGITS; i++) {
    const v = pos + i < end ? hexValue(bytes[pos + i]!) : -1;
    if (v < 0) return -1;
    cp = cp * 16 + v;
  }
  return cp;
}

/**
 * Decode a string token (with its quotes). Raw bytes must be valid modified
 * UTF-8; escapes are JSON's plus `\'`; `\u0000` and `\xC0\x80` give U+0000.
 */
export function decodeString(tok: Uint8Array): string | LiteralError {
  const end = tok.length - 1; // closing quote
  let simple = true;
  for (let i = 1; i < end; i++) {
    const b = tok[i]!;
    if (b === BACKSLASH || b >= ASCII_LIMIT) {
      simple = false;
      break;
    }
  }
  if (simple) return Buffer.from(tok.buffer, tok.byteOffset + 1, end - 1).toString('latin1');

  const out = new CodepointBuilder();
  const next = [0];
  let p = 1;
  while (p < end) {
    const b = tok[p]!;
    if (b !== BACKSLASH) {
      if (b < ASCII_LIMIT) {
        out.push(b);
        p++;
        continue;
      }
      const cp = modUtf8Codepoint(tok, p, tok.length, next);
      if (cp < 0) return new LiteralError('invalid UTF-8 sequence in string');
      out.push(cp);
      p = next[0]!;
      continue;
    }
    const begin = p;
    const kind = tok[p + 1]!; // the lexer guarantees a byte after a backslash
    p += 2;
    const simpleEscape = SIMPLE_ESCAPES[kind];
    if (simpleEscape !== undefined) {
      out.push(simpleEscape);
      continue;
    }
    if (kind !== 0x75 /* u */) return new LiteralError('invalid escape sequence in string');
    let cp = fourHex(tok, p, tok.length);
    p += HEX_DIGITS;
    if (cp >= HIGH_SURROGATE_FIRST && cp <= HIGH_SURROGATE_LAST && tok[p] === BACKSLASH && tok[p + 1] === 0x75) {
      const low = fourHex(tok, p + 2, tok.length);
      if (low >= LOW_SURROGATE_FIRST && low <= LOW_SURROGATE_LAST) {
        cp = SUPPLEMENTARY_BASE + ((cp & SURROGATE_PAYLOAD_MASK) << SURROGATE_PAYLOAD_BITS) + (low & SURROGATE_PAYLOAD_MASK);
        p += ESCAPE_LENGTH;
      } else {
        cp = -1;
      }
    }
    if (cp < 0 || !isValidCodepoint(cp)) {
      // QEMU echoes the escape as written (up to where it stopped reading),
      // cut at the token's end like a C string.
      const echo = cStringToText(tok, begin, Math.min(p, tok.length));
      return new LiteralError(`${echo} is not a valid Unicode character`);
    }
    out.push(cp);
  }
  return out.toString();
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
/** Digit strings this short always fit a double exactly. */
const SAFE_DIGITS = 15;

/**
 * An integer token becomes a number when it fits a double exactly, else a
 * bigint while it fits int64/uint64, else (like QEMU) a double.
 */
export function integerValue(text: string): number | bigint {
  const digits = text.charCodeAt(0) === 0x2d ? text.length - 1 : text.length;
  if (digits <= SAFE_DIGITS) {
    const n = Number(text);
    return n === 0 ? 0 : n; // "-0" is the integer 0
  }
  const big = BigInt(text);
  if (big >= INT64_MIN && big <= UINT64_MAX) {
    const n = Number(big);
    return Number.isSafeInteger(n) ? n : big;
  }
  return Number(text);
}

/** A float token: strtod() semantics (correctly rounded, overflow to infinity). */
export function floatValue(text: string): number {
  return Number(text);
}

export { INT64_MIN, INT64_MAX, UINT64_MAX };

/** Keywords: the lexer accepts [a-z]+, the parser only these three. */
export function keywordValue(text: string): boolean | null | LiteralError {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  return new LiteralError(`invalid keyword '${text}'`.slice(0, PARSE_ERROR_MESSAGE_MAX));
}
