/**
 * What QMP and HMP make of awkward input that once leaked JavaScript behaviour (formerly
 * known-bugs.ts): int arguments beyond 2^53, HMP's quoted strings, option names that are
 * magic in JavaScript. Expected texts were observed on QEMU 7.2 (Debian 1:7.2+dfsg-7+deb12u18)
 * where QEMU has the command; Plugboard's own commands answer in QEMU's phrasing.
 */
import { describe, expect, it } from 'vitest';
import { PlugboardServer } from '../src/index.js';
import { memoryClient } from './reliability/helpers.js';

async function client(devices: Array<Record<string, string>> = []) {
  const s = PlugboardServer.create({ type: 'pc', nodefaults: true, devices: devices.map((opts) => ({ opts })) });
  return { s, c: await memoryClient(s) };
}

const hmp = (line: string) => ({ execute: 'human-monitor-command', arguments: { 'command-line': line } });

describe('int arguments beyond 2^53 (bigint)', () => {
  it('__org.plugboard_clock-step refuses a step past the exact range of virtual time, and still steps', async () => {
    const { s, c } = await client();
    expect(await c.request({ execute: '__org.plugboard_clock-step', arguments: { ns: 2n ** 53n + 1n } })).toEqual({
      error: { class: 'GenericError', desc: "Parameter 'ns' expects an integer in the range of 0 to 9007199254740991" },
    });
    expect(await c.request({ execute: '__org.plugboard_clock-step', arguments: { ns: -(2n ** 60n) } })).toEqual({
      error: { class: 'GenericError', desc: "Parameter 'ns' expects a non-negative number" },
    });
    expect(await c.request({ execute: '__org.plugboard_clock-step', arguments: { ns: 1000 } })).toEqual({ return: { 'virtual-ns': 1000 } });
    // The room left shrinks as time goes on.
    expect(await c.request({ execute: '__org.plugboard_clock-step', arguments: { ns: 2 ** 53 - 1 } })).toEqual({
      error: { class: 'GenericError', desc: "Parameter 'ns' expects an integer in the range of 0 to 9007199254739991" },
    });
    expect(s.machine.clock.nowNs()).toBe(1000);
  });

  it('__org.plugboard_config-read refuses huge offsets and sizes with its range', async () => {
    const { c } = await client([{ driver: 'e1000', id: 'n' }]);
    expect(await c.request({ execute: '__org.plugboard_config-read', arguments: { id: 'n', offset: 2n ** 60n, size: 4 } })).toEqual({
      error: { class: 'GenericError', desc: "Parameter 'offset' expects a value below 253" },
    });
    expect(await c.request({ execute: '__org.plugboard_config-read', arguments: { id: 'n', offset: 0, size: 2n ** 60n + 4n } })).toEqual({
      error: { class: 'GenericError', desc: "Parameter 'size' expects 1, 2 or 4" },
    });
    expect(await c.request({ execute: '__org.plugboard_config-read', arguments: { id: 'n', offset: 0, size: 2 } })).toEqual({ return: 0x8086 });
  });

  it('human-monitor-command cpu-index is an int for monitor_set_cpu(): 2^32 is CPU 0, 2^60 + 1 is CPU 1', async () => {
    const { c } = await client();
    expect(await c.request({ ...hmp('info status'), arguments: { 'command-line': 'info status', 'cpu-index': 2n ** 32n } })).toEqual({
      return: 'VM status: paused (prelaunch)\r\n',
    });
    expect(await c.request({ ...hmp('info status'), arguments: { 'command-line': 'info status', 'cpu-index': 2n ** 60n + 1n } })).toEqual({
      error: { class: 'GenericError', desc: "Parameter 'cpu-index' expects a CPU number" },
    });
  });

  it('device_add converts an int64 property value to text as qemu_opts_from_qdict does', async () => {
    const { c } = await client();
    expect(await c.request({ execute: 'device_add', arguments: { driver: 'e1000', id: 'a', romsize: 2n ** 60n + 1n } })).toEqual({
      error: { class: 'GenericError', desc: "Parameter 'romsize' expects uint32_t" },
    });
    expect(await c.request({ execute: 'device_add', arguments: { driver: 'e1000', id: 'b', addr: 2n ** 60n + 1n } })).toEqual({
      error: { class: 'GenericError', desc: "Property 'e1000.addr' doesn't take value '1152921504606846977'" },
    });
  });
});

