/**
 * End to end: the built CLI, a real unix socket, QMP as a client sees it, compared with
 * replies recorded from QEMU 7.2 (fixtures/qemu-7.2).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RawQmp, startPlugboard, type Running } from './harness.js';
import { machineArgs } from './replay.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/qemu-7.2/', import.meta.url));
const fixture = (name: string) => JSON.parse(readFileSync(FIXTURES + name + '.json', 'utf8'));

const running: Running[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.child.kill('SIGKILL');
});

async function boot(args: string[]): Promise<{ pb: Running; qmp: RawQmp }> {
  const pb = await startPlugboard(args);
  running.push(pb);
  const qmp = await RawQmp.connect(pb.sock);
  return { pb, qmp };
}

describe('QMP over a unix socket', () => {
  it('greets, negotiates, echoes ids, frames with CRLF', async () => {
    const { qmp } = await boot(['-M', 'q35', '-S', '-nodefaults', '-display', 'none']);
    expect(await qmp.line()).toBe('{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Plugboard 0.1.0"}, "capabilities": ["oob"]}}');
    expect(await qmp.cmd({ execute: 'query-status' })).toBe('{"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with \'qmp_capabilities\'"}}');
    expect(await qmp.cmd({ execute: 'qmp_capabilities', id: 'neg' })).toBe('{"return": {}, "id": "neg"}');
    expect(await qmp.cmd({ execute: 'query-status', id: { a: [1] } })).toBe('{"return": {"status": "prelaunch", "singlestep": false, "running": false}, "id": {"a": [1]}}');
  });

  for (const name of ['q35-ports', 'pc-bridge', 'q35-switch']) {
    it(`query-pci, info pci and qom-list of ${name} equal QEMU's`, async () => {
      const f = fixture(name);
      const { qmp } = await boot(machineArgs(f.argv));
      await qmp.line();
      await qmp.cmd({ execute: 'qmp_capabilities' });
      for (const ex of f.exchanges) {
        const s = ex.send as { execute?: string; arguments?: { path?: string; 'command-line'?: string } };
        if (s?.execute === 'cont') break; // after this, QEMU's firmware ran (not modelled yet)
        if (s?.execute === 'query-pci') expect(await qmp.cmd(s)).toBe(ex.raw[0]);
        if (s?.execute === 'human-monitor-command' && s.arguments?.['command-line'] === 'info pci') expect(await qmp.cmd(s)).toBe(ex.raw[0]);
        if (s?.execute === 'qom-list' && /^\/machine\/peripheral\/[^/]+$/.test(s.arguments?.path ?? '')) {
          // Memory regions are QEMU internals Plugboard does not model; every other member must match.
          const want = (ex.replies[0].return as Array<{ name: string; type: string }>).filter((p) => !p.type.includes('memory-region'));
          const got = JSON.parse(await qmp.cmd(s)).return as Array<{ name: string; type: string }>;
          const key = (p: { name: string; type: string }) => `${p.name}:${p.type}`;
          expect(got.map(key).sort()).toEqual(want.map(key).sort());
        }
      }
    });
  }

  it('device-list-properties of every catalog type equals QEMU 7.2 byte for byte', async () => {
    const f = fixture('pc-nodefaults');
    const { qmp } = await boot(['-M', 'pc', '-S', '-nodefaults', '-display', 'none']);
    await qmp.line();
    await qmp.cmd({ execute: 'qmp_capabilities' });
    let n = 0;
    for (const ex of f.exchanges) {
      if (ex.send?.execute !== 'device-list-properties' || !ex.raw) continue;
      if (ex.send.arguments.typename === 'pc-dimm') continue; // memory hotplug comes with the sPAPR/DIMM work
      expect(await qmp.cmd(ex.send)).toBe(ex.raw[0]);
      n++;
    }
    expect(n).toBe(13);
  });

  it('two clients: garbage on one does not disturb the other; events reach both', async () => {
    const { pb, qmp: a } = await boot(['-M', 'pc', '-S', '-nodefaults', '-display', 'none']);
    const b = await RawQmp.connect(pb.sock);
    await a.line();
    await b.line();
    await a.cmd({ execute: 'qmp_capabilities' });
    await b.cmd({ execute: 'qmp_capabilities' });
    a.send('{"execute": bad}\n\u0001]');
    expect(await a.line()).toBe('{"error": {"class": "GenericError", "desc": "JSON parse error, invalid keyword \'bad\'"}}');
    expect(await b.cmd({ execute: 'query-status', id: 2 })).toBe('{"return": {"status": "prelaunch", "singlestep": false, "running": false}, "id": 2}');
    a.close(); // vanishes with a command in flight
    b.send(JSON.stringify({ execute: 'system_reset' }) + '\n');
    const lines = [await b.line(), await b.line()];
    expect(lines[0]).toMatch(/^\{"timestamp": \{"seconds": \d+, "microseconds": \d+\}, "event": "RESET", "data": \{"guest": false, "reason": "host-qmp-system-reset"\}\}$/);
    expect(lines[1]).toBe('{"return": {}}');
    expect(await b.cmd({ execute: 'query-version' })).toBe('{"return": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Plugboard 0.1.0"}}');
  });

  it('quit: SHUTDOWN before the return, then the process exits 0', async () => {
    const { pb, qmp } = await boot(['-M', 'q35', '-S', '-display', 'none']);
    await qmp.line();
    await qmp.cmd({ execute: 'qmp_capabilities' });
    qmp.send('{"execute": "quit"}\n');
    expect(await qmp.line()).toMatch(/"event": "SHUTDOWN", "data": \{"guest": false, "reason": "host-qmp-quit"\}\}$/);
    expect(await qmp.line()).toBe('{"return": {}}');
    expect((await pb.exited).code).toBe(0);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s: SHUTDOWN host-signal, exit 0, stdout clean, QEMU\'s termination line', async (sig) => {
    const { pb, qmp } = await boot(['-M', 'q35', '-S', '-display', 'none']);
    await qmp.line();
    await qmp.cmd({ execute: 'qmp_capabilities' });
    pb.child.kill(sig);
    expect(await qmp.line()).toMatch(/"event": "SHUTDOWN", "data": \{"guest": false, "reason": "host-signal"\}\}$/);
    expect((await pb.exited).code).toBe(0);
    expect(pb.stdout()).toBe('');
    // softmmu/runstate.c qemu_kill_report(); QEMU appends "from pid P (name)", which Node cannot know.
    expect(pb.stderr()).toBe(`plugboard: terminating on signal ${sig === 'SIGTERM' ? 15 : 2}\n`);
  });
});

/** Lines without their timestamps. */
const untimed = (l: string): string => l.replace(/\{"timestamp": \{"seconds": \d+, "microseconds": \d+\}, /, '{');

describe('system_reset with -no-reboot is a shutdown (qemu_system_reset_request), as recorded from QEMU 7.2', () => {
  it.each([[[] as string[]], [['-S']]])('%j: SHUTDOWN host-qmp-system-reset, then the reply, then exit 0', async (extra) => {
    const { pb, qmp } = await boot(['-M', 'q35', '-nodefaults', '-display', 'none', '-no-reboot', ...extra]);
    await qmp.line();
    await qmp.cmd({ execute: 'qmp_capabilities' });
    qmp.send('{"execute": "system_reset"}\n');
    expect(untimed(await qmp.line())).toBe('{"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-system-reset"}}');
    expect(await qmp.line()).toBe('{"return": {}}');
    expect((await pb.exited).code).toBe(0);
  });

  it('with -no-shutdown a running VM stops in shutdown; one that never ran stays in prelaunch', async () => {
    for (const [extra, after, status] of [[[], ['{"event": "STOP"}'], 'shutdown'], [['-S'], [], 'prelaunch']] as const) {
      const { qmp } = await boot(['-M', 'q35', '-nodefaults', '-display', 'none', '-no-reboot', '-no-shutdown', ...extra]);
      await qmp.line();
      await qmp.cmd({ execute: 'qmp_capabilities' });
      qmp.send('{"execute": "system_reset"}\n');
      expect(untimed(await qmp.line())).toBe('{"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-system-reset"}}');
      for (const l of after) expect(untimed(await qmp.line())).toBe(l);
      expect(await qmp.line()).toBe('{"return": {}}');
      expect(await qmp.cmd({ execute: 'query-status' })).toBe(`{"return": {"status": "${status}", "singlestep": false, "running": false}}`);
      qmp.close();
    }
  });
});

describe('the reset control register and SeaBIOS\'s reboot, as recorded from QEMU 7.2', () => {
  const hmp = (c: string) => ({ execute: 'human-monitor-command', arguments: { 'command-line': c } });

  it.each(['q35', 'pc'])('%s: 0xcf9 keeps bit 1, RST_CPU requests a guest reset, a reset clears it', async (machine) => {
    const { qmp } = await boot(['-M', machine, '-S', '-nodefaults', '-display', 'none']);
    await qmp.line();
    await qmp.cmd({ execute: 'qmp_capabilities' });
    expect(await qmp.cmd(hmp('o /b 0xcf9 0x02'))).toBe('{"return": ""}');
    expect(await qmp.cmd(hmp('i /b 0xcf9'))).toBe('{"return": "portb[0x0cf9] = 0x02\\r\\n"}');
    qmp.send(JSON.stringify(hmp('o /b 0xcf9 0x06')) + '\n');
    expect(untimed(await qmp.line())).toBe('{"event": "RESET", "data": {"guest": true, "reason": "guest-reset"}}');
    expect(await qmp.line()).toBe('{"return": ""}');
    expect(await qmp.cmd({ execute: 'query-status' })).toBe('{"return": {"status": "prelaunch", "singlestep": false, "running": false}}');
    expect(await qmp.cmd(hmp('i /b 0xcf9'))).toBe('{"return": "portb[0x0cf9] = 0x00\\r\\n"}');
  });

  it('system_reset of a VM whose firmware ran: SeaBIOS reboots once more (RESET guest-reset); of one that never ran: not', async () => {
    for (const [extra, expected] of [
      [[], ['{"event": "RESET", "data": {"guest": false, "reason": "host-qmp-system-reset"}}', '{"event": "RESET", "data": {"guest": true, "reason": "guest-reset"}}']],
      [['-S'], ['{"event": "RESET", "data": {"guest": false, "reason": "host-qmp-system-reset"}}']],
    ] as const) {
      const { qmp } = await boot(['-M', 'q35', '-nodefaults', '-display', 'none', ...extra]);
      await qmp.line();
      await qmp.cmd({ execute: 'qmp_capabilities' });
      qmp.send('{"execute": "system_reset"}\n');
      const lines = [untimed(await qmp.line()), await qmp.line(), ...(await qmp.drain(300)).map(untimed)];
      expect(lines).toEqual([expected[0], '{"return": {}}', ...expected.slice(1)]);
      qmp.close();
    }
  });
});
