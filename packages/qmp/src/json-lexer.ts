// Byte-level JSON tokenizer with QEMU's exact acceptance and error recovery
// (qobject/json-lexer.c): the same token boundaries, the same bytes in a
// "stray" error, the same resynchronisation points. Decoding and validation of
// strings, numbers and keywords is the parser's job, as in QEMU.

/** Lexer states (values below TOKEN_BASE). ERROR must be 0: unset table cells are errors. */
export const enum LexState {
  Error = 0,
  Recovery,
  DqStringEscape,
  DqString,
  SqStringEscape,
  SqString,
  Zero,
  ExpDigits,
  ExpSign,
  ExpE,
  Mantissa,
  MantissaDigits,
  Digits,
  Sign,
  Keyword,
  Start,
}

/** Token types, as handed to the streamer. */
export const enum Tok {
  LCurly = 32,
  RCurly,
  LSquare,
  RSquare,
  Colon,
  Comma,
  Integer,
  Float,
  Keyword,
  String,
}

const TOKEN_BASE = Tok.LCurly;
/** Flag in a table cell: the transition does not consume the byte (it is looked at again). */
const LOOKAHEAD = 0x80;
const BYTE_VALUES = 256;
const STATE_COUNT = LexState.Start + 1;
const ASCII_CONTROL_LAST = 0x1f;
const STRING_BYTE_FIRST = 0x20;
/** 0xFE and 0xFF are never valid UTF-8; strings reject them like control characters. */
const STRING_BYTE_LAST = 0xfd;
const QUOTE_DOUBLE = 0x22;
const QUOTE_SINGLE = 0x27;
const BACKSLASH = 0x5c;

const c = (ch: string): number => ch.charCodeAt(0);

function buildTable(): Uint8Array {
  const t = new Uint8Array(STATE_COUNT * BYTE_VALUES); // all Error
  const set = (s: LexState, from: number, to: number, v: number): void => {
    for (let b = from; b <= to; b++) t[s * BYTE_VALUES + b] = v;
  };
  const one = (s: LexState, ch: string, v: number): void => set(s, c(ch), c(ch), v);
  const terminal = (s: LexState, tok: Tok): void => set(s, 0, BYTE_VALUES - 1, tok | LOOKAHEAD);

  // After an error, skip to a byte that can plausibly start fresh input: a
  // structural character, a control character other than TAB, or 0xFE/0xFF.
  set(LexState.Recovery, 0, ASCII_CONTROL_LAST, LexState.Start | LOOKAHEAD);
  set(LexState.Recovery, STRING_BYTE_FIRST, STRING_BYTE_LAST, LexState.Recovery);
  set(LexState.Recovery, STRING_BYTE_LAST + 1, BYTE_VALUES - 1, LexState.Start | LOOKAHEAD);
  one(LexState.Recovery, '\t', LexState.Recovery);
  for (const ch of '[]{}:,') one(LexState.Recovery, ch, LexState.Start | LOOKAHEAD);

  // Strings: any non-control byte; escapes are validated by the parser.
  for (const [str, esc, quote] of [
    [LexState.DqString, LexState.DqStringEscape, '"'],
    [LexState.SqString, LexState.SqStringEscape, "'"],
  ] as const) {
    set(esc, STRING_BYTE_FIRST, STRING_BYTE_LAST, str);
    set(str, STRING_BYTE_FIRST, STRING_BYTE_LAST, str);
    one(str, '\\', esc);
    one(str, quote, Tok.String);
  }

  // Numbers, RFC 8259 grammar; a leading zero followed by a digit is an error.
  terminal(LexState.Zero, Tok.Integer);
  set(LexState.Zero, c('0'), c('9'), LexState.Error);
  one(LexState.Zero, '.', LexState.Mantissa);
  terminal(LexState.ExpDigits, Tok.Float);
  set(LexState.ExpDigits, c('0'), c('9'), LexState.ExpDigits);
  set(LexState.ExpSign, c('0'), c('9'), LexState.ExpDigits);
  one(LexState.ExpE, '-', LexState.ExpSign);
  one(LexState.ExpE, '+', LexState.ExpSign);
  set(LexState.ExpE, c('0'), c('9'), LexState.ExpDigits);
  terminal(LexState.MantissaDigits, Tok.Float);
  set(LexState.MantissaDigits, c('0'), c('9'), LexState.MantissaDigits);
  one(LexState.MantissaDigits, 'e', LexState.ExpE);
  one(LexState.MantissaDigits, 'E', LexState.ExpE);
  set(LexState.Mantissa, c('0'), c('9'), LexState.MantissaDigits);
  terminal(LexState.Digits, Tok.Integer);
  set(LexState.Digits, c('0'), c('9'), LexState.Digits);
  one(LexState.Digits, 'e', LexState.ExpE);
  one(LexState.Digits, 'E', LexState.ExpE);
  one(LexState.Digits, '.', LexState.Mantissa);
  one(LexState.Sign, '0', LexState.Zero);
  set(LexState.Sign, c('1'), c('9'), LexState.Digits);

  // Any run of lowercase letters is a keyword token; the parser rejects unknown ones.
  terminal(LexState.Keyword, Tok.Keyword);
  set(LexState.Keyword, c('a'), c('z'), LexState.Keyword);

  one(LexState.Start, '"', LexState.DqString);
  one(LexState.Start, "'", LexState.SqString);
  one(LexState.Start, '0', LexState.Zero);
  set(LexState.Start, c('1'), c('9'), LexState.Digits);
  one(LexState.Start, '-', LexState.Sign);
  one(LexState.Start, '{', Tok.LCurly);
  one(LexState.Start, '}', Tok.RCurly);
  one(LexState.Start, '[', Tok.LSquare);
  one(LexState.Start, ']', Tok.RSquare);
  one(LexState.Start, ',', Tok.Comma);
  one(LexState.Start, ':', Tok.Colon);
  set(LexState.Start, c('a'), c('z'), LexState.Keyword);
  for (const ws of ' \t\r\n') one(LexState.Start, ws, LexState.Start);
  return t;
}

