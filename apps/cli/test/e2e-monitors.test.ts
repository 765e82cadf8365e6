/** Several monitors at once: -qmp unix, -qmp tcp, -chardev socket + -mon, and a stdio monitor. */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, RawQmp, startPlugboard, type Running } from './harness.js';

const running: Running[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.child.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function connectTcp(port: number): Promise<RawQmp> {
  for (let i = 0; i < 100; i++) {
    try {
      return await new Promise<RawQmp>((res, rej) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => res(RawQmp.fromSocket(s)));
        s.once('error', rej);
      });
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error('no tcp monitor');
}

describe('monitors', () => {
  it('unix + tcp + chardev/mon monitors all serve, and all receive events', async () => {
    const port = await freePort();
    const sock2 = join(mkdtempSync(join(tmpdir(), 'pb-mon-')), 'c.sock');
    const pb = await startPlugboard([
      '-M', 'q35', '-S', '-nodefaults', '-display', 'none',
      '-qmp', `tcp:127.0.0.1:${port},server=on,wait=off`,
      '-chardev', `socket,id=c1,path=${sock2},server=on,wait=off`, '-mon', 'chardev=c1,mode=control',
    ]);
    running.push(pb);
    const clients = [await RawQmp.connect(pb.sock), await connectTcp(port), await RawQmp.connect(sock2)];
    for (const c of clients) {
      expect(await c.line()).toMatch(/^\{"QMP": /);
      expect(await c.cmd({ execute: 'qmp_capabilities' })).toBe('{"return": {}}');
    }
    clients[1]!.send('{"execute": "cont"}\n');
    for (const c of clients) {
      let l = await c.line();
      if (l === '{"return": {}}') l = await c.line();
      expect(l).toMatch(/"event": "RESUME"\}$/);
    }
  });

  it('query-machines lists this binary\'s machines with QEMU\'s members', async () => {
    const pb = await startPlugboard(['-M', 'q35', '-S', '-nodefaults', '-display', 'none']);
    running.push(pb);
    const c = await RawQmp.connect(pb.sock);
    await c.line();
    await c.cmd({ execute: 'qmp_capabilities' });
    const got = JSON.parse(await c.cmd({ execute: 'query-machines' })).return as Array<{ name: string }>;
    const qemu = JSON.parse(readFileSync(fileURLToPath(new URL('../../../fixtures/qemu-7.2/pc-nodefaults.json', import.meta.url)), 'utf8'));
    const raw: string = qemu.exchanges.find((e: { send?: { execute?: string } }) => e.send?.execute === 'query-machines').raw[0];
    for (const name of ['pc-q35-7.2', 'pc-i440fx-7.2']) {
      const want = raw.match(new RegExp(`\\{[^{}]*"name": "${name}"[^{}]*\\}`))![0];
      const mine = (await c.cmd({ execute: 'query-machines' })).match(new RegExp(`\\{[^{}]*"name": "${name}"[^{}]*\\}`))![0];
      expect(mine).toBe(want);
    }
    expect(got.some((m) => m.name.startsWith('pseries'))).toBe(false);
  });

  it('-qmp stdio speaks QMP on stdin/stdout', async () => {
    const child = spawn(process.execPath, [CLI, '-M', 'pc', '-S', '-nodefaults', '-display', 'none', '-qmp', 'stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stdin.write('{"execute": "qmp_capabilities"}\n{"execute": "query-status"}\n{"execute": "quit"}\n');
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    const lines = out.split('\r\n').filter(Boolean);
    expect(lines[0]).toMatch(/^\{"QMP": /);
    expect(lines.slice(1, 3)).toEqual(['{"return": {}}', '{"return": {"status": "prelaunch", "singlestep": false, "running": false}}']);
  });
});

/** Connects to a unix socket, retrying while it does not exist yet; undefined once `gone()` says stop. */
async function connectWhile(path: string, alive: () => boolean): Promise<RawQmp | undefined> {
  while (alive()) {
    try {
      return await RawQmp.connect(path);
    } catch {
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  return undefined;
}

describe('monitors open before the machine is built (softmmu/vl.c order)', () => {
  it('server=on without wait=off: QEMU\'s waiting line, nothing further until a client connects, then the next monitor', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-wait-'));
    const first = join(dir, 'first.sock');
    const second = join(dir, 'second.sock');
    const child = spawn(process.execPath, [CLI, '-M', 'q35', '-S', '-nodefaults', '-display', 'none',
      '-qmp', `unix:${first},server=on`, '-qmp', `unix:${second},server=on,wait=off`], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.push({ child } as Running);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    while (!err.includes('\n')) await new Promise((r) => setTimeout(r, 5));
    expect(err).toBe(`plugboard: -qmp unix:${first},server=on: info: QEMU waiting for connection on: disconnected:unix:${first},server=on\n`);
    // QEMU creates the next chardev only after this one got its client.
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(second)).toBe(false);
    const a = await RawQmp.connect(first);
    expect(await a.line()).toMatch(/^\{"QMP": /);
    expect(await a.cmd({ execute: 'qmp_capabilities' })).toBe('{"return": {}}');
    const b = await connectWhile(second, () => child.exitCode === null);
    expect(await b!.line()).toMatch(/^\{"QMP": /);
    expect(await b!.cmd({ execute: 'qmp_capabilities' })).toBe('{"return": {}}');
    expect(await b!.cmd({ execute: 'query-status' })).toBe('{"return": {"status": "prelaunch", "singlestep": false, "running": false}}');
    a.close();
    b!.close();
  });

  it('a client connected while the machine is built is greeted; a bad -device then ends the process, exit 1, socket file removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-early-'));
    const sock = join(dir, 'q.sock');
    // Many devices before the bad one: the build takes a while after the monitor opened.
    const ports = Array.from({ length: 120 }, (_, i) => ['-device', `pcie-root-port,id=rp${i},chassis=${i + 1},bus=pcie.0,addr=${(1 + (i >> 3)).toString(16)}.${i & 7}${i & 7 ? '' : ',multifunction=on'}`]).flat();
    const child = spawn(process.execPath, [CLI, '-M', 'q35', '-S', '-nodefaults', '-display', 'none',
      '-qmp', `unix:${sock},server=on,wait=off`, ...ports, '-device', 'nosuch'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const c = await connectWhile(sock, () => child.exitCode === null);
    const lines: string[] = [];
    if (c) {
      // Whether the connection beat the exit is timing; what it saw is not.
      c.send('{"execute": "qmp_capabilities"}\n');
      try {
        for (;;) lines.push(await c.line(10_000));
      } catch {
        // closed
      }
      expect(lines.slice(0, 1).every((l) => l.startsWith('{"QMP": '))).toBe(true);
      expect(lines.slice(1)).toEqual([]);
    }
    expect(await exited).toBe(1);
    expect(err).toBe("plugboard: -device nosuch: 'nosuch' is not a valid device model name\n");
    // QEMU 7.2 leaves its socket file behind here; Plugboard removes what it created.
    expect(existsSync(sock)).toBe(false);
  });
});

describe('a monitor without server=on connects out (QEMU\'s client mode)', () => {
  it('greets the listener it connects to and serves it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-client-'));
    const path = join(dir, 'harness.sock');
    const listener = net.createServer();
    await new Promise<void>((r) => listener.listen(path, () => r()));
    const accepted = new Promise<net.Socket>((r) => listener.once('connection', r));
    const child = spawn(process.execPath, [CLI, '-M', 'q35', '-S', '-nodefaults', '-display', 'none', '-qmp', `unix:${path}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.push({ child } as Running);
    const q = RawQmp.fromSocket(await accepted);
    expect(await q.line()).toMatch(/^\{"QMP": \{"version": \{"qemu": \{"micro": 22, "minor": 2, "major": 7\}/);
    expect(await q.cmd({ execute: 'qmp_capabilities' })).toBe('{"return": {}}');
    expect(await q.cmd({ execute: 'query-status' })).toBe('{"return": {"status": "prelaunch", "singlestep": false, "running": false}}');
    q.close();
    listener.close();
  });

  it('nothing listening: QEMU\'s error, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-client-'));
    const path = join(dir, 'nobody.sock');
    const child = spawn(process.execPath, [CLI, '-M', 'q35', '-S', '-nodefaults', '-display', 'none', '-qmp', `unix:${path}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(1);
    // Recorded from qemu-system-x86_64 7.2 with the same option.
    expect(err).toBe(`plugboard: -qmp unix:${path}: Failed to connect to '${path}': No such file or directory\n`);
  });
});
