import { promises as fsp } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { QmpClient, QmpDispatcher, QmpError, QmpServer, bindUnix, greetingLine, type OpenedMonitors, type QmpServerOptions, type QmpSession } from '../src/index.js';
import { GREETING, makeDispatcher, QEMU_VERSION, RawConn, sleep, tmpSocketPath } from './helpers.js';

const servers: QmpServer[] = [];
const clients: { close(): unknown }[] = [];

async function start(opts: Partial<QmpServerOptions> = {}, dispatcher = makeDispatcher()): Promise<{ server: QmpServer; sock: string }> {
  const server = new QmpServer({ dispatcher, version: QEMU_VERSION, ...opts });
  servers.push(server);
  const sock = tmpSocketPath();
  await server.listenUnix(sock);
  return { server, sock };
}

async function raw(sock: string | number): Promise<RawConn> {
  const c = await RawConn.connect(sock);
  clients.push(c);
  return c;
}

async function client(sock: string, negotiate = true): Promise<QmpClient> {
  const c = await QmpClient.connect(sock, { negotiate });
  clients.push(c);
  return c;
}

async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(2);
  }
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const STATUS = '{"status": "prelaunch", "singlestep": false, "running": false}';

describe('unix socket listener', () => {
  it('greets each client, with mode 0600 on the socket file', async () => {
    const { sock } = await start();
    const st = await fsp.stat(sock);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    const c = await raw(sock);
    expect(await c.take(1)).toEqual([GREETING]);
  });

  it('honours a custom mode, replaces a stale socket file and removes its file on close', async () => {
    const sock = tmpSocketPath('stale');
    // a crashed process leaves its socket file behind: listen, then exit without cleanup
    execFileSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.exit(0))`]);
    await fsp.stat(sock);
    const server = new QmpServer({ dispatcher: makeDispatcher(), version: QEMU_VERSION });
    await server.listenUnix(sock, { mode: 0o660 });
    expect((await fsp.stat(sock)).mode & 0o777).toBe(0o660);
    const c = await raw(sock);
    expect(await c.take(1)).toEqual([GREETING]);
    c.close();
    await server.close();
    await expect(fsp.stat(sock)).rejects.toThrow();
  });

  it('leaves a non-socket file alone and fails', async () => {
    const p = tmpSocketPath('file');
    await fsp.writeFile(p, 'x');
    const server = new QmpServer({ dispatcher: makeDispatcher(), version: QEMU_VERSION });
    try {
      await expect(server.listenUnix(p)).rejects.toThrow('EADDRINUSE');
      expect(await fsp.readFile(p, 'utf8')).toBe('x');
    } finally {
      await fsp.rm(p, { force: true });
      await server.close();
    }
  });
});

describe('monitors opened before the server (adopt)', () => {
  /** What a command line does before it loads the machine: bind, greet, leave requests unread. */
  async function openEarly(sock: string): Promise<OpenedMonitors> {
    const m: OpenedMonitors = { unix: [], tcp: [], greeted: [] };
    const line = greetingLine(QEMU_VERSION) + '\r\n';
    const listener = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.write(line);
      m.greeted.push({ socket, transport: 'unix' });
    });
    m.unix.push(await bindUnix(listener, sock));
    return m;
  }

  it('clients are greeted before the server exists; their requests run in order once it adopts them; later clients too', async () => {
    const sock = tmpSocketPath('early');
    const early = await openEarly(sock);
    const a = await raw(sock);
    const b = await raw(sock);
    expect(await a.take(1)).toEqual([GREETING]);
    expect(await b.take(1)).toEqual([GREETING]);
    a.send('{"execute":"qmp_capabilities","id":1}{"execute":"query-status","id":2}{"exe');
    b.send('{"execute":"query-status","id":"b"}\n');
    a.send('cute":"nosuch","id":3}');
    await sleep(30);
    expect(a.lines.length + b.lines.length).toBe(0);
    const server = new QmpServer({ dispatcher: makeDispatcher(), version: QEMU_VERSION });
    servers.push(server);
    server.adopt(early);
    expect(server.sessions().length).toBe(2);
    expect(await a.take(3)).toEqual([
      '{"return": {}, "id": 1}',
      `{"return": ${STATUS}, "id": 2}`,
      '{"id": 3, "error": {"class": "CommandNotFound", "desc": "The command nosuch has not been found"}}',
    ]);
    expect(await b.take(1)).toEqual([
      '{"id": "b", "error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with \'qmp_capabilities\'"}}',
    ]);
    const c = await raw(sock);
    await c.negotiate();
    expect(server.sessions().length).toBe(3);
    await server.close();
    await expect(fsp.stat(sock)).rejects.toThrow();
  });

  it('a client gone before the adoption: its session ends at its EOF, its requests dropped as QEMU does; the others are served', async () => {
    const sock = tmpSocketPath('early-gone');
    const early = await openEarly(sock);
    const a = await raw(sock);
    const b = await raw(sock);
    await a.take(1);
    await b.take(1);
    a.send('{"execute":"qmp_capabilities"}{"execute":"query-status"}');
    a.close();
    await sleep(20);
    const server = new QmpServer({ dispatcher: makeDispatcher(), version: QEMU_VERSION });
    servers.push(server);
    server.adopt(early);
    await until(() => server.sessions().length === 1);
    b.send('{"execute":"qmp_capabilities"}');
    expect(await b.take(1)).toEqual(['{"return": {}}']);
  });
});

describe('socket file mode and module resolution', () => {
  it('the socket is bound with its mode whatever the umask, never more open in between', async () => {
    let old: number | undefined;
    try {
      old = process.umask(0);
    } catch {
      return; // a worker thread: the staged path is taken, covered by the mode tests above
    }
    try {
      const { sock } = await start();
      expect((await fsp.stat(sock)).mode & 0o777).toBe(0o600);
      expect(process.umask(0)).toBe(0); // restored
    } finally {
      process.umask(old);
    }
  });

  it('module resolution afterwards still follows symlinks (Node 20 realpathSync reads the last lstat)', () => {
    // Before: a plain lstatSync of the new socket made Node's next cached realpath stop at the
    // first known directory, so a package reached through a symlink loaded a second time (the
    // CLI then built its machine from two copies of qdev). Node's own loader is needed, not
    // vitest's: a child process runs it against the built package.
    const dist = new URL('../dist/index.js', import.meta.url).href;
    const script = `
      import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
      import { join } from 'node:path'; import { tmpdir } from 'node:os'; import { pathToFileURL } from 'node:url';
      const { QmpServer } = await import(${JSON.stringify(dist)});
      const dir = mkdtempSync(join(tmpdir(), 'pb-realpath-'));
      mkdirSync(join(dir, 'real'));
      writeFileSync(join(dir, 'real', 'm.mjs'), 'export const o = {};');
      symlinkSync(join(dir, 'real'), join(dir, 'link'));
      const a = await import(pathToFileURL(join(dir, 'real', 'm.mjs')).href);
      const s = new QmpServer({ version: { qemu: { major: 7, minor: 2, micro: 22 }, package: '' } });
      await s.listenUnix(join(dir, 'q.sock'));
      const b = await import(pathToFileURL(join(dir, 'link', 'm.mjs')).href);
      await s.close();
      rmSync(dir, { recursive: true, force: true });
      process.stdout.write(String(a.o === b.o));
    `;
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })).toBe('true');
  });
});

describe('protocol over a real socket', () => {
  it('negotiation, id echo, errors, and split/pipelined input', async () => {
    const { sock } = await start();
    const c = await raw(sock);
    await c.take(1);
    c.send('{"execute":"query-status"}\n');
    expect(await c.take(1)).toEqual([
      '{"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with \'qmp_capabilities\'"}}',
    ]);
    c.send('{"execute":"qmp_capabilities"}');
    expect(await c.take(1)).toEqual(['{"return": {}}']);
    c.send('{"execute":"query-status","id":{"a":[1]}}{"execute":"nosuch","id":2}\n{"exe');
    c.send('cute":"device_del","arguments":{"id":"x"},"id":"d"}');
    expect(await c.take(3)).toEqual([
      `{"return": ${STATUS}, "id": {"a": [1]}}`,
      '{"id": 2, "error": {"class": "CommandNotFound", "desc": "The command nosuch has not been found"}}',
      '{"id": "d", "error": {"class": "DeviceNotFound", "desc": "Device \'x\' not found"}}',
    ]);
  });

  it('two clients are independent; garbage on one does not disturb the other', async () => {
    const { sock, server } = await start();
    const a = await raw(sock);
    const b = await raw(sock);
    await a.negotiate();
    await b.negotiate();
    expect(server.sessions().length).toBe(2);
    a.send(Buffer.from([0xff, 0x00, 0x01, 0x7b, 0x5d, 0x22, 0x0a]));
    a.send('{"execute":"query-status","id":"a1"}\n');
    b.send('{"execute":"query-status","id":"b1"}\n');
    expect(await b.take(1)).toEqual([`{"return": ${STATUS}, "id": "b1"}`]);
    // 0xFF, NUL, 0x01: three stray errors; "{]" expecting value; '"' + newline: stray
    const aLines = await a.take(6);
    expect(aLines[aLines.length - 1]).toBe(`{"return": ${STATUS}, "id": "a1"}`);
    expect(aLines.slice(0, -1).every((l) => l.includes('"GenericError"'))).toBe(true);
  });

  it('100 pipelined commands get 100 replies in order (sync and async handlers)', async () => {
    const d = makeDispatcher();
    d.register({ name: 'echo', args: { n: 'int' }, handler: async (a) => {
      await sleep(Number(a.n) % 3);
      return { n: a.n };
    } });
    const { sock } = await start({}, d);
    const c = await raw(sock);
    await c.negotiate();
    let batch = '';
    for (let i = 0; i < 100; i++) batch += i % 2 ? `{"execute":"echo","arguments":{"n":${i}},"id":${i}}` : `{"execute":"query-status","id":${i}}`;
    c.send(batch);
    const lines = await c.take(100);
    lines.forEach((l, i) => expect(l).toBe(i % 2 ? `{"return": {"n": ${i}}, "id": ${i}}` : `{"return": ${STATUS}, "id": ${i}}`));
  });

  it('one request at a time: the next handler starts only when the previous reply is out', async () => {
    const d = new QmpDispatcher();
    const log: string[] = [];
    d.register({ name: 'step', args: { n: 'int' }, handler: async (a) => {
      log.push(`start ${String(a.n)}`);
      await sleep(5);
      log.push(`end ${String(a.n)}`);
    } });
    const { sock } = await start({}, d);
    const c = await raw(sock);
    await c.negotiate();
    c.send('{"execute":"step","arguments":{"n":1}}{"execute":"step","arguments":{"n":2}}{"execute":"step","arguments":{"n":3}}');
    await c.take(3);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  it('a client vanishing mid-command: the command completes, nothing breaks, others go on', async () => {
    const d = makeDispatcher();
    let finished = 0;
    let started = 0;
    d.register({ name: 'slow', handler: async () => {
      started++;
      await sleep(30);
      finished++;
      return { done: true };
    } });
    const { sock, server } = await start({}, d);
    const a = await raw(sock);
    const b = await raw(sock);
    await a.negotiate();
    await b.negotiate();
    a.send('{"execute":"slow"}{"execute":"slow"}{"execute":"slow"}');
    await until(() => started === 1);
    a.close();
    await until(() => server.sessions().length === 1);
    b.send('{"execute":"query-status","id":1}');
    expect(await b.take(1)).toEqual([`{"return": ${STATUS}, "id": 1}`]);
    await until(() => finished === 1);
    await sleep(40);
    expect(started).toBe(1); // queued requests of a closed connection are dropped
    b.send('{"execute":"slow","id":2}');
    expect(await b.take(1)).toEqual(['{"return": {"done": true}, "id": 2}']);
  });

  it('events go to every negotiated client, in QEMU format, and not to the others', async () => {
    let t = 1795440857;
    const { sock, server } = await start({ now: () => ({ seconds: t++, microseconds: 331920 }) });
    const a = await raw(sock);
    const b = await raw(sock);
    const fresh = await raw(sock);
    await a.negotiate();
    await b.negotiate();
    await fresh.take(1);
    server.emitEvent('DEVICE_DELETED', { device: 'n1', path: '/machine/peripheral/n1' });
    server.emitEvent('STOP');
    const expected = [
      '{"timestamp": {"seconds": 1795440857, "microseconds": 331920}, "event": "DEVICE_DELETED", "data": {"device": "n1", "path": "/machine/peripheral/n1"}}',
      '{"timestamp": {"seconds": 1795440858, "microseconds": 331920}, "event": "STOP"}',
    ];
    expect(await a.take(2)).toEqual(expected);
    expect(await b.take(2)).toEqual(expected);
    fresh.send('{"execute":"qmp_capabilities","id":1}');
    expect(await fresh.take(1)).toEqual(['{"return": {}, "id": 1}']);
  });

  it('an event emitted by a command comes before its reply; afterReply can close the connection (quit)', async () => {
    const d = makeDispatcher();
    let server!: QmpServer;
    d.register({ name: 'quit', handler: (_a, ctx) => {
      server.emitEvent('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
      ctx.afterReply(() => void ctx.session.close());
    } });
    const started = await start({ now: () => ({ seconds: 1, microseconds: 2 }) }, d);
    server = started.server;
    const c = await raw(started.sock);
    await c.negotiate();
    c.send('{"execute":"quit"}');
    expect(await c.take(2)).toEqual([
      '{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}',
      '{"return": {}}',
    ]);
    await until(() => c.closed);
  });

  it('a client that stops reading is disconnected once its backlog passes the bound', async () => {
    const { sock, server } = await start({ maxOutputBacklog: 256 * 1024 });
    const slow = await raw(sock);
    const ok = await raw(sock);
    await slow.negotiate();
    await ok.negotiate();
    const [slowSession] = server.sessions() as [QmpSession, QmpSession];
    const reasons: string[] = [];
    slowSession.on('close', (r: string) => reasons.push(r));
    slow.socket.pause();
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 200 && !slowSession.closed; i++) {
      server.emitEvent('BIG', { big });
      await sleep(1);
      ok.lines.length = 0;
    }
    expect(reasons).toEqual(['overflow']);
    ok.send('{"execute":"query-status","id":"still"}');
    const reply = `{"return": ${STATUS}, "id": "still"}`;
    await until(() => ok.lines.includes(reply));
  });

  it('a client that closes its sending side ends the session', async () => {
    const { sock, server } = await start();
    const c = await raw(sock);
    await c.negotiate();
    c.socket.end();
    await until(() => server.sessions().length === 0);
  });

  it('server.close() disconnects clients', async () => {
    const { sock, server } = await start();
    const c = await raw(sock);
    await c.take(1);
    await server.close();
    await until(() => c.closed);
  });
});

describe('TCP listener', () => {
  it('listens on 127.0.0.1 with a free port', async () => {
    const server = new QmpServer({ dispatcher: makeDispatcher(), version: QEMU_VERSION });
    servers.push(server);
    const { host, port } = await server.listenTcp();
    expect(host).toBe('127.0.0.1');
    const c = await raw(port);
    await c.negotiate();
    c.send('{"execute":"query-status"}');
    expect(await c.take(1)).toEqual([`{"return": ${STATUS}}`]);
    expect(server.sessions()[0]!.transport).toBe('tcp');
  });
});

describe('QmpClient', () => {
  it('connects, negotiates, executes, surfaces QmpError and events', async () => {
    const { sock, server } = await start();
    const c = await client(sock);
    expect(c.greeting?.QMP.version.qemu).toEqual({ micro: 22, minor: 2, major: 7 });
    expect(await c.execute('query-status')).toEqual({ status: 'prelaunch', singlestep: false, running: false });
    const e = await c.execute('device_del', { id: 'nope' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(QmpError);
    expect((e as QmpError).errorClass).toBe('DeviceNotFound');
    expect((e as QmpError).desc).toBe("Device 'nope' not found");
    const ev = c.nextEvent('DEVICE_DELETED');
    server.emitEvent('DEVICE_DELETED', { device: 'n1', path: '/machine/peripheral/n1' });
    expect((await ev).data).toEqual({ device: 'n1', path: '/machine/peripheral/n1' });
    expect(await c.request({ execute: 'nosuch' })).toEqual({
      error: { class: 'CommandNotFound', desc: 'The command nosuch has not been found' },
    });
  });

  it('matches out-of-band replies by id', async () => {
    const d = makeDispatcher();
    let release!: () => void;
    d.register({ name: 'slow', handler: () => new Promise<string>((r) => (release = () => r('slow'))) });
    d.register({ name: 'quick', allowOob: true, handler: () => 'quick' });
    const { sock } = await start({}, d);
    const c = await QmpClient.connect(sock, { negotiate: ['oob'] });
    clients.push(c);
    const slow = c.execute('slow');
    const quick = await c.execute('quick', undefined, { oob: true });
    expect(quick).toBe('quick');
    release();
    expect(await slow).toBe('slow');
  });

  it('rejects pending requests when the connection closes', async () => {
    const d = makeDispatcher();
    d.register({ name: 'never', handler: () => new Promise(() => undefined) });
    const { sock, server } = await start({}, d);
    const c = await client(sock);
    const p = c.execute('never');
    await until(() => server.sessions().length === 1);
    server.sessions()[0]!.destroy();
    await expect(p).rejects.toThrow('connection closed');
  });
});
