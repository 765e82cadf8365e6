/** Several monitors at once: -qmp unix, -qmp tcp, -chardev socket + -mon, and a stdio monitor. */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
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
