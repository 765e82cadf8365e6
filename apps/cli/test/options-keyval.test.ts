import { describe, expect, it } from 'vitest';
import { CliError } from '../src/options/errors.js';
import { stderrOf } from './stderr.js';
import { formatQemuOptsHelp, parseKeyval, parseQemuOpts, type QemuOptsList } from '../src/options/keyval.js';
import { parseQemuJson } from '../src/options/json.js';
import { qemuStrtoi64, qemuStrtosz, qemuStrtou64 } from '../src/options/numbers.js';

const ANY: QemuOptsList = { name: 'device', implied: 'driver' };

describe('QemuOpts', () => {
  it('implied first value, ,, escapes, flags, empty items', () => {
    expect(parseQemuOpts('a,,b,c=d,,e,f', ANY).opts).toEqual([['driver', 'a,b'], ['c', 'd,e'], ['f', 'on']]);
    expect(parseQemuOpts('x=1', ANY).opts).toEqual([['x', '1']]);
    expect(parseQemuOpts('e1000,', ANY).opts).toEqual([['driver', 'e1000']]);
    expect(parseQemuOpts('e1000,,', ANY).opts).toEqual([['driver', 'e1000,']]);
    expect(parseQemuOpts('', ANY).opts).toEqual([]);
    expect(parseQemuOpts('a,noflag', ANY).opts).toEqual([['driver', 'a'], ['flag', 'off']]);
    expect(parseQemuOpts('a,b=', ANY).opts).toEqual([['driver', 'a'], ['b', '']]);
    // Without permit_abbrev the first bare word is a flag.
    expect(parseQemuOpts('a', ANY, { permitAbbrev: false, warnOnFlag: false }).opts).toEqual([['a', 'on']]);
  });

  it('rejects id in merged lists and checks ids before parsing', () => {
    const mem: QemuOptsList = { name: 'memory', implied: 'size', mergeLists: true, desc: [{ name: 'size', type: 'size' }] };
    expect(stderrOf(() => parseQemuOpts('1G,id=foo', mem, { location: '-m 1G,id=foo' }))).toBe(
      "plugboard: -m 1G,id=foo: Invalid parameter 'id'\n",
    );
    expect(stderrOf(() => parseQemuOpts('1G,id=1x', mem, { location: '-m 1G,id=1x' }))).toBe(
      "plugboard: -m 1G,id=1x: Invalid parameter 'id'\n",
    );
  });

  it('type-checks values of described lists', () => {
    const l: QemuOptsList = {
      name: 'test',
      desc: [
        { name: 'b', type: 'bool' },
        { name: 'n', type: 'number' },
        { name: 's', type: 'size' },
      ],
    };
    const p = (arg: string): string => stderrOf(() => parseQemuOpts(arg, l, { location: `-t ${arg}` }));
    expect(p('b=maybe')).toBe("plugboard: -t b=maybe: Parameter 'b' expects 'on' or 'off'\n");
    expect(p('b=ON')).toBe("plugboard: -t b=ON: Parameter 'b' expects 'on' or 'off'\n");
    expect(p('n=1x')).toBe("plugboard: -t n=1x: Parameter 'n' expects a number\n");
    expect(p('n=99999999999999999999')).toBe("plugboard: -t n=99999999999999999999: Value '99999999999999999999' is too large for parameter 'n'\n");
    expect(p('s=x')).toBe(
      "plugboard: -t s=x: Parameter 's' expects a non-negative number below 2^64\n" +
        'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.\n',
    );
    expect(p('s=16E')).toBe("plugboard: -t s=16E: Value '16E' is out of range for parameter 's'\n");
    expect(p('x=1')).toBe("plugboard: -t x=1: Invalid parameter 'x'\n");
    expect(p('=1')).toBe("plugboard: -t =1: Invalid parameter ''\n");
    expect(p('nohelp')).toBe(
      "plugboard: -t nohelp: warning: short-form boolean option 'nohelp' deprecated\nPlease use help=off instead\n" +
        "plugboard: -t nohelp: Invalid parameter 'help'\n",
    );
    for (const v of ['on', 'off', 'yes', 'no', 'true', 'false', 'y', 'n']) expect(parseQemuOpts(`b=${v}`, l).opts).toEqual([['b', v]]);
    for (const v of ['0x10', '010', '-1', '+3', ' 5']) expect(parseQemuOpts(`n=${v}`, l).opts).toEqual([['n', v]]);
  });

  it('help stops parsing, after earlier errors', () => {
    const l: QemuOptsList = { name: 'memory', implied: 'size', desc: [{ name: 'size', type: 'size' }, { name: 'slots', type: 'number' }] };
    try {
      parseQemuOpts('1G,help,foo=1', l);
      throw new Error('no throw');
    } catch (e) {
      expect((e as CliError).stdout).toBe('memory options:\n  size=<size>\n  slots=<num>\n');
      expect((e as CliError).exitCode).toBe(1);
    }
    expect(stderrOf(() => parseQemuOpts('1G,foo=1,help', l, { location: '-m 1G,foo=1,help' }))).toBe(
      "plugboard: -m 1G,foo=1,help: Invalid parameter 'foo'\n",
    );
  });

  it('formats help with descriptions at column 24', () => {
    expect(
      formatQemuOptsHelp({
        name: 'name',
        desc: [
          { name: 'guest', type: 'string', help: 'Sets the name of the guest.' },
          { name: 'debug-threads', type: 'bool', help: 'When enabled, name the individual threads; defaults off.' },
        ],
      }),
    ).toBe(
      'name options:\n' +
        '  debug-threads=<bool (on/off)> - When enabled, name the individual threads; defaults off.\n' +
        '  guest=<str>            - Sets the name of the guest.\n',
    );
  });
});

