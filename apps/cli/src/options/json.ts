/**
 * JSON as QEMU 7.2 reads `-device {...}` (qobject/json-lexer.c, json-streamer.c,
 * json-parser.c, qobject_from_json): single-quoted strings are allowed, keywords
 * are lower-case words, lexical errors win over grammar errors and are reported
 * as "stray" with the text up to and including the offending character, and a
 * second value after the first is "Expecting at most one JSON value".
 * Integers outside the safe range stay exact as bigint.
 */

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export class JsonError extends Error {}

type Tok =
  | { t: 'punct'; v: '{' | '}' | '[' | ']' | ':' | ',' }
  | { t: 'string'; raw: string; quote: string }
  | { t: 'number'; raw: string }
  | { t: 'keyword'; raw: string }
  | { t: 'error'; raw: string };

const WS = new Set([' ', '\t', '\r', '\n']);

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Lexes one token at i; returns it and the next position (or undefined at end). */
function lexOne(s: string, i: number): [Tok, number] | undefined {
  while (i < s.length && WS.has(s[i]!)) i++;
  if (i >= s.length) return undefined;
  const c = s[i]!;
  if ('{}[]:,'.includes(c)) return [{ t: 'punct', v: c as '{' }, i + 1];
  if (c === '"' || c === "'") {
    let j = i + 1;
    while (j < s.length) {
      const d = s[j]!;
      if (d === c) return [{ t: 'string', raw: s.slice(i + 1, j), quote: c }, j + 1];
      if (d.charCodeAt(0) < 0x20) return [{ t: 'error', raw: s.slice(i, j + 1) }, j + 1];
      j += d === '\\' ? 2 : 1;
    }
    return [{ t: 'error', raw: s.slice(i) }, s.length];
  }
  if (c >= 'a' && c <= 'z') {
    let j = i;
    while (j < s.length && s[j]! >= 'a' && s[j]! <= 'z') j++;
    return [{ t: 'keyword', raw: s.slice(i, j) }, j];
  }
  if (c === '-' || isDigit(c)) {
    let j = i;
    const bad = (): [Tok, number] => [{ t: 'error', raw: s.slice(i, Math.min(j + 1, s.length)) }, j + 1];
    if (s[j] === '-') j++;
    if (s[j] === '0') {
      j++;
      if (isDigit(s[j])) return bad();
    } else if (isDigit(s[j])) {
      while (isDigit(s[j])) j++;
    } else {
      return bad();
    }
    if (s[j] === '.') {
      j++;
      if (!isDigit(s[j])) return bad();
      while (isDigit(s[j])) j++;
    }
    if (s[j] === 'e' || s[j] === 'E') {
      j++;
      if (s[j] === '+' || s[j] === '-') j++;
      if (!isDigit(s[j])) return bad();
      while (isDigit(s[j])) j++;
    }
    return [{ t: 'number', raw: s.slice(i, j) }, j];
  }
  return [{ t: 'error', raw: c }, i + 1];
}

function decodeString(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = raw[++i];
    const simple: Record<string, string> = { '"': '"', "'": "'", '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
    if (e !== undefined && e in simple) {
      out += simple[e];
      continue;
    }
    if (e !== 'u') throw new JsonError('invalid escape sequence in string');
    const readU = (at: number): number | undefined => {
      const h = raw.slice(at, at + 4);
      return /^[0-9a-fA-F]{4}$/.test(h) ? parseInt(h, 16) : undefined;
    };
    // QEMU quotes the four characters after \u (the closing quote included).
    const shown = `\\u${(raw + '"').slice(i + 1, i + 5)}`;
    const cp = readU(i + 1);
    if (cp === undefined || (cp >= 0xdc00 && cp <= 0xdfff)) throw new JsonError(`${shown} is not a valid Unicode character`);
    i += 4;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      const lo = raw.slice(i + 1, i + 3) === '\\u' ? readU(i + 3) : undefined;
      if (lo === undefined || lo < 0xdc00 || lo > 0xdfff) throw new JsonError(`${shown} is not a valid Unicode character`);
      out += String.fromCharCode(cp, lo);
      i += 6;
      continue;
    }
    out += String.fromCharCode(cp);
  }
  return out;
}

