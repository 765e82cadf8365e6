/**
 * Many clients on one machine over a real unix socket: every event reaches each negotiated
 * client exactly once and in order, replies stay on their connection and in order, a slow
 * reader stalls nobody, and clients vanishing mid-command leave the machine consistent.
 *
 * Output backlog on overflow: QEMU 7.2 buffers a monitor's output without limit (monitor_flush
 * keeps what the chardev could not take in mon->outbuf and retries when it becomes writable), so
 * a client that never reads makes QEMU's memory grow. Plugboard disconnects such a client once
 * more than QmpServer's maxOutputBacklog (default 256 MiB) waits unsent; up to then, nothing is
 * dropped and the client gets everything, in order, when it reads again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpServer } from '@plugboard/qmp';
import { PlugboardServer, QEMU_VERSION } from '../../src/index.js';
import { RawClient, eventKey, sleep, tempDir, watchLeaks, within, type Leak } from './helpers.js';

const CLIENTS = 100;
let server: PlugboardServer;
let sock: string;
let removeDir: () => void;
let leaks: Leak[];

beforeAll(async () => {
  const t = tempDir('conc');
  removeDir = t.remove;
  sock = `${t.dir}/qmp.sock`;
  server = PlugboardServer.create({ type: 'pc', nodefaults: true, start: true });
  leaks = watchLeaks(server.dispatcher);
  await server.listen({ kind: 'unix', path: sock });
});

afterAll(async () => {
  expect(leaks).toEqual([]);
  server.machine.clock.stop();
  await server.close();
  removeDir();
});

async function connectAll(n: number): Promise<RawClient[]> {
  const cs = await Promise.all(Array.from({ length: n }, () => RawClient.connect(sock)));
  await Promise.all(cs.map((c) => c.negotiate()));
  return cs;
}

/** The machine's events, as the server emits them to every client (after `since`). */
function recordHostEvents(): { keys: string[]; stop: () => void } {
  const keys: string[] = [];
  const stop = server.host.onEvent((ev, ts) => keys.push(JSON.stringify([ev.name, ev.data ?? null, ts])));
  return { keys, stop };
}

/** Stop/cont pairs and hot-plug cycles: STOP, RESUME, DEVICE_DELETED and RESET events, all distinct. */
async function driveEvents(driver: RawClient, rounds: number, tag: string): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    driver.write(
      `{"execute": "stop"}\n{"execute": "cont"}\n` +
        `{"execute": "device_add", "arguments": {"driver": "e1000", "id": "${tag}${i}"}}\n` +
        `{"execute": "device_del", "arguments": {"id": "${tag}${i}"}}\n` +
        `{"execute": "system_reset", "id": "${tag}-r${i}"}\n`,
    );
    await driver.reply(`${tag}-r${i}`, 10_000);
  }
}

const canonEvent = (e: Record<string, unknown>): string => eventKey(e);