describe('keyval', () => {
  it('splits pairs, implied key only first and without ,, escaping', () => {
    expect(parseKeyval('q35,a=1,b.c=x,,y', 'type')).toEqual({ pairs: [['type', 'q35'], ['a', '1'], ['b.c', 'x,y']], help: false });
    expect(parseKeyval('sgx-epc.0.memdev=m,sgx-epc.0.node=0', 'type').pairs).toHaveLength(2);
    expect(parseKeyval('__com.redhat_x=1', 'type').pairs).toEqual([['__com.redhat_x', '1']]);
  });

  it('limits fragment length', () => {
    const long = 'a'.repeat(128);
    expect(stderrOf(() => parseKeyval(`${long}=1`, undefined, { location: '-M x' }))).toBe(`plugboard: -M x: Parameter '${long}' is too long\n`);
    expect(stderrOf(() => parseKeyval(`b.${long}=1`, undefined, { location: '-M x' }))).toBe(
      `plugboard: -M x: Parameter fragment '${long}' is too long\n`,
    );
    expect(parseKeyval(`${'a'.repeat(127)}=1`, undefined).pairs).toHaveLength(1);
  });

  it('help where not available', () => {
    expect(stderrOf(() => parseKeyval('none,help', 'type', { location: '-display none,help', helpAllowed: false }))).toBe(
      'plugboard: -display none,help: Help is not available for this option\n',
    );
  });
});

describe('numbers', () => {
  const sz = (s: string): string => {
    const r = qemuStrtosz(s);
    return r.ok ? `${r.value}${r.hexSuffix ? ' hex' : ''}` : r.error;
  };
  it('qemu_strtosz as QEMU 7.2 (values checked through -m on the real binary)', () => {
    expect(sz('1.5M')).toBe(String(1.5 * 2 ** 20));
    expect(sz('1.5G')).toBe(String(0x60000000));
    expect(sz('1.k')).toBe('1024');
    expect(sz('1.25k')).toBe('1280');
    expect(sz(' 1')).toBe('1');
    expect(sz('+1')).toBe('1');
    expect(sz('1b')).toBe('1');
    expect(sz('1t')).toBe(String(2 ** 40));
    expect(sz('15E')).toBe(String(15n << 60n));
    expect(sz('16E')).toBe('ERANGE');
    expect(sz('1.0')).toBe('1');
    expect(sz('1.')).toBe('1');
    expect(sz('1.0b')).toBe('1');
    expect(sz('1.5')).toBe('EINVAL');
    expect(sz('1.5b')).toBe('EINVAL');
    expect(sz('1e3')).toBe('EINVAL');
    expect(sz('1.5e0M')).toBe('EINVAL');
    expect(sz('.5M')).toBe('EINVAL');
    expect(sz('1..5M')).toBe('EINVAL');
    expect(sz('1 ')).toBe('EINVAL');
    expect(sz('-1')).toBe('EINVAL');
    expect(sz('')).toBe('EINVAL');
    expect(sz('0x')).toBe('EINVAL');
    expect(sz('0x10')).toBe('16');
    expect(sz('0x100000b')).toBe(String(0x100000b));
    expect(sz('0x10M')).toBe(`${16 * 2 ** 20} hex`);
    expect(sz('0x1.5M')).toBe('EINVAL');
    expect(sz('0x10000000000000000')).toBe('ERANGE');
    expect(sz('99999999999999999999')).toBe('ERANGE');
    expect(sz('18446744073709551615b')).toBe('18446744073709551615');
    expect(sz('18446744073709551616b')).toBe('EINVAL');
    expect(sz('1.0000001M')).toBe(String(2 ** 20));
    expect(sz('0.9999999999999999999k')).toBe('0');
  });

  it('strtou64 / strtoi64 with base 0', () => {
    expect(qemuStrtou64('-1')).toEqual({ ok: true, value: 2n ** 64n - 1n });
    expect(qemuStrtou64('0x10')).toEqual({ ok: true, value: 16n });
    expect(qemuStrtou64('010')).toEqual({ ok: true, value: 8n });
    expect(qemuStrtou64('5 ')).toEqual({ ok: false, error: 'EINVAL' });
    expect(qemuStrtou64('18446744073709551616')).toEqual({ ok: false, error: 'ERANGE' });
    expect(qemuStrtoi64('-4')).toEqual({ ok: true, value: -4n });
    expect(qemuStrtoi64('18446744073709551615')).toEqual({ ok: false, error: 'ERANGE' });
    expect(qemuStrtoi64('4.0')).toEqual({ ok: false, error: 'EINVAL' });
  });
});

