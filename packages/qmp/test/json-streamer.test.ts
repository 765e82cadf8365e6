import { describe, expect, it } from 'vitest';
import { isJsonFloat, JsonStreamer, QEMU_JSON_LIMITS, toQmpJson, type JsonLimits, type JsonStreamItem } from '../src/index.js';

function parseAll(input: string | Buffer | (string | Buffer)[], limits?: Partial<JsonLimits>): JsonStreamItem[] {
  const out: JsonStreamItem[] = [];
  const s = new JsonStreamer((i) => out.push(i), { limits });
  for (const part of Array.isArray(input) ? input : [input]) s.feed(typeof part === 'string' ? Buffer.from(part, 'latin1') : part);
  return out;
}

/** Items as short strings: "E:<desc>" or the value in QEMU's JSON. */
function summary(input: string | Buffer | (string | Buffer)[], limits?: Partial<JsonLimits>): string[] {
  return parseAll(input, limits).map((i) => (i.error !== undefined ? `E:${i.error}` : toQmpJson(i.value)));
}

const PE = 'E:JSON parse error, ';

describe('JsonStreamer: lexical errors (json-lexer.c)', () => {
  const cases: [string, string[]][] = [
    ['bad\n', [`${PE}invalid keyword 'bad'`]],
    ['\x01\n', [`${PE}stray '\u0001'`]],
    ['%d\n', [`${PE}stray '%'`]],
    ['01\n', [`${PE}stray '01'`]],
    ['-a\n', [`${PE}stray '-a'`]],
    ['1.x\n', [`${PE}stray '1.x'`]],
    ['1e\n', [`${PE}stray '1e\n'`]],
    ['Infinity\n', [`${PE}stray 'I'`]],
    ['\xff\n', [`${PE}stray '\ufffd'`]],
    ['\xc3\xa9\n', [`${PE}stray '\ufffd'`]], // lead byte is the error, the continuation is skipped
    ['\x00\n', [`${PE}stray ''`]], // the text is a C string: it ends at the NUL
    ['"abc\x01"\n', [`${PE}stray '"abc\u0001'`]], // recovery then skips '"' up to the newline
    ['"abc\n', [`${PE}stray '"abc\n'`]],
    ['"tab\tin"\n', [`${PE}stray '"tab\t'`]],
    ['"ab\xff"\n', [`${PE}stray '"ab\ufffd'`]],
    ['"abc\xff\xfe\x80"\n', [`${PE}stray '"abc\ufffd'`, `${PE}stray '\ufffd'`]],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)}`, () => expect(summary(input)).toEqual(expected));
  }

  it('a lexical error inside an object discards it; the rest resynchronises at a structural character', () => {
    expect(summary('{"execute":"query-status","id":"\x01"}\n')).toEqual([`${PE}stray '"\u0001'`, `${PE}expecting value`]);
    expect(summary('abc@def{"a":1}\n')).toEqual([`${PE}invalid keyword 'abc'`, `${PE}stray '@'`, '{"a": 1}']);
    expect(summary('@@@{"a":1}\n')).toEqual([`${PE}stray '@'`, '{"a": 1}']);
    expect(summary('\xff\xff{"a":1}\n')).toEqual([`${PE}stray '\ufffd'`, `${PE}stray '\ufffd'`, '{"a": 1}']);
    expect(summary('"unterminated\n{"a":1}\n')).toEqual([`${PE}stray '"unterminated\n'`, '{"a": 1}']);
  });

  it('an error that consumed the newline swallows input up to the next newline (QEMU recovery)', () => {
    expect(summary(['-\n', '1.\n', '1e\n', '1e+\n'])).toEqual([`${PE}stray '-\n'`, `${PE}stray '1e\n'`]);
  });

  it('"0e0" is three tokens for QEMU', () => {
    expect(summary('[0e0]')).toEqual([`${PE}expected separator in list`]);
  });
});

describe('JsonStreamer: parse errors (json-parser.c)', () => {
  const cases: [string, string][] = [
    [']', 'expecting value'],
    ['}', 'expecting value'],
    [':', 'expecting value'],
    [',', 'expecting value'],
    ['{"a":1,}', 'expecting value'],
    ['[1,]', 'expecting value'],
    ['[,1]', 'expecting value'],
    ['{,}', 'expecting value'],
    ['{"a":}', 'expecting value'],
    ['{"a"::1}', 'expecting value'],
    ['{"a" "b"}', 'missing : in object pair'],
    ['{"a":1 "b":2}', 'expected separator in dict'],
    ['[1 2]', 'expected separator in list'],
    ['{1:2}', 'key is not a string in object'],
    ['{true:1}', 'key is not a string in object'],
    ['{[1]:1}', 'key is not a string in object'],
    ['{[1 2]:1}', 'expected separator in list'], // errors inside a key come first
    ['{bad:1}', "invalid keyword 'bad'"],
    ['{"a":1,"a":2}', 'duplicate key'],
    ['{"a":1,"a":[1 2]}', 'expected separator in list'],
    ['["\\x"]', 'invalid escape sequence in string'],
    ['["\\ud800"]', '\\ud800 is not a valid Unicode character'],
    ['["\\ud800\\u0041"]', '\\ud800 is not a valid Unicode character'],
    ['["\\udc00"]', '\\udc00 is not a valid Unicode character'],
    ['["\\ufffe"]', '\\ufffe is not a valid Unicode character'],
    ['["\\uFDD0"]', '\\uFDD0 is not a valid Unicode character'],
    ['["\\uDBFF\\uDFFF"]', '\\uDBFF\\uDFFF is not a valid Unicode character'],
    ['["\\u12"]', '\\u12" is not a valid Unicode character'],
    ['["\\u0\xe9"]', '\\u0\ufffd" is not a valid Unicode character'], // echo stops at the token end
    ['["\\u0\xc3\xa9"]', '\\u0\u00e9" is not a valid Unicode character'],
    ['["\xc3"]', 'invalid UTF-8 sequence in string'],
    ['["\xed\xa0\x80"]', 'invalid UTF-8 sequence in string'], // surrogate
    ['["\xc0\xaf"]', 'invalid UTF-8 sequence in string'], // overlong
    ['["\xef\xbf\xbf"]', 'invalid UTF-8 sequence in string'], // U+FFFF noncharacter
    ['["\xf4\x90\x80\x80"]', 'invalid UTF-8 sequence in string'], // beyond U+10FFFF
    ['["\xf8\x88\x80\x80\x80"]', 'invalid UTF-8 sequence in string'], // 5-byte form
    ['truex ', "invalid keyword 'truex'"],
  ];
  for (const [input, message] of cases) {
    it(`${JSON.stringify(input)} -> ${message}`, () => expect(summary(input)).toEqual([`${PE}${message}`]));
  }

  it('truncates the message like QEMU\'s 1024-byte buffer', () => {
    const kw = 'abcdefghij'.repeat(200);
    const [item] = parseAll(`${kw} `);
    expect(item!.error).toBe(`JSON parse error, invalid keyword '${kw}`.slice(0, 'JSON parse error, '.length + 1023));
  });

  it('one error per failed message, then the next message parses', () => {
    expect(summary('[1 2]{"a":1}')).toEqual([`${PE}expected separator in list`, '{"a": 1}']);
  });

  it('"[}" ends the message at "}"; the "]" is a message of its own', () => {
    expect(summary('[}]')).toEqual([`${PE}expecting value`, `${PE}expecting value`]);
  });

  it('a complete value followed by extra closers', () => {
    expect(summary('{"a":1}}}')).toEqual(['{"a": 1}', `${PE}expecting value`, `${PE}expecting value`]);
  });

  it('end() flushes a pending token and reports an unfinished message', () => {
    const out: JsonStreamItem[] = [];
    const s = new JsonStreamer((i) => out.push(i));
    s.feed('123');
    expect(out).toEqual([]);
    s.end();
    expect(out).toEqual([{ value: 123 }]);
    s.feed('{"a":');
    s.end();
    expect(out[1]).toEqual({ error: 'JSON parse error, premature EOI' });
    s.feed('"abc');
    s.end();
    expect(out[2]).toEqual({ error: `JSON parse error, stray '"abc'` });
  });
});

