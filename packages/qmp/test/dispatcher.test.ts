import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { checkArguments, JsonStreamer, qapiEnum, qdictOrder, QmpDispatcher, QmpError, QmpServer } from '../src/index.js';
import { ghashKeyOrder, makeDispatcher, QEMU_VERSION } from './helpers.js';

/** A session over in-memory streams: send bytes, read reply lines. */
function harness(dispatcher = makeDispatcher(), opts: { oob?: boolean; machineReady?: boolean } = {}) {
  const server = new QmpServer({ dispatcher, version: QEMU_VERSION });
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (d: Buffer) => (text += d.toString('utf8')));
  const session = server.attachStream({ input, output }, { oob: opts.oob });
  const lines = (): string[] => text.split('\r\n').slice(0, -1);
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  return {
    server,
    session,
    async send(data: string): Promise<string[]> {
      const before = lines().length;
      input.write(data);
      await flush();
      return lines().slice(before);
    },
    lines,
    async negotiated(): Promise<void> {
      const r = await this.send('{"execute":"qmp_capabilities"}');
      expect(r).toEqual(['{"return": {}}']);
    },
  };
}

const err = (desc: string, id?: string, cls = 'GenericError'): string =>
  id === undefined ? `{"error": {"class": "${cls}", "desc": "${desc}"}}` : `{"id": ${id}, "error": {"class": "${cls}", "desc": "${desc}"}}`;

describe('request validation (qapi/qmp-dispatch.c)', () => {
  it('greets first', async () => {
    const h = harness();
    await h.send('');
    expect(h.lines()[0]).toBe(
      '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}',
    );
  });

  it('offers no capabilities on a stream without OOB, and refuses to enable it', async () => {
    const h = harness(undefined, { oob: false });
    await h.send('');
    expect(h.lines()[0]).toMatch(/"capabilities": \[\]\}\}$/);
    expect(await h.send('{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}')).toEqual([err('Capability oob not available')]);
  });

  const cases: [string, string[]][] = [
    ['[]', [err('QMP input must be a JSON object')]],
    ['"str"', [err('QMP input must be a JSON object')]],
    ['{"exec":1}', [err("QMP input member 'exec' is unexpected")]],
    ['{"execute":1}', [err("QMP input member 'execute' must be a string")]],
    ['{}', [err("QMP input lacks member 'execute'")]],
    ['{"id":5}', [err("QMP input lacks member 'execute'", '5')]],
    ['{"execute":"query-status","arguments":[]}', [err("QMP input member 'arguments' must be an object")]],
    ['{"execute":"query-status","id":"a","id2":1}', [err("QMP input member 'id2' is unexpected", '"a"')]],
    ['{"execute":"nosuch"}', [err('The command nosuch has not been found', undefined, 'CommandNotFound')]],
    ['{"execute":"query-status","exec-oob":"x"}', [err("QMP input member 'exec-oob' is unexpected")]],
    ['{"exec-oob":"query-status"}', [err("QMP input member 'exec-oob' is unexpected")]],
    ['{"execute":"query-status","id":null}', ['{"return": {"status": "prelaunch", "singlestep": false, "running": false}, "id": null}']],
    ['{"execute":"query-status","id":{"a":[1]}}', ['{"return": {"status": "prelaunch", "singlestep": false, "running": false}, "id": {"a": [1]}}']],
    ['{"execute":"qmp_capabilities"}', [err('Capabilities negotiation is already complete, command ignored', undefined, 'CommandNotFound')]],
  ];
  for (const [input, expected] of cases) {
    it(input, async () => {
      const h = harness();
      await h.negotiated();
      expect(await h.send(input)).toEqual(expected);
    });
  }

  it('checks members in QDict order: the first complaint is the one QEMU makes', async () => {
    const h = harness();
    await h.negotiated();
    expect(await h.send('{"foo":2,"execute":1}')).toEqual([err("QMP input member 'execute' must be a string")]);
    expect(await h.send('{"arguments":1,"execute":1,"zz":1}')).toEqual([err("QMP input member 'execute' must be a string")]);
  });
});