const TABLE = buildTable();

/**
 * What the lexer hands on: a complete token, a lexical error (`text` = the
 * bytes gathered so far including the offending one), or an oversized token
 * (`type` is then the lexer state it was cut in, `Tok` never).
 */
export interface TokenSink {
  token(type: Tok, text: Uint8Array): void;
  error(text: Uint8Array): void;
  oversized(length: number): void;
}

/** Incremental lexer over a byte stream; `maxTokenSize` is QEMU's MAX_TOKEN_SIZE. */
export class JsonLexer {
  private state: number = LexState.Start;
  /** Parts of the current token from earlier chunks. */
  private parts: Uint8Array[] = [];
  private partsLength = 0;

  constructor(
    private readonly sink: TokenSink,
    private readonly maxTokenSize: number,
  ) {}

  reset(): void {
    this.state = LexState.Start;
    this.parts = [];
    this.partsLength = 0;
  }

  private take(chunk: Uint8Array, start: number, end: number): Uint8Array {
    const tail = chunk.subarray(start, end);
    if (!this.partsLength) return tail;
    this.parts.push(tail);
    const all = Buffer.concat(this.parts, this.partsLength + tail.length);
    this.parts = [];
    this.partsLength = 0;
    return all;
  }

  private drop(): void {
    if (this.partsLength) {
      this.parts = [];
      this.partsLength = 0;
    }
  }

  feed(chunk: Uint8Array): void {
    const sink = this.sink;
    const max = this.maxTokenSize;
    let state = this.state;
    /** Start of the current token within this chunk (bytes before it are in `parts`). */
    let tokStart = 0;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      if (state === LexState.DqString || state === LexState.SqString) {
        // Fast path through string bodies: same transitions as the table
        // (plain bytes stay in the string), stopping at anything special and
        // before the byte that would take the token past the size limit.
        const quote = state === LexState.DqString ? QUOTE_DOUBLE : QUOTE_SINGLE;
        const stop = Math.min(n, tokStart + max - this.partsLength);
        while (i < stop) {
          const b = chunk[i]!;
          if (b === quote || b === BACKSLASH || b < STRING_BYTE_FIRST || b > STRING_BYTE_LAST) break;
          i++;
        }
        if (i >= n) break;
      }
      const byte = chunk[i]!;
      for (;;) {
        const cell = TABLE[state * BYTE_VALUES + byte]!;
        const next = cell & ~LOOKAHEAD;
        const consumed = (cell & LOOKAHEAD) === 0;
        if (next >= TOKEN_BASE) {
          const text = this.take(chunk, tokStart, consumed ? i + 1 : i);
          tokStart = consumed ? i + 1 : i;
          state = LexState.Start;
          this.state = state;
          sink.token(next as Tok, text);
          state = this.state; // a sink may reset us
        } else if (next === LexState.Start) {
          this.drop();
          tokStart = consumed ? i + 1 : i;
          state = LexState.Start;
        } else if (next === LexState.Error) {
          const text = this.take(chunk, tokStart, i + 1);
          tokStart = i + 1;
          state = LexState.Recovery;
          this.state = state;
          sink.error(text);
          state = this.state;
        } else if (next === LexState.Recovery) {
          tokStart = i + 1;
          state = next;
        } else {
          state = next;
        }
        if (consumed) break;
      }
      // QEMU caps a single token (json-lexer.c): an accumulating token that
      // grows past the limit is cut off and reported, then lexing restarts.
      if (state !== LexState.Start && state !== LexState.Recovery) {
        const length = this.partsLength + (i + 1 - tokStart);
        if (length > max) {
          this.drop();
          tokStart = i + 1;
          state = LexState.Start;
          this.state = state;
          sink.oversized(length);
          state = this.state;
        }
      }
    }
    if (state !== LexState.Start && state !== LexState.Recovery && tokStart < n) {
      const tail = chunk.subarray(tokStart, n);
      // Copied: the caller may reuse its buffer once feed() returns.
      this.parts.push(Buffer.from(tail));
      this.partsLength += tail.length;
    }
    this.state = state;
  }

  /**
   * End of input (json_lexer_flush): a pending number or keyword is emitted,
   * a pending string or sign is a lexical error.
   */
  flush(): void {
    while (this.state !== LexState.Start) {
      const cell = TABLE[this.state * BYTE_VALUES]!;
      const next = cell & ~LOOKAHEAD;
      if (next >= TOKEN_BASE) {
        const text = this.take(new Uint8Array(0), 0, 0);
        this.state = LexState.Start;
        this.sink.token(next as Tok, text);
      } else if (next === LexState.Error) {
        const text = this.take(new Uint8Array(0), 0, 0);
        this.state = LexState.Recovery;
        this.sink.error(text);
      } else {
        this.drop();
        this.state = next === LexState.Recovery ? LexState.Recovery : LexState.Start;
      }
    }
  }
}