describe('JsonStreamer: values', () => {
  it('several values on a line and one value over many lines', () => {
    expect(summary('{"a":1}{"b":2} 3 "x"')).toEqual(['{"a": 1}', '{"b": 2}', '3', '"x"']);
    expect(summary('{"a":\n[1,\n2]\n}')).toEqual(['{"a": [1, 2]}']);
  });

  it('keyword then number without separator are two values', () => {
    expect(summary('true1 ')).toEqual(['true', '1']);
  });

  it('strings: escapes, single quotes, modified UTF-8 NUL', () => {
    const input = Buffer.concat([
      Buffer.from(`["\\u00e9\\u0001\\u007f\\ud83d\\ude00/\\u0000 \\b\\f\\n\\r\\t\\"\\\\ \\' x", 'sq "q"', "`, 'latin1'),
      Buffer.from([0xc3, 0xa9, 0xc0, 0x80]), // é, then U+0000 in modified UTF-8
      Buffer.from('"]', 'latin1'),
    ]);
    const [item] = parseAll(input);
    expect(item!.value).toEqual(['\u00e9\u0001\u007f\u{1f600}/\u0000 \b\f\n\r\t"\\ \' x', 'sq "q"', '\u00e9\u0000']);
  });

  it('integers: exact, int64/uint64 as bigint beyond 2^53, larger ones as doubles', () => {
    const [item] = parseAll('[0, -0, 9007199254740991, 9007199254740993, -9223372036854775808, 18446744073709551615, 18446744073709551616, 99999999999999999999]');
    expect(item!.value).toEqual([0, 0, 9007199254740991, 9007199254740993n, -9223372036854775808n, 18446744073709551615n, 18446744073709551616, 1e20]);
    expect(Object.is((item!.value as number[])[1], 0)).toBe(true);
  });

  it('floats: strtod semantics; integral floats are remembered', () => {
    const [item] = parseAll('{"a":1.0,"b":1,"c":-0.0,"d":1e400,"e":1e-400,"f":[2e3,2000]}');
    const v = item!.value as Record<string, unknown>;
    expect(v.a).toBe(1);
    expect(isJsonFloat(v, 'a')).toBe(true);
    expect(isJsonFloat(v, 'b')).toBe(false);
    expect(Object.is(v.c, -0)).toBe(true);
    expect(isJsonFloat(v, 'c')).toBe(true);
    expect(v.d).toBe(Infinity);
    expect(v.e).toBe(0);
    const f = v.f as number[];
    expect([isJsonFloat(f, 0), isJsonFloat(f, 1)]).toEqual([true, false]);
  });

  it('"__proto__" is an ordinary member, as with JSON.parse', () => {
    const [item] = parseAll('{"__proto__":{"x":1},"constructor":2}');
    const v = item!.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(toQmpJson(v)).toContain('"__proto__": {"x": 1}');
  });
});

