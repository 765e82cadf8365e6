/**
 * The slice of QEMU's HMP argument parser (monitor/hmp.c monitor_parse_arguments, get_str,
 * get_expr) that `pcie_aer_inject_error` needs: `-x` flags in table order, words (optionally
 * quoted), and optional integer expressions (`+ - * / % & | ^ ~ ( )`, C literals through
 * strtoull, character constants). Messages are QEMU's, without the CRLF the monitor adds.
 */

/** An argument error; `message` is what the monitor prints before the "Try help" line. */
export class HmpArgError extends Error {}

export type ArgSpec = { key: string; kind: 'flag'; letter: string } | { key: string; kind: 'str' } | { key: string; kind: 'int?' };

const isSpace = (ch: string | undefined) => ch !== undefined && /[ \t\n\v\f\r]/.test(ch);
const INT64 = (v: bigint) => BigInt.asIntN(64, v);
const U64_MAX = (1n << 64n) - 1n;

/** glibc strtoull(text, &end, 0) from `pos`: value (64-bit wrap on '-'), end index, ERANGE. */
export function strtoull(text: string, pos: number): { value: bigint; end: number; range: boolean } {
  let i = pos;
  while (isSpace(text[i])) i++;
  let neg = false;
  if (text[i] === '+' || text[i] === '-') neg = text[i++] === '-';
  let base = 10;
  if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X') && /[0-9a-fA-F]/.test(text[i + 2] ?? '')) {
    base = 16;
    i += 2;
  } else if (text[i] === '0') base = 8;
  const start = i;
  let v = 0n;
  let range = false;
  for (; i < text.length; i++) {
    const d = parseInt(text[i]!, 36);
    if (Number.isNaN(d) || d >= base) break;
    v = v * BigInt(base) + BigInt(d);
    if (v > U64_MAX) range = true;
  }
  if (i === start) return { value: 0n, end: pos, range: false };
  if (range) v = U64_MAX;
  return { value: neg && !range ? (-v) & U64_MAX : v, end: i, range };
}

/** glibc strtoul semantics for a whole word (QEMU's numeric error status): ok iff fully consumed. */
export function parseUlong(word: string): { value: number; ok: boolean } {
  const r = strtoull(word, 0);
  return { value: Number(r.value & 0xffffffffn), ok: r.end === word.length };
}

/** get_expr: the expression grammar of the monitor (expr_sum > expr_logic > expr_prod > expr_unary). */
class Expr {
  constructor(
    private readonly s: string,
    public p: number,
  ) {}

  private get ch(): string | undefined {
    return this.s[this.p];
  }

  private next(): void {
    if (this.ch !== undefined) {
      this.p++;
      while (isSpace(this.ch)) this.p++;
    }
  }

  sum(): bigint {
    let v = this.logic();
    for (let op = this.ch; op === '+' || op === '-'; op = this.ch) {
      this.next();
      const w = this.logic();
      v = INT64(op === '+' ? v + w : v - w);
    }
    return v;
  }

  private logic(): bigint {
    let v = this.prod();
    for (let op = this.ch; op === '&' || op === '|' || op === '^'; op = this.ch) {
      this.next();
      const w = this.prod();
      v = op === '&' ? v & w : op === '|' ? v | w : v ^ w;
    }
    return v;
  }

  private prod(): bigint {
    let v = this.unary();
    for (let op = this.ch; op === '*' || op === '/' || op === '%'; op = this.ch) {
      this.next();
      const w = this.unary();
      if (op === '*') v = INT64(v * w);
      else {
        if (w === 0n) throw new HmpArgError('division by zero');
        v = INT64(op === '/' ? v / w : v % w);
      }
    }
    return v;
  }

  private unary(): bigint {
    const c = this.ch;
    switch (c) {
      case '+':
        this.next();
        return this.unary();
      case '-':
        this.next();
        return INT64(-this.unary());
      case '~':
        this.next();
        return ~this.unary();
      case '(': {
        this.next();
        const v = this.sum();
        if (this.ch !== ')') throw new HmpArgError("')' expected");
        this.next();
        return v;
      }
      case "'": {
        this.p++;
        if (this.ch === undefined) throw new HmpArgError('character constant expected');
        const v = BigInt(this.ch.charCodeAt(0));
        this.p++;
        if (this.ch !== "'") throw new HmpArgError("missing terminating ' character");
        this.next();
        return v;
      }
      case '$':
        throw new HmpArgError('unknown register'); // no CPU here: every register is unknown
      case undefined:
        throw new HmpArgError('unexpected end of expression');
      default: {
        const r = strtoull(this.s, this.p);
        if (r.range) throw new HmpArgError('number too large');
        // "%c" of a NUL ends the printed text right after the quote.
        if (r.end === this.p) throw new HmpArgError(`invalid char '${this.ch ?? ''}' in expression`);
        this.p = r.end;
        while (isSpace(this.ch)) this.p++;
        return INT64(r.value);
      }
    }
  }
}

/** get_str: a word up to white space, or a double-quoted string with \n \r \\ \' \" escapes. */
function getStr(s: string, pos: number): { value: string; end: number } | undefined {
  let p = pos;
  while (isSpace(s[p])) p++;
  if (p >= s.length) return undefined;
  let out = '';
  if (s[p] === '"') {
    p++;
    while (p < s.length && s[p] !== '"') {
      if (s[p] === '\\') {
        const e = s[p + 1];
        p += 2;
        if (e === 'n') out += '\n';
        else if (e === 'r') out += '\r';
        else if (e === '\\' || e === "'" || e === '"') out += e;
        else return undefined; // "unsupported escape code" goes to stdout, not the monitor
      } else out += s[p++];
    }
    if (s[p] !== '"') return undefined; // "unterminated string", stdout too
    return { value: out, end: p + 1 };
  }
  while (p < s.length && !isSpace(s[p])) out += s[p++];
  return { value: out, end: p };
}

/**
 * Parses `text` (the line after the command name) per `spec`. Flags come in table order: a
 * later flag written first is left for its own turn (is_valid_option), which then makes it
 * the next word.
 */
export function parseHmpArgs(cmd: string, spec: readonly ArgSpec[], text: string): Map<string, boolean | string | bigint> {
  const out = new Map<string, boolean | string | bigint>();
  let p = 0;
  spec.forEach((a, i) => {
    if (a.kind === 'flag') {
      const tmp = p;
      while (isSpace(text[p])) p++;
      if (text[p] !== '-') return;
      p++;
      if (text[p] !== a.letter) {
        const later = spec.slice(i + 1).some((b) => b.kind === 'flag' && b.letter === text[p]);
        if (!later) throw new HmpArgError(`${cmd}: unsupported option -${text[p] ?? ''}`);
        p = tmp;
        return;
      }
      p++;
      out.set(a.key, true);
      return;
    }
    if (a.kind === 'str') {
      const r = getStr(text, p);
      if (!r) throw new HmpArgError(`${cmd}: string expected`);
      out.set(a.key, r.value);
      p = r.end;
      return;
    }
    while (isSpace(text[p])) p++;
    if (p >= text.length) return;
    const e = new Expr(text, p);
    const v = e.sum();
    p = e.p;
    if ((v >> 32n) & 0xffffffffn) throw new HmpArgError(`'${cmd}' has failed: integer is for 32-bit values`);
    out.set(a.key, v);
  });
  while (isSpace(text[p])) p++;
  if (p < text.length) throw new HmpArgError(`${cmd}: extraneous characters at the end of line`);
  return out;
}