describe('concurrency', () => {
  it(`${CLIENTS} clients at once: each gets every event exactly once, in order, and its own replies in order`, async () => {
    const clients = await connectAll(CLIENTS);
    const host = recordHostEvents();
    // Every client pipelines its own requests while the events flow.
    const own = clients.map((c, k) => {
      const ids = Array.from({ length: 10 }, (_v, j) => `c${k}-${j}`);
      c.write(ids.map((id) => `{"execute": "query-status", "id": "${id}"}\n`).join(''));
      return ids;
    });
    await driveEvents(clients[0]!, 10, 'nic');
    await Promise.all(clients.map((c, k) => c.reply(own[k]![9]!, 10_000)));
    await Promise.all(clients.map((c) => c.until((m) => m.filter((x) => 'event' in x).length >= host.keys.length, 10_000, 'all events')));
    host.stop();
    // Per round STOP, RESUME, DEVICE_DELETED, RESET (host); SeaBIOS's own reboot 30 ms of guest time
    // after a reset (RESET guest-reset) comes when the clock gets there before the next round.
    const names = host.keys.map((k) => { const [name, data] = JSON.parse(k) as [string, { reason?: string } | null]; return `${name}${data?.reason ? `:${data.reason}` : ''}`; });
    const count = (n: string) => names.filter((x) => x === n).length;
    expect([count('STOP'), count('RESUME'), count('DEVICE_DELETED'), count('RESET:host-qmp-system-reset')]).toEqual([10, 10, 10, 10]);
    expect(count('RESET:guest-reset')).toBeLessThanOrEqual(10);
    expect(names.length).toBe(40 + count('RESET:guest-reset'));
    const expected = host.keys.map((k) => {
      const [name, data, ts] = JSON.parse(k) as [string, unknown, unknown];
      return eventKey({ event: name, data: data ?? undefined, timestamp: ts });
    });
    for (const [k, c] of clients.entries()) {
      expect(c.events().map(canonEvent), `client ${k}`).toEqual(expected);
      const replies = c.messages.filter((m) => typeof m.id === 'string' && m.id.startsWith(`c${k}-`)).map((m) => m.id);
      expect(replies, `client ${k} replies`).toEqual(own[k]);
      expect(c.messages.some((m) => typeof m.id === 'string' && /^c\d+-/.test(m.id) && !m.id.startsWith(`c${k}-`))).toBe(false);
      c.destroy();
    }
  });

  it('a client that stops reading stalls nobody; it gets everything, in order, when it reads again', async () => {
    const [slow, ...others] = await connectAll(21);
    slow!.socket.pause();
    const host = recordHostEvents();
    // Big replies on the slow client's own connection fill its socket and its server-side queue.
    slow!.write(Array.from({ length: 100 }, (_v, i) => `{"execute": "human-monitor-command", "arguments": {"command-line": "info qtree"}, "id": "s${i}"}\n`).join(''));
    const t0 = performance.now();
    await driveEvents(others[0]!, 40, 'slow');
    await Promise.all(others.map((c) => c.until((m) => m.filter((x) => 'event' in x).length >= host.keys.length, 10_000, 'events')));
    const othersDone = performance.now() - t0;
    expect(slow!.events().length).toBeLessThan(host.keys.length); // it really was not reading
    slow!.socket.resume();
    await slow!.until((m) => m.filter((x) => 'event' in x).length >= host.keys.length && m.some((x) => x.id === 's99'), 20_000, 'slow catches up');
    host.stop();
    const expected = others[1]!.events().map(canonEvent);
    expect(expected.length).toBe(host.keys.length);
    expect(slow!.events().map(canonEvent)).toEqual(expected);
    expect(slow!.messages.filter((m) => typeof m.id === 'string' && m.id.startsWith('s')).map((m) => m.id)).toEqual(Array.from({ length: 100 }, (_v, i) => `s${i}`));
    expect(othersDone).toBeLessThan(10_000); // bounded, not a timing assertion on speed
    for (const c of [slow!, ...others]) c.destroy();
  });

  it('past the output bound a non-reading client is disconnected; the others lose nothing', async () => {
    // A QmpServer with a small bound on the same machine (PlugboardServer uses the 256 MiB default).
    const t = tempDir('bound');
    const small = new QmpServer({ dispatcher: server.dispatcher, version: QEMU_VERSION, now: () => server.machine.clock.timestamp(), maxOutputBacklog: 256 * 1024 });
    const off = server.host.onEvent((ev) => small.emitEvent(ev.name, ev.data));
    await small.listenUnix(`${t.dir}/small.sock`);
    try {
      const conn = async (): Promise<RawClient> => {
        const c = await RawClient.connect(`${t.dir}/small.sock`);
        await c.negotiate();
        return c;
      };
      const stuck = await conn();
      const fine = await Promise.all([conn(), conn(), conn()]);
      stuck.socket.pause();
      const reasons: string[] = [];
      for (const s of small.sessions()) s.once('close', (r: string) => reasons.push(r));
      // Its own big replies pile up first (a few MiB), then the events.
      stuck.write(Array.from({ length: 1000 }, () => '{"execute": "human-monitor-command", "arguments": {"command-line": "info qtree"}}\n').join(''));
      const host = recordHostEvents();
      await driveEvents(fine[0]!, 20, 'ovf');
      await Promise.all(fine.map((c) => c.until((m) => m.filter((x) => 'event' in x).length >= host.keys.length, 20_000, 'events')));
      host.stop();
      await within(5000, 'overflow disconnect', (async () => {
        while (!reasons.includes('overflow')) await sleep(10);
      })());
      for (const c of fine) expect(c.events().length).toBe(host.keys.length);
      for (const c of [stuck, ...fine]) c.destroy();
    } finally {
      off();
      await small.close();
      t.remove();
    }
  });

  it('clients vanishing mid-command (mid-frame, mid-pipeline, mid-reply) leave the machine consistent', async () => {
    const steady = await connectAll(5);
    const before = server.qmp.sessions().length;
    for (let round = 0; round < 10; round++) {
      const goners = await Promise.all(Array.from({ length: 10 }, () => RawClient.connect(sock)));
      goners.forEach((g, k) => {
        const id = `v${round}-${k}`;
        const text =
          `{"execute": "qmp_capabilities"}\n{"execute": "device_add", "arguments": {"driver": "e1000", "id": "${id}"}}\n` +
          `{"execute": "human-monitor-command", "arguments": {"command-line": "info pci"}}\n{"execute": "device_del", "arguments": {"id": "${id}"}}\n` +
          `{"execute": "query-pci"}\n`;
        g.write(text.slice(0, Math.floor((text.length * (k + 1)) / 10))); // cut anywhere, even mid-frame
        if (k % 2) setImmediate(() => g.destroy());
        else g.destroy();
      });
      await Promise.all(steady.map((c, k) => {
        c.write(`{"execute": "query-status", "id": "st${round}-${k}"}\n`);
        return c.reply(`st${round}-${k}`, 5000);
      }));
      // Half the added devices were removed by device_del, none has been through a reset yet.
      steady[0]!.write(`{"execute": "system_reset", "id": "rs${round}"}\n`);
      await steady[0]!.reply(`rs${round}`);
    }
    for (let i = 0; i < 100 && server.qmp.sessions().length > before; i++) await sleep(10);
    expect(server.qmp.sessions().length).toBe(before); // no session leaked
    // The tree and the bus agree on whatever survived.
    steady[1]!.write('{"execute": "qom-list", "arguments": {"path": "/machine/peripheral"}, "id": "qom"}\n{"execute": "query-pci", "id": "pci"}\n');
    const qom = ((await steady[1]!.reply('qom')).return as Array<{ name: string }>).map((p) => p.name).filter((n) => n.startsWith('v')).sort();
    const pci = ((await steady[1]!.reply('pci')).return as Array<{ devices: Array<{ qdev_id: string }> }>)[0]!.devices.map((d) => d.qdev_id).filter((n) => n.startsWith('v')).sort();
    expect(pci).toEqual(qom);
    // Still taking new devices.
    steady[2]!.write('{"execute": "device_add", "arguments": {"driver": "e1000", "id": "after"}, "id": "after"}\n');
    expect((await steady[2]!.reply('after')).return).toEqual({});
    for (const c of steady) c.destroy();
  });
});
