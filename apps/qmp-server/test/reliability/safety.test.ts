/**
 * Safety of what a fleet exposes: who may connect (socket modes, loopback by default), how much
 * one message may cost (QEMU's limits, over a real socket, the connection usable afterwards), and
 * that no QMP input reaches code evaluation or the prototype chain.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QEMU_JSON_LIMITS } from '@plugboard/qmp';
import { Fleet, PlugboardServer } from '../../src/index.js';
import { RawClient, badMessage, memoryClient, tempDir } from './helpers.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** Runs `fn` with a umask that would leave sockets world-connectable, if this process may set one. */
async function withOpenUmask<T>(fn: () => Promise<T>): Promise<T> {
  let old: number | undefined;
  try {
    old = process.umask(0);
  } catch {
    // Worker threads may not change the umask; the mode is still set explicitly.
  }
  try {
    return await fn();
  } finally {
    if (old !== undefined) process.umask(old);
  }
}

describe('who can connect', () => {
  it('unix sockets are 0600 (fleet and single machine), the fleet directory 0700, whatever the umask', async () => {
    const t = tempDir('safe');
    try {
      await withOpenUmask(async () => {
        const fleet = await Fleet.start(2, { socketDir: join(t.dir, 'fleet'), defaults: { type: 'pc', nodefaults: true } });
        const single = PlugboardServer.create({ type: 'q35', nodefaults: true });
        await single.listen({ kind: 'unix', path: join(t.dir, 'one.sock') });
        expect(statSync(join(t.dir, 'fleet')).mode & 0o777).toBe(0o700);
        for (const f of readdirSync(join(t.dir, 'fleet'))) expect(statSync(join(t.dir, 'fleet', f)).mode & 0o777, f).toBe(0o600);
        expect(statSync(join(t.dir, 'one.sock')).mode & 0o777).toBe(0o600);
        // No staging directory is left next to the socket.
        expect(readdirSync(t.dir).sort()).toEqual(['fleet', 'one.sock']);
        await fleet.shutdown();
        await single.close();
      });
    } finally {
      t.remove();
    }
  });

  it('TCP binds loopback unless an address is given', async () => {
    const fleet = await Fleet.start(1, { tcp: {}, defaults: { type: 'pc', nodefaults: true } });
    const s = PlugboardServer.create({ type: 'pc', nodefaults: true });
    try {
      expect(fleet.machines()[0]!.address).toMatchObject({ kind: 'tcp', host: '127.0.0.1' });
      expect((await s.qmp.listenTcp()).host).toBe('127.0.0.1');
    } finally {
      await fleet.shutdown();
      await s.close();
    }
  });
});

describe('message limits are QEMU\'s, over a real socket', () => {
  let server: PlugboardServer;
  let sock: string;
  let remove: () => void;
  beforeAll(async () => {
    const t = tempDir('limits');
    remove = t.remove;
    sock = join(t.dir, 'qmp.sock');
    server = PlugboardServer.create({ type: 'pc', nodefaults: true });
    await server.listen({ kind: 'unix', path: sock });
  });
  afterAll(async () => {
    await server.close();
    remove();
  });

  /** Sends `bytes` then a marker request; returns the error texts before the marker. */
  async function errorsFor(bytes: Buffer | string, id: string): Promise<string[]> {
    const c = await RawClient.connect(sock);
    try {
      await c.negotiate();
      c.write(bytes);
      c.write(`\n{"execute": "query-status", "id": "${id}"}\n`);
      await c.reply(id, 30_000);
      for (const m of c.messages) expect(badMessage(m)).toBeNull();
      return c.messages.filter((m) => 'error' in m).map((m) => (m.error as { desc: string }).desc);
    } finally {
      c.destroy();
    }
  }

  it('nesting: 1024 levels are parsed, 1025 are refused', async () => {
    expect(QEMU_JSON_LIMITS.maxNesting).toBe(1024);
    const deep = (n: number): string => `{"execute": "qom-list", "arguments": {"path": "/", "x": ${'['.repeat(n - 2)}${']'.repeat(n - 2)}}}`;
    expect(await errorsFor(deep(1024), 'n1024')).toEqual(["Parameter 'x' is unexpected"]);
    expect((await errorsFor(deep(1025), 'n1025'))[0]).toBe('JSON nesting depth limit exceeded');
  });

  it('token count: 2 Mi tokens in one message at most', async () => {
    const n = QEMU_JSON_LIMITS.maxTokenCount;
    // `[0,0,...]` has 2k tokens for k elements; the next message still parses.
    const list = (k: number): string => `[${'0,'.repeat(k - 1)}0]`;
    expect(await errorsFor(list(n / 2 - 1), 'ok')).toEqual(['QMP input must be a JSON object']);
    expect((await errorsFor(list(n / 2 + 1), 'over'))[0]).toBe('JSON token count limit exceeded');
  });

  it('token size: 64 MiB per message; a larger string is refused without holding it', async () => {
    const huge = Buffer.alloc(QEMU_JSON_LIMITS.maxTokenSize + 16, 0x61);
    huge[0] = 0x22; // an unterminated string of 64 MiB
    const before = process.memoryUsage().arrayBuffers;
    const errs = await errorsFor(huge, 'size');
    expect(errs[0]).toBe('JSON token size limit exceeded');
    // The lexer drops an oversized token as it goes (figures only: a loose bound, not a timing).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(512 * 2 ** 20);
  });
});

