/**
 * Closing with a client that stopped reading: a gracefully closed session still flushing its
 * output gets a bounded grace, then its connection is cut (QEMU's process simply exits).
 */
import { describe, expect, it } from 'vitest';
import { QmpServer } from '../src/index.js';
import { makeDispatcher, QEMU_VERSION, RawConn, sleep, tmpSocketPath } from './helpers.js';

/** Resolves with `p`, or with 'timeout' after `ms` (a hang guard, not a timing check). */
const orTimeout = <T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> =>
  Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref())]);

async function stuck(): Promise<{ server: QmpServer; conn: RawConn }> {
  const server = new QmpServer({ dispatcher: makeDispatcher(), version: QEMU_VERSION });
  const sock = tmpSocketPath('grace');
  await server.listenUnix(sock);
  const conn = await RawConn.connect(sock);
  await conn.take(1);
  conn.socket.pause();
  // 16 MiB waiting for a client that does not read: far beyond the socket buffers.
  const session = server.sessions()[0]!;
  for (let i = 0; i < 256; i++) session.send({ return: 'x'.repeat(65536), id: i });
  await sleep(50);
  return { server, conn };
}

describe('QmpServer.close() and QmpSession.close(graceMs)', () => {
  it('a session closed gracefully and left flushing is cut off by the server\'s close', async () => {
    const { server, conn } = await stuck();
    void server.sessions()[0]!.close(); // no grace: it would wait for the client forever
    expect(server.sessions()).toEqual([]);
    expect(await orTimeout(server.close({ graceMs: 100 }), 10_000)).toBeUndefined();
    conn.socket.resume();
    await orTimeout(new Promise<void>((r) => (conn.closed ? r() : conn.socket.once('close', () => r()))), 10_000);
    expect(conn.closed).toBe(true);
  });

  it('QmpSession.close(graceMs) resolves once the grace is over and drops the connection', async () => {
    const { server, conn } = await stuck();
    const session = server.sessions()[0]!;
    expect(await orTimeout(session.close(100), 10_000)).toBeUndefined();
    expect(session.flushing).toBe(false);
    conn.socket.resume();
    await orTimeout(new Promise<void>((r) => (conn.closed ? r() : conn.socket.once('close', () => r()))), 10_000);
    expect(conn.closed).toBe(true);
    await server.close();
  });
});
