import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatDouble, JsonStreamer, qdictBucket, quoteQemuString, toQmpJson } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function parse(text: string): unknown {
  let v: unknown;
  new JsonStreamer((i) => (v = i.error ?? i.value)).feed(text);
  return v;
}

describe('toQmpJson: layout (qobject/json-writer.c)', () => {
  it('uses ", " and ": "', () => {
    expect(toQmpJson({ a: [1, 2, { b: null }], c: true })).toBe('{"a": [1, 2, {"b": null}], "c": true}');
    expect(toQmpJson([])).toBe('[]');
    expect(toQmpJson({})).toBe('{}');
  });

  it('omits undefined members (absent optional members)', () => {
    expect(toQmpJson({ a: undefined, b: 1 })).toBe('{"b": 1}');
  });

  it('prints bigints as integers', () => {
    expect(toQmpJson([18446744073709551615n, -9223372036854775808n])).toBe('[18446744073709551615, -9223372036854775808]');
  });
});

describe('toQmpJson: member order is QDict order (qobject/qdict.c)', () => {
  it('reproduces the order of QEMU replies whatever the insertion order', () => {
    expect(toQmpJson({ id: 1, return: {} })).toBe('{"return": {}, "id": 1}');
    expect(toQmpJson({ error: { desc: 'd', class: 'GenericError' }, id: 'x' })).toBe(
      '{"id": "x", "error": {"class": "GenericError", "desc": "d"}}',
    );
    expect(toQmpJson({ data: { path: '/p', device: 'n1' }, event: 'DEVICE_DELETED', timestamp: { microseconds: 2, seconds: 1 } })).toBe(
      '{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "DEVICE_DELETED", "data": {"device": "n1", "path": "/p"}}',
    );
  });

  it('keys sharing a bucket come out last-inserted first (insert in QAPI schema order)', () => {
    expect(qdictBucket('status')).toBe(qdictBucket('singlestep'));
    expect(toQmpJson({ running: false, singlestep: false, status: 'prelaunch' })).toBe(
      '{"status": "prelaunch", "singlestep": false, "running": false}',
    );
    expect(qdictBucket('micro')).toBe(qdictBucket('minor'));
    expect(toQmpJson({ major: 7, minor: 2, micro: 22 })).toBe('{"micro": 22, "minor": 2, "major": 7}');
  });

  it('parsed objects keep their input order for ties, even with index-like keys', () => {
    // observed on QEMU 7.2: id {"2":1,"1":2,"10":3,"a":4} echoes as {"1": 2, "a": 4, "10": 3, "2": 1}
    expect(toQmpJson(parse('{"2":1,"1":2,"10":3,"a":4}'))).toBe('{"1": 2, "a": 4, "10": 3, "2": 1}');
    expect(toQmpJson(parse('{"b":1,"a":2,"c":3,"1":4,"0":5}'))).toBe('{"0": 5, "1": 4, "a": 2, "b": 1, "c": 3}');
  });

  it('non-ASCII keys hash over their UTF-8 bytes', () => {
    // observed: {"return":1,"id":2,"error":3,"class":4,"desc":5,"zz":6,"Z":7,"é":8,"\u0000":9,"data":10,"event":11,"timestamp":12}
    const v = parse('{"return":1,"id":2,"error":3,"class":4,"desc":5,"zz":6,"Z":7,"\u00e9":8,"\\u0000":9,"data":10,"event":11,"timestamp":12}');
    expect(toQmpJson(v)).toBe(
      '{"timestamp": 12, "\\u00E9": 8, "\\u0000": 9, "class": 4, "zz": 6, "event": 11, "desc": 5, "return": 1, "id": 2, "error": 3, "data": 10, "Z": 7}',
    );
  });

  it('agrees with every object in the recorded QEMU 7.2 transcripts of the monorepo', () => {
    // Each object as QEMU printed it must have non-decreasing buckets.
    const dir = path.resolve(here, '../../../fixtures/qemu-7.2');
    let objects = 0;
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (typeof v !== 'object' || v === null) return;
      const keys = Object.keys(v);
      objects++;
      for (let i = 1; i < keys.length; i++) expect(qdictBucket(keys[i]!)).toBeGreaterThanOrEqual(qdictBucket(keys[i - 1]!));
      for (const k of keys) walk((v as Record<string, unknown>)[k]);
    };
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    } catch {
      return; // fixtures not present in this checkout
    }
    for (const f of files) {
      const fixture = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { exchanges?: { raw?: string[] }[] };
      for (const ex of fixture.exchanges ?? []) {
        for (const line of ex.raw ?? []) {
          // JSON.parse keeps textual order except for index-like keys; skip those objects
          if (/"\d+":/.test(line)) continue;
          walk(JSON.parse(line));
        }
      }
    }
    expect(objects).toBeGreaterThan(0);
  });
});

describe('quoteQemuString (QEMU string escaping)', () => {
  it('escapes like QEMU: short escapes, \\uXXXX uppercase for control, DEL and non-ASCII', () => {
    expect(quoteQemuString('a"b\\c/d')).toBe('"a\\"b\\\\c/d"');
    expect(quoteQemuString('\b\f\n\r\t')).toBe('"\\b\\f\\n\\r\\t"');
    expect(quoteQemuString('\u0000\u0001\u001f\u007f')).toBe('"\\u0000\\u0001\\u001F\\u007F"');
    expect(quoteQemuString('é€')).toBe('"\\u00E9\\u20AC"');
    expect(quoteQemuString('𝄞😀')).toBe('"\\uD834\\uDD1E\\uD83D\\uDE00"');
  });

  it('writes U+FFFD for what is not valid UTF-8 for QEMU (lone surrogates, noncharacters)', () => {
    expect(quoteQemuString('\ud800x\udc00')).toBe('"\\uFFFDx\\uFFFD"');
    expect(quoteQemuString('\ufffe\ufdd0\u{10ffff}')).toBe('"\\uFFFD\\uFFFD\\uFFFD"');
  });
});

describe('formatDouble: printf("%.17g")', () => {
  const cases: [number, string][] = [
    [0.1, '0.10000000000000001'],
    [0.3, '0.29999999999999999'],
    [1, '1'],
    [-0, '-0'],
    [123.456, '123.456'],
    [1e-5, '1.0000000000000001e-05'],
    [1e-4, '0.0001'],
    [-1.5e-7, '-1.4999999999999999e-07'],
    [1e16, '10000000000000000'],
    [1e17, '1e+17'],
    [1e20, '1e+20'],
    [1e21, '1e+21'],
    [-9223372036854775809, '-9.2233720368547758e+18'],
    [1125899906842624.25, '1125899906842624.2'], // exact tie: round half to even
    [5e-324, '4.9406564584124654e-324'],
    [2.2250738585072014e-308, '2.2250738585072014e-308'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [NaN, 'nan'],
  ];
  for (const [x, s] of cases) it(`${x} -> ${s}`, () => expect(formatDouble(x)).toBe(s));

  it('numbers: safe integers print as integers, others with %.17g', () => {
    expect(toQmpJson([0, -5, 9007199254740991, 2.5, 1e300])).toBe('[0, -5, 9007199254740991, 2.5, 1.0000000000000001e+300]');
  });
});
