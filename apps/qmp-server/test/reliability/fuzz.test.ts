/**
 * QMP fuzzing against a real machine behind a real unix socket: grammar-aware requests and
 * random bytes, in partial frames, from interleaved clients that sometimes vanish. Checked:
 * the server never crashes or hangs (every batch ends with a sync request that must be answered),
 * every reply is QEMU-shaped with an error class QEMU has and no JavaScript error text, no handler
 * throws anything but a QEMU error, and a bystander client sees every event exactly once, in
 * order, and keeps getting answers.
 *
 * Short by default (CI). Soak by hand: PLUGBOARD_FUZZ_MESSAGES=1000000 [PLUGBOARD_FUZZ_SEED=n]
 *   node node_modules/vitest/vitest.mjs run apps/qmp-server/test/reliability/fuzz.test.ts
 */
import { setImmediate as tick } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fc } from '@fast-check/vitest';
import { QmpClient, type QmpEventMessage } from '@plugboard/qmp';
import { PlugboardServer } from '../../src/index.js';
import { RawClient, badMessage, tempDir, watchLeaks, within, type Leak } from './helpers.js';
import { FATAL_COMMANDS, fuzzMessage, type FuzzVocabulary } from './fuzz-gen.js';

const MESSAGES = Number(process.env.PLUGBOARD_FUZZ_MESSAGES ?? 5000);
const SOAK = MESSAGES > 50_000;
/** CI replays the same inputs every run (a red build is then reproducible); a soak draws new ones. */
const SEED = Number(process.env.PLUGBOARD_FUZZ_SEED ?? (SOAK ? Date.now() % 1_000_000 : 72022));
/** A batch that does not come back within this long is a hang. */
const SYNC_TIMEOUT_MS = 10_000;

/** Ends whatever state the lexer was in (0xFF is an error in every state), then a sync request. */
const syncTrailer = (id: string): Buffer => Buffer.concat([Buffer.from([0xff]), Buffer.from(`\n{"execute": "query-status", "id": "${id}"}\n`)]);

let server: PlugboardServer;
let sock: string;
let removeDir: () => void;
let leaks: Leak[];
const sessionErrors: unknown[] = [];
let bystander: QmpClient;
const bystanderEvents: QmpEventMessage[] = [];
const hostEvents: string[] = [];

/** Events compared as the machine emitted them: name, data (members sorted), timestamp. */
const canon = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [c]) => (a < c ? -1 : 1))) : x));

beforeAll(async () => {
  const t = tempDir('fuzz');
  removeDir = t.remove;
  sock = `${t.dir}/qmp.sock`;
  server = PlugboardServer.create({
    type: 'pc', nodefaults: true, start: true,
    devices: [{ opts: { driver: 'pci-bridge', id: 'br0', chassis_nr: '1' } }, { opts: { driver: 'e1000', id: 'cold0' } }],
  });
  leaks = watchLeaks(server.dispatcher);
  server.qmp.on('session', (s: { on(e: 'error', f: (e: unknown) => void): void }) => s.on('error', (e) => sessionErrors.push(e)));
  await server.listen({ kind: 'unix', path: sock });
  bystander = await QmpClient.connect(sock, { negotiate: true });
  bystander.on('event', (e: QmpEventMessage) => bystanderEvents.push(e));
  server.host.onEvent((ev, ts) => hostEvents.push(canon([ev.name, ev.data ?? null, ts])));
});

afterAll(async () => {
  await bystander?.close();
  server.machine.clock.stop();
  await server?.close();
  removeDir?.();
});

function vocabulary(): FuzzVocabulary {
  // Bridges too: enough of them exhaust the firmware's I/O space at a reset (SeaBIOS panics).
  const models = ['e1000', 'e1000e', 'virtio-net-pci', 'nvme', 'virtio-blk-pci', 'pci-bridge', 'no-such', ''];
  return {
    names: [...models, 'n1', 'n2', 'br0', 'cold0', 'pci.0', 'br0.0', '/machine', '/machine/peripheral', '/machine/peripheral/cold0', 'realized', 'hotplugged', 'addr', '1f.7', '0x10'],
    hmp: ['info pci', 'info qtree', 'info status', 'info version', 'help', 'help info', 'info', 'device_add e1000,id=h1', 'device_del h1', 'qom-list /machine', 'qom-get /machine/peripheral/cold0 realized', 'system_reset', 'stop', 'cont', 'c', 'device_del "n1"', 'qom-list "/machine"', 'help "info"'],
  };
}

interface Conn {
  raw: RawClient;
  bytes: Buffer;
  syncId: string;
  vanish: boolean;
}

