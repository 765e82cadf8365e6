// Splits a byte stream into JSON messages the way QEMU does
// (qobject/json-streamer.c): a message ends when its brackets balance (or go
// negative); per-message limits on total token bytes, token count and nesting;
// any lexical error or limit discards the message and parsing resumes with the
// next input. Every failure becomes exactly one error item, like QEMU's one
// error reply per failure.

import { JsonLexer, Tok, type TokenSink } from './json-lexer.js';
import { PushParser } from './json-parser.js';
import { cStringToText } from './utf8.js';

export interface JsonLimits {
  /** Bytes in one token, and in all tokens of one message (QEMU: 64 MiB). */
  maxTokenSize: number;
  /** Tokens in one message (QEMU: 2 Mi). */
  maxTokenCount: number;
  /** Open brackets plus braces (QEMU: 1024). */
  maxNesting: number;
}

/** MAX_TOKEN_SIZE, MAX_TOKEN_COUNT, MAX_NESTING of QEMU 7.2. */
export const QEMU_JSON_LIMITS: Readonly<JsonLimits> = Object.freeze({
  maxTokenSize: 64 * 1024 * 1024,
  maxTokenCount: 2 * 1024 * 1024,
  maxNesting: 1024,
});

/** One item of the stream: a parsed value, or an error text (QEMU's error desc). */
export type JsonStreamItem = { value: unknown; error?: undefined } | { error: string; value?: undefined };

export const JSON_PARSE_ERROR_PREFIX = 'JSON parse error, ';
export const TOKEN_SIZE_ERROR = 'JSON token size limit exceeded';
export const TOKEN_COUNT_ERROR = 'JSON token count limit exceeded';
export const NESTING_ERROR = 'JSON nesting depth limit exceeded';

export interface JsonStreamerOptions {
  /** Override QEMU's limits (tests use small ones). */
  limits?: Partial<JsonLimits>;
}

/**
 * Incremental JSON splitter/parser reproducing QEMU's lexer, streamer and
 * parser: same message boundaries, same error texts, same recovery. Values
 * are plain JS (like JSON.parse, "__proto__" is an ordinary member), integers that do not fit a
 * double exactly are bigints (int64/uint64 range), larger ones doubles (as in
 * QEMU); see isJsonFloat() for telling `1.0` from `1`.
 */
export class JsonStreamer {
  private readonly lexer: JsonLexer;
  private readonly parser = new PushParser();
  private readonly limits: JsonLimits;
  private braces = 0;
  private brackets = 0;
  private tokenCount = 0;
  private tokenBytes = 0;

  constructor(
    private readonly onItem: (item: JsonStreamItem) => void,
    options: JsonStreamerOptions = {},
  ) {
    this.limits = { ...QEMU_JSON_LIMITS, ...options.limits };
    const sink: TokenSink = {
      token: (type, text) => this.token(type, text),
      error: (text) => this.lexError(text),
      oversized: (length) => this.oversized(length),
    };
    this.lexer = new JsonLexer(sink, this.limits.maxTokenSize);
  }

  /** Feed bytes (strings are encoded as UTF-8). Items are delivered synchronously. */
  feed(data: Uint8Array | string): void {
    this.lexer.feed(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /** End of input: flush a pending token and an unfinished message ("premature EOI"). */
  end(): void {
    this.lexer.flush();
    if (this.tokenCount) this.emit(this.finishMessage());
  }

  /** Forget everything pending (e.g. when a new client connects). */
  reset(): void {
    this.lexer.reset();
    this.resetMessage();
  }

  private resetMessage(): void {
    this.braces = 0;
    this.brackets = 0;
    this.tokenCount = 0;
    this.tokenBytes = 0;
    this.parser.reset();
  }

  private emit(item: JsonStreamItem): void {
    this.onItem(item);
  }

  private failMessage(error: string): void {
    this.resetMessage();
    this.emit({ error });
  }

  private finishMessage(): JsonStreamItem {
    const r = this.parser.finish();
    this.resetMessage();
    if (!r) return { error: JSON_PARSE_ERROR_PREFIX + 'premature EOI' };
    return 'error' in r ? { error: JSON_PARSE_ERROR_PREFIX + r.error } : { value: r.value };
  }

  /** A complete token from the lexer. */
  private token(type: Tok, text: Uint8Array): void {
    switch (type) {
      case Tok.LCurly:
        this.braces++;
        break;
      case Tok.RCurly:
        this.braces--;
        break;
      case Tok.LSquare:
        this.brackets++;
        break;
      case Tok.RSquare:
        this.brackets--;
        break;
      default:
        break;
    }
    if (this.checkLimits(text.length)) return;
    this.tokenCount++;
    this.tokenBytes += text.length;
    this.parser.push(type, text);
    // A message continues while something is open and nothing closed too
    // much: "[}" ends the message at "}" (observed on QEMU 7.2).
    if ((this.braces > 0 || this.brackets > 0) && this.braces >= 0 && this.brackets >= 0) return;
    this.emit(this.finishMessage());
  }

  /** Applies the per-message limits in QEMU's order; true if the message was dropped. */
  private checkLimits(length: number): boolean {
    const l = this.limits;
    if (this.tokenBytes + length + 1 > l.maxTokenSize) this.failMessage(TOKEN_SIZE_ERROR);
    else if (this.tokenCount + 1 > l.maxTokenCount) this.failMessage(TOKEN_COUNT_ERROR);
    else if (this.brackets + this.braces > l.maxNesting) this.failMessage(NESTING_ERROR);
    else return false;
    return true;
  }

  /** A lexical error discards the message. */
  private lexError(text: Uint8Array): void {
    this.failMessage(`${JSON_PARSE_ERROR_PREFIX}stray '${cStringToText(text)}'`);
  }

  /** A single token outgrew the limit. */
  private oversized(length: number): void {
    if (!this.checkLimits(length)) throw new Error('unreachable: oversized token within limits');
  }
}
