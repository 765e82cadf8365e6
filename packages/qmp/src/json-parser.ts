// Token -> value parser. QEMU (qobject/json-parser.c) collects all tokens of a
// message and then runs a recursive-descent parser over them, reporting the
// first error. That grammar is LL(1), so consuming tokens as they arrive finds
// the same first error at the same token, and we never hold a token list:
// memory is bounded by the value being built (and nothing after an error).

import { Tok } from './json-lexer.js';
import { decodeString, floatValue, integerValue, keywordValue, LiteralError } from './json-literals.js';
import { markFloat, noteKeyInsertion } from './json-values.js';

const enum Expect {
  ArrayFirst, // after '[': a value or ']'
  ArrayValue, // after ',': a value
  ArraySep, // after a value: ',' or ']'
  ObjectFirst, // after '{': a key or '}'
  ObjectKey, // after ',': a key
  ObjectColon, // after a key: ':'
  ObjectValue, // after ':': a value
  ObjectSep, // after a member: ',' or '}'
}

interface Frame {
  container: Record<string, unknown> | unknown[];
  expect: Expect;
  key: string;
}

const PROTO_KEY = '__proto__';

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');

/** Incremental parser for one message at a time. */
export class PushParser {
  private stack: Frame[] = [];
  private result: unknown = undefined;
  private done = false;
  private error: string | null = null;
  private started = false;

  reset(): void {
    this.stack = [];
    this.result = undefined;
    this.done = false;
    this.error = null;
    this.started = false;
  }

  private fail(message: string): void {
    this.error = message;
    this.stack = []; // let go of the partial value
  }

  /** Feed one token of the current message. */
  push(type: Tok, text: Uint8Array): void {
    this.started = true;
    if (this.error !== null || this.done) return;
    const top = this.stack.length ? this.stack[this.stack.length - 1]! : null;
    if (top) {
      switch (top.expect) {
        case Expect.ObjectColon:
          if (type === Tok.Colon) top.expect = Expect.ObjectValue;
          else this.fail('missing : in object pair');
          return;
        case Expect.ArraySep:
          if (type === Tok.Comma) top.expect = Expect.ArrayValue;
          else if (type === Tok.RSquare) this.close();
          else this.fail('expected separator in list');
          return;
        case Expect.ObjectSep:
          if (type === Tok.Comma) top.expect = Expect.ObjectKey;
          else if (type === Tok.RCurly) this.close();
          else this.fail('expected separator in dict');
          return;
        case Expect.ArrayFirst:
          if (type === Tok.RSquare) return this.close();
          break;
        case Expect.ObjectFirst:
          if (type === Tok.RCurly) return this.close();
          break;
        default:
          break;
      }
    }
    // A value is expected (possibly as an object key; QEMU parses any value there).
    switch (type) {
      case Tok.LCurly:
        this.stack.push({ container: {}, expect: Expect.ObjectFirst, key: '' });
        return;
      case Tok.LSquare:
        this.stack.push({ container: [], expect: Expect.ArrayFirst, key: '' });
        return;
      case Tok.String: {
        const v = decodeString(text);
        if (v instanceof LiteralError) return this.fail(v.message);
        return this.complete(v, false);
      }
      case Tok.Integer:
        return this.complete(integerValue(latin1(text)), false);
      case Tok.Float:
        return this.complete(floatValue(latin1(text)), true);
      case Tok.Keyword: {
        const v = keywordValue(latin1(text));
        if (v instanceof LiteralError) return this.fail(v.message);
        return this.complete(v, false);
      }
      default:
        return this.fail('expecting value');
    }
  }

  private close(): void {
    const frame = this.stack.pop()!;
    this.complete(frame.container, false);
  }

  private complete(value: unknown, isFloat: boolean): void {
    const top = this.stack.length ? this.stack[this.stack.length - 1]! : null;
    if (!top) {
      this.result = value;
      this.done = true;
      return;
    }
    if (Array.isArray(top.container)) {
      if (isFloat && Number.isInteger(value)) markFloat(top.container, top.container.length);
      top.container.push(value);
      top.expect = Expect.ArraySep;
      return;
    }
    if (top.expect !== Expect.ObjectValue) {
      // key position
      if (typeof value !== 'string') return this.fail('key is not a string in object');
      top.key = value;
      top.expect = Expect.ObjectColon;
      return;
    }
    const obj = top.container;
    if (Object.prototype.hasOwnProperty.call(obj, top.key)) return this.fail('duplicate key');
    // "__proto__" must become an ordinary member, as with JSON.parse, not a prototype change.
    if (top.key === PROTO_KEY) Object.defineProperty(obj, PROTO_KEY, { value, enumerable: true, writable: true, configurable: true });
    else obj[top.key] = value;
    noteKeyInsertion(obj, top.key);
    if (isFloat && Number.isInteger(value)) markFloat(obj, top.key);
    top.expect = Expect.ObjectSep;
  }

  /**
   * The message is complete (or input ended). Returns the value, or the
   * error text after "JSON parse error, ". Resets for the next message.
   */
  finish(): { value: unknown } | { error: string } | null {
    const started = this.started;
    const out: { value: unknown } | { error: string } =
      this.error !== null ? { error: this.error } : this.done ? { value: this.result } : { error: 'premature EOI' };
    this.reset();
    return started ? out : null;
  }
}