describe('HMP string arguments (monitor/hmp.c get_str)', () => {
  const expected: Array<[string, string]> = [
    // Failures: QEMU prints the reason on its stdout; the monitor shows only these lines.
    ['device_del "abc', 'device_del: string expected\r\nTry "help device_del" for more information\r\n'],
    ['device_del "a\\qc"', 'device_del: string expected\r\nTry "help device_del" for more information\r\n'],
    ['device_del "a\\u0041"', 'device_del: string expected\r\nTry "help device_del" for more information\r\n'],
    ['device_del "a\\tb"', 'device_del: string expected\r\nTry "help device_del" for more information\r\n'],
    ['device_del "a\\', 'device_del: string expected\r\nTry "help device_del" for more information\r\n'],
    ['device_del "a b" extra', 'device_del: extraneous characters at the end of line\r\nTry "help device_del" for more information\r\n'],
    ['device_del "a b"x', 'device_del: extraneous characters at the end of line\r\nTry "help device_del" for more information\r\n'],
    ['device_del x"a b"', 'device_del: extraneous characters at the end of line\r\nTry "help device_del" for more information\r\n'],
    ['qom-get "/machine/peripheral/n" "type', 'qom-get: string expected\r\nTry "help qom-get" for more information\r\n'],
    // The escapes it knows; the monitor writes '\n' as CRLF.
    ['device_del "a\\nb"', "Error: Device 'a\r\nb' not found\r\n"],
    ['device_del "a\\rb"', "Error: Device 'a\rb' not found\r\n"],
    ['device_del "a\\\\b"', "Error: Device 'a\\b' not found\r\n"],
    ['device_del "a\\"b"', "Error: Device 'a\"b' not found\r\n"],
    ["device_del \"a\\'b\"", "Error: Device 'a'b' not found\r\n"],
    ['device_del "a b"', "Error: Device 'a b' not found\r\n"],
    // An empty id names /machine/peripheral itself (find_device_state).
    ['device_del ""', 'Error:  is not a hotpluggable device\r\n'],
    // C's isspace() separates arguments, not Unicode spaces.
    ['device_del\va', "Error: Device 'a' not found\r\n"],
    ['device_del a\u00a0b', "Error: Device 'a\u00a0b' not found\r\n"],
    ['qom-get "n" "typ\\"e"', "Error: Property 'e1000.typ\"e' not found\r\n"],
    ['qom-get "/machine/peripheral/n" "type"', '"e1000"\r\n'],
    // device_add's QemuOpts text is one get_str() word: quotes allowed, nothing after it.
    ['device_add "e1000,id=x', 'Try "help device_add" for more information\r\n'],
    ['device_add "e1000,id=q\\q"', 'Try "help device_add" for more information\r\n'],
    ['device_add e1000,id=q2 extra', 'device_add: extraneous characters at the end of line\r\nTry "help device_add" for more information\r\n'],
    ['device_add "e1000,id=q1"', ''],
    // help splits its words itself and prints nothing when that fails.
    ['help "device_del', ''],
    ['help "device_del"', 'device_del device -- remove device\r\n'],
    ['help device_del x y', 'device_del device -- remove device\r\n'],
    ['help info pci x', 'info pci  -- show PCI info\r\n'],
    ['help info nosuch', "unknown command: 'info nosuch'\r\n"],
    ['help a b', "unknown command: 'a'\r\n"],
    ['info "pci"', "unknown command: 'info \"pci\"'\r\n"],
  ];
  it.each(expected)('%j', async (line, out) => {
    const { c } = await client([{ driver: 'e1000', id: 'n' }]);
    expect(await c.request(hmp(line))).toEqual({ return: out });
  });

  it('cuts a string argument at 1023 bytes, as the monitor\'s buffer does', async () => {
    const { c } = await client();
    const long = 'a'.repeat(1100);
    for (const line of [`device_del ${long}`, `device_del "${long}"`]) {
      expect(await c.request(hmp(line))).toEqual({ return: `Error: Device '${'a'.repeat(1023)}' not found\r\n` });
    }
    // "e1000,id=" + 1014 letters: the id that remains is valid and the add succeeds.
    expect(await c.request(hmp(`device_add e1000,id=${long}`))).toEqual({ return: '' });
    expect(await c.request({ execute: 'qom-get', arguments: { path: `/machine/peripheral/${'a'.repeat(1014)}`, property: 'type' } })).toEqual({ return: 'e1000' });
  });
});