/** Sends each connection's bytes in random chunks, round-robin, yielding to the server in between. */
async function interleave(conns: Conn[], rnd: () => number): Promise<void> {
  const offsets = conns.map(() => 0);
  while (offsets.some((o, i) => o < conns[i]!.bytes.length)) {
    for (const [i, c] of conns.entries()) {
      const at = offsets[i]!;
      if (at >= c.bytes.length) continue;
      const n = 1 + Math.floor(rnd() * (rnd() < 0.3 ? 8 : 4096));
      c.raw.write(c.bytes.subarray(at, at + n));
      offsets[i] = at + n;
      if (c.vanish && rnd() < 0.1) {
        c.raw.destroy(); // gone mid-frame, possibly mid-command
        offsets[i] = c.bytes.length;
      }
    }
    await tick();
  }
}

async function runBatch(batch: Buffer[][], n: number, rnd: () => number): Promise<string[]> {
  const problems: string[] = [];
  const conns: Conn[] = [];
  for (const [k, msgs] of batch.entries()) {
    const raw = await RawClient.connect(sock);
    const syncId = `sync-${n}-${k}`;
    const negotiate = rnd() < 0.85 ? [Buffer.from('{"execute": "qmp_capabilities"}\n')] : [];
    conns.push({ raw, syncId, vanish: rnd() < 0.15, bytes: Buffer.concat([...negotiate, ...msgs, syncTrailer(syncId)]) });
  }
  await interleave(conns, rnd);
  for (const c of conns) {
    if (!c.raw.closed) {
      try {
        await c.raw.reply(c.syncId, SYNC_TIMEOUT_MS);
      } catch (e) {
        if (!c.vanish) problems.push(`batch ${n}: no answer to ${c.syncId} (hang?): ${(e as Error).message}`);
      }
    }
    for (const m of c.raw.messages) {
      const bad = badMessage(m);
      if (bad) problems.push(`batch ${n}: ${bad}`);
      const id = m.id;
      if (typeof id === 'string' && id.startsWith('sync-') && id !== c.syncId) problems.push(`batch ${n}: ${c.syncId} got ${id}'s reply`);
    }
    for (const g of c.raw.garbage) problems.push(`batch ${n}: server sent something not a JSON object: ${g}`);
    c.raw.destroy();
  }
  return problems;
}

/** Uniform numbers for chunking and client behaviour (fast-check's samples are biased to edge values). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Events checked so far (the arrays are trimmed in soak mode so the test's own memory stays flat). */
let eventsChecked = 0;

/**
 * After a bystander round trip every event emitted before it has reached the bystander: compare
 * what both sides have and drop it, so a soak's RSS shows the server, not these arrays.
 */
function checkEventsSoFar(): void {
  const n = Math.min(bystanderEvents.length, hostEvents.length);
  const seen = bystanderEvents.slice(0, n).map((e) => canon([e.event, e.data ?? null, e.timestamp]));
  expect(seen, `events ${eventsChecked}..${eventsChecked + n}`).toEqual(hostEvents.slice(0, n));
  bystanderEvents.splice(0, n);
  hostEvents.splice(0, n);
  eventsChecked += n;
}

async function bystanderAlive(): Promise<void> {
  const r = await within(5000, 'bystander query-status', bystander.execute<{ status: string }>('query-status'));
  expect(['running', 'paused', 'prelaunch']).toContain(r.status);
}

/** Waits until every fuzz session is gone, so the checks below see a settled server. */
async function settle(): Promise<void> {
  for (let i = 0; i < 200 && server.qmp.sessions().length > 1; i++) await new Promise((r) => setTimeout(r, 5));
}

