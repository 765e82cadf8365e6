/**
 * QMP input generators for the fuzz suite, as byte strings (the wire is bytes, and invalid UTF-8
 * must reach the server as such). Two families:
 * - grammar-aware: requests built from the server's own command table and argument schemas,
 *   with values that are right, of the wrong type, or at the edges (int64, 1e999, lone surrogate
 *   escapes, single quotes), sometimes mutated at the byte level afterwards;
 * - random bytes, biased towards the bytes QEMU's lexer treats specially.
 */
import { fc } from '@fast-check/vitest';
import type { QmpDispatcher } from '@plugboard/qmp';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const cat = (parts: Buffer[]): Buffer => Buffer.concat(parts);

/** Commands that end the machine: they are not fuzzed (every client is meant to be affected). */
export const FATAL_COMMANDS = new Set(['quit']);
/** HMP words that end the machine (`quit` and its alias). */
const FATAL_HMP = /^\s*(q|quit)(\s|$)/;

const hugeNumbers = [
  '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809',
  '18446744073709551615', '18446744073709551616', '1e308', '1e309', '-1e999', '4.9e-324', '1e-400',
  '0.1e1', '-0', '-0.0', '1.0', '00', '01', '1.', '.5', '+1', '0x10', '1e', '1e+', '--1', '9'.repeat(400),
];
const keywords = ['true', 'false', 'null', 'nul', 'truefalse', 'True', 'NaN', 'inf', 'undefined'];
const oddStrings = [
  '"\\ud800"', '"\\udc00\\ud800"', '"\\u0000"', '"\\u00"', '"\\x41"', '"\\q"', '"\\/"', '"\\"', "'\\''", "'\"'",
  '"\u0000"', '"a\tb"', '"\u007f"', '"\ufffe"', '"\u{10ffff}"', '"__proto__"', '"constructor"',
];
const badUtf8 = [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff], [0xfe], [0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80]];

function quoteLoosely(s: string, single: boolean): string {
  const q = single ? "'" : '"';
  return q + s.replace(/[\\'"]/g, (c) => (c === q || c === '\\' ? '\\' + c : c)) + q;
}

/** A string token: JSON.stringify (escapes lone surrogates), single quotes, odd escapes, raw bad UTF-8. */
const stringTok: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }).map((s) => b(JSON.stringify(s))) },
  { weight: 2, arbitrary: fc.tuple(fc.string({ maxLength: 16 }), fc.boolean()).map(([s, q]) => b(quoteLoosely(s, q))) },
  { weight: 2, arbitrary: fc.constantFrom(...oddStrings).map(b) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.string({ maxLength: 6 }), fc.constantFrom(...badUtf8)).map(([s, bytes]) => cat([b('"' + s), Buffer.from(bytes), b('"')])),
  },
);

const numberTok: fc.Arbitrary<Buffer> = fc.oneof(
  fc.integer().map((n) => b(String(n))),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => b(String(n))),
  fc.double().map((d) => b(Number.isFinite(d) ? String(d) : '1e999')),
  fc.constantFrom(...hugeNumbers).map(b),
);

/** Valid JSON leaves: what a correct client sends. */
const tameLeaf: fc.Arbitrary<Buffer> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 16 }).map((s) => b(JSON.stringify(s))),
  fc.integer({ min: -1000, max: 1_000_000 }).map((n) => b(String(n))),
  fc.constantFrom('true', 'false', 'null', '1.5', '0', '""').map(b),
);

/** Any JSON-ish value, depth-bounded; `wild` mixes in what QEMU's parser must reject or treat at the edges. */
export function valueTok(depth: number, wild = true): fc.Arbitrary<Buffer> {
  const leaf = wild ? fc.oneof({ weight: 3, arbitrary: tameLeaf }, stringTok, numberTok, fc.constantFrom(...keywords).map(b)) : tameLeaf;
  if (depth <= 0) return leaf;
  const inner = valueTok(depth - 1, wild);
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(inner, { maxLength: 4 }).map((xs) => cat([b('['), ...xs.flatMap((x, i) => (i ? [b(','), x] : [x])), b(']')])) },
    { weight: 1, arbitrary: fc.array(fc.tuple(wild ? stringTok : tameLeaf.filter((x) => x[0] === 0x22), inner), { maxLength: 4 }).map((kv) => objectOf(kv)) },
  );
}