function numberValue(raw: string): number | bigint {
  if (/^-?\d+$/.test(raw)) {
    const b = BigInt(raw);
    // QEMU keeps int64/uint64 exactly; larger integers become doubles.
    if (b >= -(1n << 63n) && b < 1n << 64n) return Number.isSafeInteger(Number(b)) ? Number(b) : b;
  }
  return Number(raw);
}

/** Grammar over one balanced token run (json-parser.c); errors as QEMU words them. */
class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private fail(msg: string): never {
    throw new JsonError(msg);
  }

  private next(): Tok {
    const t = this.toks[this.i++];
    if (!t) this.fail('premature EOI');
    return t;
  }

  private peek(): Tok {
    const t = this.toks[this.i];
    if (!t) this.fail('premature EOI');
    return t;
  }

  value(): JsonValue {
    const t = this.peek();
    if (t.t === 'punct' && t.v === '{') return this.object();
    if (t.t === 'punct' && t.v === '[') return this.array();
    this.i++;
    if (t.t === 'string') return decodeString(t.raw);
    if (t.t === 'number') return numberValue(t.raw);
    if (t.t === 'keyword') {
      if (t.raw === 'true') return true;
      if (t.raw === 'false') return false;
      if (t.raw === 'null') return null;
      this.fail(`invalid keyword '${t.raw}'`);
    }
    return this.fail('expecting value');
  }

  private object(): JsonObject {
    this.next();
    const obj: JsonObject = Object.create(null) as JsonObject;
    if (this.isPunct(this.peek(), '}')) {
      this.i++;
      return obj;
    }
    for (;;) {
      const key = this.value();
      if (typeof key !== 'string') this.fail('key is not a string in object');
      if (!this.isPunct(this.next(), ':')) this.fail('missing : in object pair');
      const v = this.value();
      if (Object.prototype.hasOwnProperty.call(obj, key)) this.fail('duplicate key');
      obj[key] = v;
      const sep = this.next();
      if (this.isPunct(sep, '}')) return obj;
      if (!this.isPunct(sep, ',')) this.fail('expected separator in dict');
    }
  }

  private array(): JsonValue[] {
    this.next();
    const arr: JsonValue[] = [];
    if (this.isPunct(this.peek(), ']')) {
      this.i++;
      return arr;
    }
    for (;;) {
      arr.push(this.value());
      const sep = this.next();
      if (this.isPunct(sep, ']')) return arr;
      if (!this.isPunct(sep, ',')) this.fail('expected separator in list');
    }
  }

  private isPunct(t: Tok, v: string): boolean {
    return t.t === 'punct' && t.v === v;
  }
}

/**
 * qobject_from_json: one JSON value or JsonError with QEMU's message
 * ("JSON parse error, ..." or "Expecting at most one JSON value").
 */
export function parseQemuJson(s: string): JsonValue {
  let result: { v: JsonValue } | undefined;
  let run: Tok[] = [];
  let braces = 0;
  let brackets = 0;
  const emit = (): void => {
    const toks = run;
    run = [];
    if (result) throw new JsonError('Expecting at most one JSON value');
    const p = new Parser(toks);
    try {
      result = { v: p.value() };
    } catch (e) {
      if (e instanceof JsonError) throw new JsonError(`JSON parse error, ${e.message}`);
      throw e;
    }
  };
  for (let i = 0; ; ) {
    const lexed = lexOne(s, i);
    if (!lexed) break;
    const [tok, next] = lexed;
    i = next;
    if (tok.t === 'error') {
      if (result) throw new JsonError('Expecting at most one JSON value');
      throw new JsonError(`JSON parse error, stray '${tok.raw}'`);
    }
    run.push(tok);
    if (tok.t === 'punct') {
      if (tok.v === '{') braces++;
      else if (tok.v === '}') braces--;
      else if (tok.v === '[') brackets++;
      else if (tok.v === ']') brackets--;
    }
    // json-streamer.c hands a run to the parser once both counts are back to
    // zero, or as soon as one goes negative.
    if ((braces === 0 && brackets === 0) || braces < 0 || brackets < 0) {
      braces = 0;
      brackets = 0;
      emit();
    }
  }
  if (run.length > 0) emit();
  if (!result) throw new JsonError('Expecting a JSON value');
  return result.v;
}
