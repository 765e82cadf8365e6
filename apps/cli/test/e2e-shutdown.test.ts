/**
 * SIGTERM while a client has stopped reading: QEMU exits anyway (status 0, SHUTDOWN to the
 * monitors that read); `plugboard` must not wait for that client forever.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RawQmp, startPlugboard, type Running } from './harness.js';

let running: Running | undefined;
afterEach(() => {
  running?.child.kill('SIGKILL');
  running = undefined;
});

/** Resolves with `p`, or with 'timeout' after `ms` (a hang guard, not a timing check). */
const orTimeout = <T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> =>
  Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref())]);

describe('plugboard on SIGTERM with a client that stopped reading', () => {
  it('exits 0 and the client that reads gets SHUTDOWN', async () => {
    const pb = (running = await startPlugboard(['-M', 'pc', '-nodefaults', '-S', '-display', 'none']));
    const reader = await RawQmp.connect(pb.sock);
    await reader.line();
    await reader.cmd({ execute: 'qmp_capabilities' });

    const stuck = await RawQmp.connect(pb.sock);
    await stuck.line();
    await stuck.cmd({ execute: 'qmp_capabilities' });
    stuck.socket.pause();
    // Far more output than the socket buffers hold: the server is left with some to send.
    const big = JSON.stringify({ execute: 'human-monitor-command', arguments: { 'command-line': 'info qtree' } });
    for (let i = 0; i < 2000; i++) stuck.send(big + '\n');
    await new Promise((r) => setTimeout(r, 500));

    pb.child.kill('SIGTERM');
    expect(await reader.line()).toMatch(/"event": "SHUTDOWN", "data": \{"guest": false, "reason": "host-signal"\}\}$/);
    expect(await orTimeout(pb.exited, 15_000)).toEqual({ code: 0, signal: null });
    stuck.close();
    reader.close();
  });
});
