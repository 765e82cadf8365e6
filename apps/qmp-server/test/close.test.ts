/**
 * Closing a server while a client has stopped reading (formerly known-bugs.ts): QEMU's process
 * exits whatever its clients do, so close() gives such a client a short grace, then cuts it off.
 */
import { describe, expect, it } from 'vitest';
import { PlugboardServer } from '../src/index.js';
import { RawClient, tempDir, within } from './reliability/helpers.js';

/**
 * A client that negotiated, then stopped reading with 200 replies of 64 KiB on their way
 * (sent from the server side, so none is still queued as a request when close() begins).
 */
async function stuckClient(s: PlugboardServer, path: string): Promise<RawClient> {
  const stuck = await RawClient.connect(path);
  await stuck.negotiate();
  stuck.socket.pause();
  const session = s.qmp.sessions().at(-1)!;
  for (let i = 0; i < 200; i++) session.send({ return: 'x'.repeat(65536), id: i });
  return stuck;
}

describe('PlugboardServer.close() with a client that stopped reading', () => {
  it('finishes, cuts the stuck client off, and the reading client gets SHUTDOWN first', async () => {
    const t = tempDir('close');
    const s = PlugboardServer.create({ type: 'pc', nodefaults: true });
    await s.listen({ kind: 'unix', path: `${t.dir}/s` });
    const reader = await RawClient.connect(`${t.dir}/s`);
    await reader.negotiate();
    const stuck = await stuckClient(s, `${t.dir}/s`);
    try {
      s.host.shutdown('host-signal'); // what `plugboard` does on SIGTERM, then it awaits close()
      await within(5000, 'PlugboardServer.close()', s.close({ graceMs: 300 }));
      await reader.until(() => reader.closed, 5000, 'the reader to be disconnected');
      expect(reader.events().map((e) => [e.event, e.data])).toEqual([['SHUTDOWN', { guest: false, reason: 'host-signal' }]]);
      // The stuck client's connection is gone although it never read its replies.
      stuck.socket.resume();
      await stuck.until(() => stuck.closed, 5000, 'the stuck client to be disconnected');
      expect(stuck.messages.filter((m) => 'id' in m && m.id !== 'neg').length).toBeLessThan(200);
    } finally {
      stuck.destroy();
      reader.destroy();
      t.remove();
    }
  });

  it('still lets a slow client that reads take all its output within the grace', async () => {
    const t = tempDir('close');
    const s = PlugboardServer.create({ type: 'pc', nodefaults: true });
    await s.listen({ kind: 'unix', path: `${t.dir}/s` });
    const slow = await stuckClient(s, `${t.dir}/s`);
    try {
      s.host.shutdown('host-signal');
      const closing = s.close({ graceMs: 10_000 });
      slow.socket.resume(); // it reads again, well within the grace
      await within(10_000, 'PlugboardServer.close()', closing);
      await slow.until(() => slow.closed, 5000, 'disconnection');
      const replies = slow.messages.filter((m) => typeof m.id === 'number');
      expect(replies.length).toBe(200);
      expect(slow.events().map((e) => e.event)).toEqual(['SHUTDOWN']);
    } finally {
      slow.destroy();
      t.remove();
    }
  });
});