describe('option and member names that are magic in JavaScript', () => {
  const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

  it.each(names)('device_add refuses a %s property over QMP and HMP, as an unknown property', async (name) => {
    const { s, c } = await client();
    // JSON gives an own member of that name (QMP's parser, like JSON.parse).
    const qmp = await c.request(JSON.parse(`{"execute": "device_add", "arguments": {"driver": "e1000", "id": "a", "${name}": "1"}}`) as Record<string, unknown>);
    const hmpReply = await c.request(hmp(`device_add e1000,id=b,${name}=1`));
    const flag = await c.request(hmp(`device_add e1000,id=c,${name}`));
    expect([qmp, hmpReply, flag]).toEqual([
      { error: { class: 'GenericError', desc: `Property 'e1000.${name}' not found` } },
      { return: `Error: Property 'e1000.${name}' not found\r\n` },
      { return: `Error: Property 'e1000.${name}' not found\r\n` },
    ]);
    expect([...s.machine.devices()].filter((d) => d.typeName === 'e1000')).toEqual([]);
  });

  it.each(names)('%s as a driver, bus, id, path, command or argument is just an unknown name', async (name) => {
    const { c } = await client([{ driver: 'e1000', id: 'n' }]);
    const replies = await Promise.all([
      c.request({ execute: 'device_add', arguments: { driver: name } }),
      c.request(hmp(`device_add driver=${name}`)),
      c.request({ execute: 'device_add', arguments: { driver: 'e1000', bus: name } }),
      c.request({ execute: 'device_del', arguments: { id: name } }),
      c.request({ execute: 'qom-get', arguments: { path: 'n', property: name } }),
      c.request({ execute: 'device-list-properties', arguments: { typename: name } }),
      c.request(hmp(name)),
      c.request(hmp(`help ${name}`)),
      c.request(hmp(`info ${name}`)),
      c.request({ execute: name }),
      c.request(JSON.parse(`{"execute": "query-status", "arguments": {"${name}": 1}}`) as Record<string, unknown>),
    ]);
    expect(replies).toEqual([
      { error: { class: 'GenericError', desc: `'${name}' is not a valid device model name` } },
      { return: `Error: '${name}' is not a valid device model name\r\n` },
      { error: { class: 'GenericError', desc: `Bus '${name}' not found` } },
      { error: { class: 'DeviceNotFound', desc: `Device '${name}' not found` } },
      { error: { class: 'GenericError', desc: `Property 'e1000.${name}' not found` } },
      { error: { class: 'DeviceNotFound', desc: `Device '${name}' not found` } },
      { return: `unknown command: '${name}'\r\n` },
      { return: `unknown command: '${name}'\r\n` },
      { return: `unknown command: 'info ${name}'\r\n` },
      { error: { class: 'CommandNotFound', desc: `The command ${name} has not been found` } },
      { error: { class: 'GenericError', desc: `Parameter '${name}' is unexpected` } },
    ]);
  });
});
