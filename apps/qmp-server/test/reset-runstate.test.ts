/**
 * Run state after a reset, as real QEMU 7.2 answers (q35 -nodefaults, no -S): stop ->
 * query-status "paused"; system_reset -> RESET, query-status "prelaunch" (main_loop_should_exit
 * in softmmu/runstate.c); cont -> RESUME, "running".
 */
import { describe, expect, it } from 'vitest';
import { PlugboardServer } from '../src/index.js';
import { memoryClient } from './reliability/helpers.js';

describe('run state across a reset', () => {
  it('a paused VM is in prelaunch after system_reset, running again after cont', async () => {
    const s = PlugboardServer.create({ type: 'q35', nodefaults: true, start: true });
    const c = await memoryClient(s);
    s.machine.clock.runUntilIdle();
    await c.execute('stop');
    expect(await c.execute('query-status')).toMatchObject({ status: 'paused', running: false });
    await c.execute('system_reset');
    expect(await c.execute('query-status')).toMatchObject({ status: 'prelaunch', running: false });
    await c.execute('cont');
    expect(await c.execute('query-status')).toMatchObject({ status: 'running', running: true });
  });
});