describe('no input reaches code', () => {
  it('no eval, Function, vm or child_process in any package source; dynamic import only for -plugin and the CLI start-up', () => {
    const hits: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts')) {
          readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
            if (/\beval\s*\(|new\s+Function\b|\bFunction\s*\(|['"](node:)?vm['"]|child_process|\brequire\s*\(|\bimport\s*\(/.test(line)) hits.push(`${p.slice(REPO.length)}:${i + 1}`);
          });
        }
      }
    };
    for (const top of ['packages', 'apps']) for (const pkg of readdirSync(join(REPO, top))) {
      try {
        walk(join(REPO, top, pkg, 'src'));
      } catch {
        // a package without src/
      }
    }
    // The CLI loads `-plugin PATH` modules named on its command line (never from QMP); its
    // entry loads its own code in two steps (monitors first, then the machine: apps/cli/src/early.ts)
    // and, with -plugin, its unbundled build: fixed paths next to itself.
    expect(hits.map((h) => h.replace(/:\d+$/, ''))).toEqual(['apps/cli/src/bin.ts', 'apps/cli/src/bin.ts', 'apps/cli/src/plugins.ts']);
  });

  it('__proto__, constructor and prototype in requests are plain names: no pollution, QEMU errors', async () => {
    const s = PlugboardServer.create({ type: 'pc', nodefaults: true, devices: [{ opts: { driver: 'e1000', id: 'n0' } }] });
    const c = await memoryClient(s);
    const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).sort().join();
    const before = protoKeys();
    const raw = [
      '{"execute": "device_add", "arguments": {"driver": "e1000", "id": "p1", "__proto__": {"polluted": 1}}}',
      '{"execute": "device_add", "arguments": {"__proto__": {"driver": "e1000"}}}',
      '{"execute": "device_add", "arguments": {"driver": "constructor", "id": "p2"}}',
      '{"execute": "device_add", "arguments": {"driver": "e1000", "id": "p3", "constructor": {"prototype": {"polluted": 1}}}}',
      '{"execute": "qom-set", "arguments": {"path": "/machine/peripheral/n0", "property": "__proto__", "value": {"polluted": 1}}}',
      '{"execute": "qom-get", "arguments": {"path": "/machine/__proto__", "property": "constructor"}}',
      '{"execute": "qom-list", "arguments": {"path": "/machine/peripheral/n0/__proto__"}}',
      '{"execute": "device-list-properties", "arguments": {"typename": "__proto__"}}',
      '{"execute": "__proto__"}',
      '{"execute": "constructor", "arguments": {}}',
      '{"execute": "human-monitor-command", "arguments": {"command-line": "device_add e1000,id=p4,__proto__=1"}}',
      '{"execute": "human-monitor-command", "arguments": {"command-line": "qom-get /machine constructor"}}',
      '{"execute": "human-monitor-command", "arguments": {"command-line": "constructor"}}',
      '{"execute": "human-monitor-command", "arguments": {"command-line": "require(\\"child_process\\")"}}',
    ];
    const replies = [];
    for (const line of raw) replies.push(await c.request(JSON.parse(line) as Record<string, unknown>));
    for (const [i, r] of replies.entries()) expect(badMessage(r), raw[i]).toBeNull();
    expect(protoKeys()).toBe(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(replies.slice(8, 10).map((r) => (r.error as { class: string }).class)).toEqual(['CommandNotFound', 'CommandNotFound']);
    expect(replies.slice(12).map((r) => r.return)).toEqual(["unknown command: 'constructor'\r\n", "unknown command: 'require(\"child_process\")'\r\n"]);
    await c.close();
    await s.close();
  });
});