describe('capabilities negotiation', () => {
  it('only qmp_capabilities before negotiation; unknown commands get the negotiation hint', async () => {
    const h = harness();
    const hint = err("Expecting capabilities negotiation with 'qmp_capabilities'", undefined, 'CommandNotFound');
    expect(await h.send('{"execute":"query-status"}')).toEqual([hint]);
    expect(await h.send('{"execute":"nosuch"}')).toEqual([hint]);
    expect(await h.send('{"exec":1}')).toEqual([err("QMP input member 'exec' is unexpected")]);
    expect(h.session.negotiated).toBe(false);
  });

  it('rejects unknown capabilities with the enum error', async () => {
    const h = harness();
    expect(await h.send('{"execute":"qmp_capabilities","arguments":{"enable":["foo"]}}')).toEqual([
      err("Parameter 'null' does not accept value 'foo'"),
    ]);
    expect(await h.send('{"execute":"qmp_capabilities","arguments":{"enable":"oob"}}')).toEqual([
      err("Invalid parameter type for 'enable', expected: array"),
    ]);
    expect(await h.send('{"execute":"qmp_capabilities","arguments":{"enable":[1]}}')).toEqual([
      err("Invalid parameter type for 'enable[0]', expected: string"),
    ]);
    expect(await h.send('{"execute":"qmp_capabilities","id":"x","arguments":{"enable":["oob"]}}')).toEqual(['{"return": {}, "id": "x"}']);
    expect(h.session.negotiated).toBe(true);
    expect(h.session.oobEnabled).toBe(true);
  });
});

describe('out-of-band execution', () => {
  it('runs allow-oob commands, refuses others, and lets them overtake queued requests', async () => {
    const d = makeDispatcher();
    let release!: () => void;
    d.register({ name: 'slow', handler: () => new Promise<string>((r) => (release = () => r('done'))) });
    d.register({ name: 'fast-oob', allowOob: true, handler: () => 'oob' });
    const h = harness(d);
    await h.send('{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}');
    expect(await h.send('{"exec-oob":"query-status","id":1}')).toEqual([err('The command query-status does not support OOB', '1')]);
    expect(await h.send('{"execute":"query-status","exec-oob":"query-status","id":3}')).toEqual([
      err("QMP input member 'execute' clashes with 'exec-oob'", '3'),
    ]);
    expect(await h.send('{"execute":"slow","id":"s"}{"execute":"query-status","id":"q"}{"exec-oob":"fast-oob","id":"o"}')).toEqual([
      '{"return": "oob", "id": "o"}',
    ]);
    release();
    await h.send('');
    expect(h.lines().slice(-2)).toEqual(['{"return": "done", "id": "s"}', '{"return": {"status": "prelaunch", "singlestep": false, "running": false}, "id": "q"}']);
  });
});

describe('preconfig', () => {
  it('refuses commands without allowPreconfig until the machine is ready', async () => {
    let ready = false;
    const d = new QmpDispatcher({ machineReady: () => ready });
    d.register({ name: 'query-status', handler: () => ({}) });
    d.register({ name: 'x-exit-preconfig', allowPreconfig: true, handler: () => void (ready = true) });
    const h = harness(d);
    await h.negotiated();
    expect(await h.send('{"execute":"query-status"}')).toEqual([
      err("The command 'query-status' is permitted only after machine initialization has completed"),
    ]);
    expect(await h.send('{"execute":"x-exit-preconfig"}')).toEqual(['{"return": {}}']);
    expect(await h.send('{"execute":"query-status"}')).toEqual(['{"return": {}}']);
  });
});

describe('handlers', () => {
  it('return values, QmpError classes, plain exceptions, async handlers, context', async () => {
    const d = new QmpDispatcher();
    const seen: unknown[] = [];
    d.register({ name: 'nothing', handler: () => undefined });
    d.register({ name: 'null', handler: () => null });
    d.register({ name: 'notfound', handler: () => Promise.reject(new QmpError('DeviceNotFound', "Device 'x' not found")) });
    d.register({
      name: 'boom',
      handler: () => {
        throw new Error('oops');
      },
    });
    d.register({
      name: 'ctx',
      args: { '*n': 'int' },
      handler: async (args, ctx) => {
        seen.push(ctx.id, ctx.oob, ctx.session.id, args.n);
        ctx.afterReply(() => seen.push('after'));
        return { n: args.n };
      },
    });
    const h = harness(d);
    await h.negotiated();
    expect(await h.send('{"execute":"nothing"}{"execute":"null"}{"execute":"notfound","id":1}{"execute":"boom"}')).toEqual([
      '{"return": {}}',
      '{"return": null}',
      err("Device 'x' not found", '1', 'DeviceNotFound'),
      err('oops'),
    ]);
    expect(await h.send('{"execute":"ctx","id":[7],"arguments":{"n":12345678901234567890}}')).toEqual([
      err("Invalid parameter type for 'n', expected: integer", '[7]'),
    ]);
    expect(await h.send('{"execute":"ctx","id":[7],"arguments":{"n":-9223372036854775808}}')).toEqual([
      '{"return": {"n": -9223372036854775808}, "id": [7]}',
    ]);
    expect(seen).toEqual([[7], false, h.session.id, -9223372036854775808n, 'after']);
  });

  it('registry: register, replace, unregister, names', () => {
    const d = new QmpDispatcher();
    expect(d.names()).toEqual(['qmp_capabilities']);
    d.register({ name: 'a', handler: () => 1 });
    expect(d.has('a')).toBe(true);
    expect(d.unregister('a')).toBe(true);
    expect(d.has('a')).toBe(false);
  });
});