describe('QMP fuzzing', () => {
  it(`${MESSAGES} grammar-aware and random-byte messages from interleaved clients (seed ${SEED})`, async () => {
    const msg = fuzzMessage(server.dispatcher, vocabulary());
    const batchArb = fc.array(fc.array(msg, { minLength: 1, maxLength: 25 }), { minLength: 1, maxLength: 4 });
    const rnd = mulberry32(SEED);
    let sent = 0;
    const problems: string[] = [];
    for (let chunk = 0; sent < MESSAGES; chunk++) {
      for (const batch of fc.sample(batchArb, { seed: SEED + chunk, numRuns: 50 })) {
        problems.push(...(await runBatch(batch, sent, rnd)));
        sent += batch.reduce((a, m) => a + m.length, 0);
        if (problems.length || sent >= MESSAGES) break;
      }
      if (problems.length) break;
      await bystanderAlive();
      if (SOAK) checkEventsSoFar();
      if (SOAK && chunk % 10 === 0) {
        (globalThis as { gc?: () => void }).gc?.();
        const mu = process.memoryUsage();
        console.log(`fuzz soak: ${sent} messages, ${eventsChecked} events checked, rss ${(mu.rss / 2 ** 20).toFixed(0)} MiB, heap ${(mu.heapUsed / 2 ** 20).toFixed(0)} MiB`);
      }
    }
    expect(problems.slice(0, 10), `seed ${SEED}`).toEqual([]);
    expect(leaks, `JavaScript errors leaked out of command handlers (seed ${SEED})`).toEqual([]);
    expect(sessionErrors).toEqual([]);
    await bystanderAlive();
    await settle();
    expect(server.qmp.sessions().length).toBe(1); // only the bystander: no session leaked
  }, SOAK ? 24 * 3600_000 : 120_000);

  it('edge inputs: deep nesting, huge strings and numbers, byte-by-byte frames, a client gone mid-frame', async () => {
    const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    const cases: Array<[string, Buffer]> = [
      ['nesting 1024 (QEMU accepts)', Buffer.from(deep(1024) + '\n')],
      ['nesting 1025', Buffer.from(deep(1025) + '\n')],
      ['100k openers', Buffer.from('['.repeat(100_000) + '\n')],
      ['deep arguments', Buffer.from(`{"execute": "device_add", "arguments": {"driver": "e1000", "id": "deep", "x": ${deep(1000)}}}\n`)],
      ['deep qom-set value', Buffer.from(`{"execute": "qom-set", "arguments": {"path": "/machine/peripheral/cold0", "property": "addr", "value": ${'{"a": '.repeat(1000)}1${'}'.repeat(1000)}}}\n`)],
      // Refused, so nothing this size stays in the machine to slow every later query-pci down.
      ['16 MiB bus name', Buffer.from(`{"execute": "device_add", "arguments": {"driver": "e1000", "bus": "${'x'.repeat(16 * 2 ** 20)}"}}\n`)],
      ['non-ASCII path', Buffer.from(`{"execute": "qom-list", "arguments": {"path": "/${'\\u00e9'.repeat(2 ** 18)}"}}\n`)],
      ['huge numbers', Buffer.from(`{"execute": "__org.plugboard_clock-step", "arguments": {"ns": ${'9'.repeat(5000)}}}\n{"execute": "human-monitor-command", "arguments": {"command-line": "info pci", "cpu-index": -9223372036854775809}}\n`)],
      ['int64 edge ns', Buffer.from('{"execute": "__org.plugboard_config-read", "arguments": {"id": "cold0", "offset": 9223372036854775807, "size": 4}}\n')],
      ['invalid UTF-8 everywhere', Buffer.from([0x7b, 0x22, 0xc0, 0x80, 0x22, 0x3a, 0xed, 0xa0, 0x80, 0x7d, 0x0a, 0xf8, 0x88, 0x80, 0x80, 0x80, 0x0a])],
    ];
    for (const [name, bytes] of cases) {
      const c = await RawClient.connect(sock);
      await c.negotiate();
      c.write(bytes);
      c.write(syncTrailer(name));
      await c.reply(name, 20_000);
      for (const m of c.messages) {
        const bad = badMessage(m);
        expect(bad, `${name}: ${JSON.stringify(m).slice(0, 300)}`).toBeNull();
      }
      c.destroy();
      await bystanderAlive();
    }
    // Three clients, each request split into single bytes and interleaved; a fourth vanishes mid-frame.
    const req = (id: number): string => `{"execute": "query-status", "id": ${id}}\n`;
    const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(sock)));
    for (const c of clients) await c.negotiate();
    const text = clients.map((_c, i) => req(i).repeat(3));
    for (let at = 0; at < text[0]!.length; at++) {
      for (const [i, c] of clients.entries()) c.write(text[i]![at]!);
      if (at === 40) clients[3]!.destroy();
      await tick();
    }
    for (const [i, c] of clients.slice(0, 3).entries()) {
      await c.until((m) => m.filter((x) => x.id === i).length === 3, 5000, `client ${i}`);
      expect(c.messages.filter((x) => 'return' in x && typeof x.id === 'number').map((x) => x.id)).toEqual([i, i, i]);
      c.destroy();
    }
    expect(leaks, 'JavaScript errors leaked out of command handlers').toEqual([]);
  }, 120_000);

  it('the bystander saw every event the machine emitted, once each and in order', async () => {
    await bystanderAlive();
    await new Promise((r) => setTimeout(r, 50));
    expect(bystanderEvents.length).toBe(hostEvents.length);
    expect(bystanderEvents.map((e) => canon([e.event, e.data ?? null, e.timestamp]))).toEqual(hostEvents);
    expect(FATAL_COMMANDS.has('quit')).toBe(true); // the only command fuzzing leaves out
  });
});