describe('JsonStreamer: framing', () => {
  const input = Buffer.from(
    '{"execute":"query-status","id":"\u00e9\u20ac\ud834\udd1e"} [1,2.5,"x\\u00e9"] bad \x01 {"a":{"b":[true,false,null]}}\n"ab\xff"\n{"z":1}',
    'utf8',
  );
  const whole = summary(input);

  it('gives the same items whatever the chunking (byte by byte)', () => {
    const bytes = [...input].map((b) => Buffer.from([b]));
    expect(summary(bytes)).toEqual(whole);
  });

  it('gives the same items for every split point', () => {
    for (let i = 1; i < input.length; i++) {
      expect(summary([input.subarray(0, i), input.subarray(i)])).toEqual(whole);
    }
  });

  it('does not depend on the caller keeping its buffers', () => {
    const out: JsonStreamItem[] = [];
    const s = new JsonStreamer((i) => out.push(i));
    const buf = Buffer.from('{"key":"val');
    s.feed(buf);
    buf.fill(0x20);
    s.feed('ue"}');
    expect(out).toEqual([{ value: { key: 'value' } }]);
  });
});

describe('JsonStreamer: limits (json-streamer.c)', () => {
  it('has QEMU 7.2\'s limits by default', () => {
    expect(QEMU_JSON_LIMITS).toEqual({ maxTokenSize: 64 << 20, maxTokenCount: 2 << 20, maxNesting: 1024 });
  });

  it('nesting: 1024 levels parse, the 1025th opener fails, the closers are then stray messages', () => {
    expect(summary('['.repeat(1024) + ']'.repeat(1024))).toEqual([toQmpJson(JSON.parse('['.repeat(1024) + ']'.repeat(1024)))]);
    const out = summary('['.repeat(1025) + ']'.repeat(1025));
    expect(out[0]).toBe('E:JSON nesting depth limit exceeded');
    expect(out.length).toBe(1 + 1025);
    expect(new Set(out.slice(1))).toEqual(new Set([`${PE}expecting value`]));
  });

  it('nesting limit is injectable', () => {
    expect(summary('[[[1]]]', { maxNesting: 3 })).toEqual(['[[[1]]]']);
    expect(summary('[[[[1]]]]', { maxNesting: 3 })[0]).toBe('E:JSON nesting depth limit exceeded');
  });

  it('token count: the token past the limit drops the message', () => {
    // [1,1] is 5 tokens
    expect(summary('[1,1]', { maxTokenCount: 5 })).toEqual(['[1, 1]']);
    expect(summary('[1,1]', { maxTokenCount: 4 })).toEqual(['E:JSON token count limit exceeded']); // "]" went with it
    expect(summary('[1,1,1]', { maxTokenCount: 4 })).toEqual(['E:JSON token count limit exceeded', '1', `${PE}expecting value`]);
  });

  it('token bytes: all tokens of a message count (plus one), whitespace does not', () => {
    // ["ab", "cd"]: 1 + 4 + 1 + 4 + 1 = 11 bytes; the check is size + len + 1 > max
    expect(summary('[ "ab" , "cd" ]', { maxTokenSize: 12 })).toEqual(['["ab", "cd"]']);
    expect(summary('["ab","cd"]', { maxTokenSize: 11 })).toEqual(['E:JSON token size limit exceeded']);
  });

  it('a single oversized token is cut by the lexer; the rest is lexed afresh', () => {
    // token limit 8: the string token is cut when it reaches 9 bytes
    expect(summary('"abcdefghijk"\n{"a":1}', { maxTokenSize: 8 })).toEqual([
      'E:JSON token size limit exceeded',
      `${PE}invalid keyword 'ijk'`,
      `${PE}stray '"\n'`,
      '{"a": 1}',
    ]);
  });

  it('an unterminated huge string is stopped at the limit, memory stays bounded', () => {
    const out: JsonStreamItem[] = [];
    const s = new JsonStreamer((i) => out.push(i), { limits: { maxTokenSize: 1 << 16 } });
    const chunk = Buffer.alloc(4096, 0x61);
    s.feed('"');
    for (let i = 0; i < 64; i++) s.feed(chunk); // 256 KiB of string body
    expect(out.map((i) => i.error)).toEqual(['JSON token size limit exceeded', 'JSON token size limit exceeded', 'JSON token size limit exceeded']);
  });

  it('real 64 MiB limit: a value of 64 MiB minus a little parses, one more byte does not', () => {
    // {"id":"<L bytes>"}: tokens 1+4+1+(L+2)+1 bytes; the last check is (L+8)+1+1 > 64 MiB
    const max = QEMU_JSON_LIMITS.maxTokenSize;
    const L = max - 10;
    const body = Buffer.alloc(7 + L + 1, 0x61);
    body.write('{"id":"', 0, 'latin1');
    const end = Buffer.from('"}', 'latin1');
    const feedBig = (s: JsonStreamer, len: number): void => {
      for (let i = 0; i < 7 + len; i += 1 << 20) s.feed(body.subarray(i, Math.min(i + (1 << 20), 7 + len)));
      s.feed(end);
    };
    const out: JsonStreamItem[] = [];
    const s = new JsonStreamer((i) => out.push(i));
    feedBig(s, L);
    expect(out.length).toBe(1);
    expect((out[0]!.value as Record<string, string>).id!.length).toBe(L);
    feedBig(s, L + 1);
    expect(out[1]).toEqual({ error: 'JSON token size limit exceeded' });
    expect(out.length).toBe(2);
  });
});