describe('checkArguments (qapi/qobject-input-visitor.c)', () => {
  const schema = {
    type: qapiEnum('static', 'full'),
    model: { name: 'str', '*props': 'any' },
    '*list': [{ key: 'int', '*flag': 'bool' }],
    '*num': 'number',
    '*nil': 'null',
    '*u': 'uint64',
  } as const;
  const check = (json: string): string | null => {
    let v: Record<string, unknown> = {};
    // parse with the real streamer so floats are marked
    new JsonStreamer((i) => (v = i.value as Record<string, unknown>)).feed(json);
    return checkArguments(v, schema as never, ghashKeyOrder);
  };

  const cases: [string, string | null][] = [
    ['{"type":"static","model":{"name":"max"}}', null],
    ['{"model":{"name":"max"}}', "Parameter 'type' is missing"],
    ['{"type":1,"model":{"name":"max"}}', "Invalid parameter type for 'type', expected: string"],
    ['{"type":"nope","model":{"name":"max"}}', "Parameter 'type' does not accept value 'nope'"],
    ['{"type":"full","model":1}', "Invalid parameter type for 'model', expected: object"],
    ['{"type":"full","model":{"nam":"max"}}', "Parameter 'model.name' is missing"],
    ['{"type":"full","model":{"name":"max","x":1}}', "Parameter 'model.x' is unexpected"],
    ['{"type":"full","model":{"name":"m"},"list":{}}', "Invalid parameter type for 'list', expected: array"],
    ['{"type":"full","model":{"name":"m"},"list":[1]}', "Invalid parameter type for 'list[0]', expected: object"],
    ['{"type":"full","model":{"name":"m"},"list":[{"key":1},{"key":"1"}]}', "Invalid parameter type for 'list[1].key', expected: integer"],
    ['{"type":"full","model":{"name":"m"},"list":[{"key":1.0}]}', "Invalid parameter type for 'list[0].key', expected: integer"],
    ['{"type":"full","model":{"name":"m"},"list":[{}]}', "Parameter 'list[0].key' is missing"],
    ['{"type":"full","model":{"name":"m"},"list":[{"key":1,"flag":0}]}', "Invalid parameter type for 'list[0].flag', expected: boolean"],
    ['{"type":"full","model":{"name":"m"},"list":[{"key":1,"z":0}]}', "Parameter 'list[0].z' is unexpected"],
    ['{"type":"full","model":{"name":"m"},"num":"1"}', "Invalid parameter type for 'num', expected: number"],
    ['{"type":"full","model":{"name":"m"},"num":1e400}', null],
    ['{"type":"full","model":{"name":"m"},"nil":0}', "Invalid parameter type for 'nil', expected: null"],
    ['{"type":"full","model":{"name":"m"},"u":-1}', null],
    ['{"type":"full","model":{"name":"m"},"u":18446744073709551615}', null],
    ['{"type":"full","model":{"name":"m"},"u":1.5}', "Parameter 'u' expects uint64"],
    ['{"type":"full","model":{"name":"m"},"a":1,"b":2,"c":3,"d":4,"e":5}', "Parameter 'e' is unexpected"], // GLib order, observed
  ];
  for (const [json, expected] of cases) it(json, () => expect(check(json)).toBe(expected));

  it('names the same unexpected member as QEMU when there are several', () => {
    expect(checkArguments({ id: 'x', y: 1, z: 2, w: 3 }, { id: 'str' }, ghashKeyOrder)).toBe("Parameter 'z' is unexpected");
  });

  it('without a table order names the first unexpected member in QDict order', () => {
    expect(qdictOrder({ id: 'x', y: 1, z: 2, w: 3 })).toEqual(['w', 'y', 'z', 'id']);
    expect(checkArguments({ id: 'x', y: 1, z: 2, w: 3 }, { id: 'str' })).toBe("Parameter 'w' is unexpected");
  });
});