function objectOf(members: Array<[Buffer, Buffer]>): Buffer {
  return cat([b('{'), ...members.flatMap(([k, v], i) => [...(i ? [b(', ')] : []), k, b(': '), v]), b('}')]);
}

const key = (s: string): Buffer => b(JSON.stringify(s));

/** Values of the right QAPI type, mostly, for a schema member. */
function memberValue(type: unknown, names: string[], wild: boolean): fc.Arbitrary<Buffer> {
  const any = valueTok(2, wild);
  const right =
    type === 'str'
      ? wild ? fc.oneof(fc.constantFrom(...names).map((s) => key(s)), stringTok) : fc.constantFrom(...names).map((s) => key(s))
      : type === 'int' || type === 'uint64' || type === 'number'
        ? wild ? fc.oneof(fc.integer({ min: -5, max: 10_000_000_000 }).map((n) => b(String(n))), numberTok) : fc.integer({ min: 0, max: 10_000_000_000 }).map((n) => b(String(n)))
        : type === 'bool'
          ? fc.constantFrom('true', 'false').map(b)
          : any;
  return fc.oneof({ weight: wild ? 4 : 12, arbitrary: right }, { weight: 1, arbitrary: any });
}

/** Words the generators draw names from: device models, ids, buses, QOM paths, HMP commands. */
export interface FuzzVocabulary {
  names: string[];
  hmp: string[];
}

/**
 * One request, built from the dispatcher's own commands and schemas. Tame requests are what a
 * correct client could send (they reach the handlers: most are well-typed); wild ones add
 * stray members, odd ids, unknown commands and values at the parser's edges.
 */
export function requestTok(d: QmpDispatcher, vocab: FuzzVocabulary, wild: boolean): fc.Arbitrary<Buffer> {
  const commands = d.names().filter((n) => !FATAL_COMMANDS.has(n));
  const str = wild ? stringTok : fc.constantFrom(...vocab.names).map(key);
  const args = (name: string): fc.Arbitrary<Buffer> => {
    const schema = (d.get(name)?.args ?? {}) as Record<string, unknown>;
    if (name === 'human-monitor-command') {
      const random = fc.string({ unit: wild ? 'binary' : 'grapheme-ascii', maxLength: 30 });
      return fc
        .oneof(fc.constantFrom(...vocab.hmp), random, fc.tuple(fc.constantFrom(...vocab.hmp), random).map(([a, c]) => `${a} ${c}`))
        .filter((line) => !FATAL_HMP.test(line))
        .map((line) => objectOf([[key('command-line'), key(line)]]));
    }
    const member = (k: string, t: unknown) => fc.tuple(fc.constant(key(k.replace(/^\*/, ''))), memberValue(t, vocab.names, wild));
    const declared = Object.entries(schema).map(([k, t]) => member(k, t));
    const extra = fc.tuple(fc.oneof(fc.constantFrom(...vocab.names, 'driver', 'id', 'bus', 'addr', '__proto__').map(key), str), valueTok(2, wild));
    let list: fc.Arbitrary<Array<[Buffer, Buffer]>>;
    if (wild) {
      const pick = declared.length ? fc.oneof({ weight: 3, arbitrary: fc.oneof(...declared) }, { weight: 1, arbitrary: extra }) : extra;
      list = fc.array(pick, { maxLength: 4 });
    } else {
      // Every required member, each optional one half the time, rarely one too many.
      const parts = Object.entries(schema).map(([k, t]) => (k.startsWith('*') ? fc.option(member(k, t), { nil: undefined, freq: 2 }) : member(k, t)));
      list = fc.tuple(fc.tuple(...parts), fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: extra })).map(([ms, x]) => [...ms, x].filter((m): m is [Buffer, Buffer] => m !== undefined));
    }
    if (name === 'device_add') {
      const driver = fc.tuple(fc.constant(key('driver')), fc.constantFrom(...vocab.names).map(key));
      return fc.tuple(driver, list).map(([dr, rest]) => objectOf([dr, ...rest.filter((m) => wild || !m[0].equals(dr[0]))]));
    }
    return list.map(objectOf);
  };
  const execute = wild ? fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...commands) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }) : fc.constantFrom(...commands);
  const members = execute.chain((name) =>
    fc
      .record(
        {
          exec: wild ? fc.constantFrom('execute', 'execute', 'execute', 'exec-oob') : fc.constant('execute'),
          args: wild ? fc.option(args(name), { nil: undefined }) : args(name),
          id: fc.option(wild ? valueTok(1) : fc.nat().map((n) => b(String(n))), { nil: undefined }),
          stray: wild ? fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.tuple(stringTok, valueTok(1)) }) : fc.constant(undefined),
        },
        { requiredKeys: ['exec'] },
      )
      .map(({ exec, args: a, id, stray }) => {
        const m: Array<[Buffer, Buffer]> = [[key(exec), key(name)]];
        if (a) m.push([key('arguments'), a]);
        if (id) m.push([key('id'), id]);
        if (stray) m.push(stray);
        return m;
      }),
  );
  return fc.tuple(members, fc.boolean()).map(([m, shuffle]) => objectOf(shuffle ? [...m].reverse() : m));
}