describe('QEMU JSON', () => {
  const err = (s: string): string => {
    try {
      parseQemuJson(s);
    } catch (e) {
      return (e as Error).message;
    }
    return 'ok';
  };
  it('accepts what QEMU accepts', () => {
    expect(parseQemuJson("{'driver':'e1000','x':'it\\'s'}")).toEqual({ driver: 'e1000', x: "it's" });
    expect(parseQemuJson('{"a":"\\u00e9\\ud83d\\ude00\\/","b":[1,-0,1.5,1e400],"c":{}}')).toEqual({
      a: 'é😀/',
      b: [1, 0, 1.5, Infinity], // -0 is the integer 0 for QEMU
      c: {},
    });
    expect(parseQemuJson('{"a":18446744073709551615,"b":-9223372036854775808}')).toEqual({
      a: 18446744073709551615n,
      b: -9223372036854775808n,
    });
    expect(parseQemuJson('{"a":1} ')).toEqual({ a: 1 });
  });

  it("words errors as QEMU's json-parser (each checked on qemu-system-x86_64 7.2)", () => {
    const cases: Array<[string, string]> = [
      ['{', 'JSON parse error, premature EOI'],
      ['{"a":1,', 'JSON parse error, premature EOI'],
      ['{"a" 1}', 'JSON parse error, missing : in object pair'],
      ['{1:2}', 'JSON parse error, key is not a string in object'],
      ['{"a":1 "b":2}', 'JSON parse error, expected separator in dict'],
      ['{"a":tru}', "JSON parse error, invalid keyword 'tru'"],
      ['{"a":[1,2}', 'JSON parse error, expected separator in list'],
      ['{"a":1,}', 'JSON parse error, expecting value'],
      ['{"a":"x\\q"}', 'JSON parse error, invalid escape sequence in string'],
      ['{"a":01}', "JSON parse error, stray '01'"],
      ['{"a":-}', "JSON parse error, stray '-}'"],
      ['{"a":1}}', 'Expecting at most one JSON value'],
      ['{"a":1}]', 'Expecting at most one JSON value'],
      ['{"a":1}{}', 'Expecting at most one JSON value'],
      ['{"a":1}  x', 'Expecting at most one JSON value'],
      ['{"a":@}', "JSON parse error, stray '@'"],
      ['{"a":"\\ud800"}', 'JSON parse error, \\ud800 is not a valid Unicode character'],
      ['{"a":"\\udc00"}', 'JSON parse error, \\udc00 is not a valid Unicode character'],
      ['{"a":"\\uZZZZ"}', 'JSON parse error, \\uZZZZ is not a valid Unicode character'],
      ['{"a":"\\u12"}', 'JSON parse error, \\u12" is not a valid Unicode character'],
      ['{"a":"unterminated}', 'JSON parse error, stray \'"unterminated}\''],
      ['{"a":"x\ty"}', 'JSON parse error, stray \'"x\t\''],
      ['{"a": TRUE}', "JSON parse error, stray 'T'"],
      ['{"a":true1}', 'JSON parse error, expected separator in dict'],
      ['{"a":1.}', "JSON parse error, stray '1.}'"],
      ['{"a":.5}', "JSON parse error, stray '.'"],
      ['{"a":1e}', "JSON parse error, stray '1e}'"],
      ['{"a":+1}', "JSON parse error, stray '+'"],
      ['{"a":nul}', "JSON parse error, invalid keyword 'nul'"],
      ['{"d":"e","d":"f"}', 'JSON parse error, duplicate key'],
      ['{"a" : 1 , }', 'JSON parse error, expecting value'],
    ];
    for (const [input, msg] of cases) expect([input, err(input)]).toEqual([input, msg]);
  });
});
