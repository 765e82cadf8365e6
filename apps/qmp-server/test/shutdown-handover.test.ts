/**
 * A client can `quit` before the CLI has installed its shutdown handler (the monitor serves as
 * soon as its socket is bound, while start-up still awaits the socket's chmod/lstat). The
 * decision must not be lost: the process would never exit.
 */
import { describe, expect, it } from 'vitest';
import { PlugboardServer } from '../src/index.js';
import { memoryClient } from './reliability/helpers.js';

describe('shutdown before a handler is set', () => {
  it('quit handled early is handed to the handler when it arrives', async () => {
    const s = PlugboardServer.create({ type: 'q35', nodefaults: true });
    const c = await memoryClient(s);
    expect(await c.execute('quit')).toEqual({});
    const got: string[] = [];
    s.host.setShutdownHandler((reason) => got.push(reason));
    expect(got).toEqual(['host-qmp-quit']);
    // Handed over once only.
    s.host.setShutdownHandler((reason) => got.push(`again ${reason}`));
    expect(got).toEqual(['host-qmp-quit']);
  });
});