/** Byte-level damage: truncate, flip, splice random bytes, duplicate a slice. */
export function mutated(x: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc.tuple(x, fc.nat(), fc.nat(255), fc.constantFrom('truncate', 'flip', 'insert', 'duplicate')).map(([buf, at, byte, how]) => {
    const i = buf.length ? at % buf.length : 0;
    switch (how) {
      case 'truncate':
        return buf.subarray(0, i);
      case 'flip':
        return cat([buf.subarray(0, i), Buffer.from([byte]), buf.subarray(i + 1)]);
      case 'insert':
        return cat([buf.subarray(0, i), Buffer.from([byte]), buf.subarray(i)]);
      default:
        return cat([buf, buf.subarray(i)]);
    }
  });
}

const specialBytes = [...'{}[]:,"\'\\ \t\r\n0123456789-.eEtrufalsn'].map((c) => c.charCodeAt(0)).concat([0, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xe0, 0xf0, 0xfe, 0xff]);

/** Random bytes, half of them drawn from the lexer's interesting set. */
export const randomBytes: fc.Arbitrary<Buffer> = fc
  .array(fc.oneof(fc.constantFrom(...specialBytes), fc.nat(255)), { maxLength: 300 })
  .map((a) => Buffer.from(a));

/**
 * 0xFF is a lexical error in every lexer state and a newline ends QEMU's error recovery: after
 * damaged input this lets the next requests be parsed on their own instead of all being
 * swallowed by an unbalanced bracket. Done most of the time, not always.
 */
export const RESYNC = Buffer.from([0xff, 0x0a]);
const resyncSometimes = (x: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> => fc.tuple(x, fc.nat(9)).map(([buf, n]) => (n < 7 ? cat([buf, RESYNC]) : buf));

/** One fuzz message of either family. */
export function fuzzMessage(d: QmpDispatcher, vocab: FuzzVocabulary): fc.Arbitrary<Buffer> {
  const nl = (x: Buffer): Buffer => cat([x, b('\n')]);
  return fc.oneof(
    { weight: 12, arbitrary: requestTok(d, vocab, false).map(nl) },
    { weight: 3, arbitrary: requestTok(d, vocab, true).map(nl) },
    { weight: 2, arbitrary: resyncSometimes(mutated(requestTok(d, vocab, false))) },
    { weight: 1, arbitrary: resyncSometimes(valueTok(3)) },
    { weight: 1, arbitrary: resyncSometimes(randomBytes) },
  );
}
