/**
 * `plugboard-qmp`: the command line, and the built daemon spawned for real (SIGTERM, quit).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { QmpClient } from '@plugboard/qmp';
import { parseDaemonArgs, runDaemon, type DaemonPlan } from '../src/index.js';
import { afterEachCleanups, RawClient, tempDir, within } from './reliability/helpers.js';

const BIN = fileURLToPath(new URL('../dist/plugboard-qmp.js', import.meta.url));
const cleanups = afterEachCleanups();

describe('plugboard-qmp command line', () => {
  it('--machines N --socket-dir DIR --machine QEMU-OPTIONS', () => {
    const plan = parseDaemonArgs([
      '--machines', '3', '--socket-dir', '/tmp/x', '--machine', '-M', 'q35,usb=off', '-nodefaults', '-S', '-m', '1G',
      '-device', 'pcie-root-port,id=rp1,chassis=1,bus=pcie.0', '-device', '{"driver": "e1000e", "id": "n,1", "bus": "rp1"}',
      '-global', 'e1000e.mac=52:54:00:12:34:56', '--guest', 'ignore-unplug', '--clock', 'realtime,scale=2',
    ]) as DaemonPlan;
    expect(plan.fleet).toEqual({ socketDir: '/tmp/x' });
    expect(plan.groups).toEqual([
      {
        count: 3,
        machine: {
          type: 'q35', props: { usb: 'off' }, nodefaults: true, start: false, ramSize: 1024 * 1024 * 1024,
          devices: [
            { opts: { driver: 'pcie-root-port', id: 'rp1', chassis: '1', bus: 'pcie.0' } },
            { opts: { driver: 'e1000e', id: 'n,1', bus: 'rp1' }, json: true },
          ],
          globals: [{ driver: 'e1000e', property: 'mac', value: '52:54:00:12:34:56' }],
          guest: 'ignore-unplug',
          clock: { mode: 'realtime', scale: 2 },
        },
      },
    ]);
    expect(parseDaemonArgs(['--tcp', '4444'])).toMatchObject({ fleet: { tcp: { host: '127.0.0.1', basePort: 4444 } }, groups: [{ count: 1 }] });
    expect(parseDaemonArgs(['--tcp', '[::1]:0'])).toMatchObject({ fleet: { tcp: { host: '::1', basePort: 0 } } });
    expect(parseDaemonArgs(['-h'])).toBe('help');
  });

  it.each([
    [['--machines', '2'], 'give --socket-dir DIR or --tcp [HOST:]PORT'],
    [['--machines', 'x', '--socket-dir', 'd'], "--machines: expected a number, got 'x'"],
    [['--socket-dir', 'd', '--bogus'], '--bogus: unknown option'],
    [['--socket-dir', 'd', '--machine', '-accel', 'kvm'], '-accel: not a machine option here'],
    [['--socket-dir', 'd', '--machine', '-device'], '-device: requires an argument'],
    [['--tcp', '1.2.3.4:99999'], "--tcp: expected [HOST:]PORT, got '1.2.3.4:99999'"],
    [['--config', '/nonexistent.json'], '--config /nonexistent.json: ENOENT'],
  ])('%j is refused: %s', async (argv, message) => {
    let err = '';
    const r = await runDaemon(argv, { stdout: () => undefined, stderr: (s) => (err += s) });
    expect(r).toBe(1);
    expect(err).toContain(`plugboard-qmp: ${message}`);
  });

  it('a device a machine refuses fails the start with QEMU\'s text, exit 1, nothing left', async () => {
    const t = tempDir('daemon');
    cleanups.push(t.remove);
    let err = '';
    const r = await runDaemon(['--machines', '2', '--socket-dir', t.dir, '--machine', '-device', 'nonesuch'], { stdout: () => undefined, stderr: (s) => (err += s) });
    expect(r).toBe(1);
    expect(err).toBe("plugboard-qmp: vm0000: 'nonesuch' is not a valid device model name\n");
    expect(readdirSync(t.dir)).toEqual([]);
  });
});

interface Daemon {
  ready: { ready: number; machines: Array<{ name: string; unix?: string; host?: string; port?: number }> };
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(sig: NodeJS.Signals): void;
  stderr(): string;
}

async function startDaemon(args: string[]): Promise<Daemon> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  cleanups.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
  const line = await within(
    20_000,
    'ready line',
    new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
      });
      child.on('exit', () => reject(new Error(`plugboard-qmp exited: ${err}`)));
    }),
  );
  return { ready: JSON.parse(line), exited, kill: (s) => child.kill(s), stderr: () => err };
}

describe('plugboard-qmp process', () => {
  it('SIGTERM: SHUTDOWN (host-signal) to every client of every machine, sockets removed, exit 0', async () => {
    const t = tempDir('daemon');
    cleanups.push(t.remove);
    const d = await startDaemon(['--machines', '4', '--socket-dir', t.dir, '--machine', '-M', 'pc', '-nodefaults']);
    expect(d.ready.ready).toBe(4);
    expect(d.ready.machines.map((m) => m.unix)).toEqual([0, 1, 2, 3].map((i) => `${t.dir}/vm000${i}.sock`));
    const clients: RawClient[] = [];
    for (const m of d.ready.machines) {
      expect(statSync(m.unix!).mode & 0o777).toBe(0o600);
      for (let k = 0; k < 2; k++) {
        const c = await RawClient.connect(m.unix!);
        cleanups.push(() => c.destroy());
        await c.negotiate();
        clients.push(c);
      }
    }
    d.kill('SIGTERM');
    expect(await within(10_000, 'exit', d.exited)).toEqual({ code: 0, signal: null });
    for (const c of clients) {
      await c.until(() => c.closed, 3000, 'close');
      expect(c.events().map((e) => [e.event, e.data])).toEqual([['SHUTDOWN', { guest: false, reason: 'host-signal' }]]);
    }
    expect(readdirSync(t.dir)).toEqual([]);
    expect(d.stderr()).toBe('');
  });

  it('--config: groups of different machines; the process exits once the last machine quit', async () => {
    const t = tempDir('daemon');
    cleanups.push(t.remove);
    const config = `${t.dir}/fleet.json`;
    writeFileSync(config, JSON.stringify({
      socketDir: `${t.dir}/socks`,
      machines: [
        { count: 2, type: 'pc', nodefaults: true, start: false },
        { count: 1, type: 'q35', nodefaults: true, devices: [{ driver: 'pcie-root-port', id: 'rp1', chassis: 1 }] },
      ],
    }));
    const d = await startDaemon(['--config', config]);
    expect(d.ready.machines.map((m) => m.name)).toEqual(['vm0000', 'vm0001', 'vm0002']);
    const statuses: string[] = [];
    for (const m of d.ready.machines) {
      const c = await QmpClient.connect(m.unix!, { negotiate: true });
      statuses.push((await c.execute<{ status: string }>('query-status')).status);
      if (m.name === 'vm0002') expect(await c.execute('qom-list', { path: '/machine/peripheral' })).toContainEqual({ name: 'rp1', type: 'child<pcie-root-port>' });
      await c.execute('quit');
      await c.close();
    }
    expect(statuses).toEqual(['prelaunch', 'prelaunch', 'running']);
    expect(await within(10_000, 'exit', d.exited)).toEqual({ code: 0, signal: null });
    expect(existsSync(`${t.dir}/socks/vm0000.sock`)).toBe(false);
  });

  it('--tcp binds loopback unless a host is given', async () => {
    const d = await startDaemon(['--machines', '2', '--tcp', '0', '--machine', '-S']);
    expect(d.ready.machines.map((m) => m.host)).toEqual(['127.0.0.1', '127.0.0.1']);
    const e = await startDaemon(['--machines', '1', '--tcp', '127.0.0.2:0', '--machine', '-S']);
    expect(e.ready.machines[0]!.host).toBe('127.0.0.2');
    const c = await QmpClient.connect({ host: '127.0.0.2', port: e.ready.machines[0]!.port! }, { negotiate: true });
    expect((await c.execute<{ status: string }>('query-status')).status).toBe('prelaunch');
    await c.close();
    d.kill('SIGTERM');
    e.kill('SIGINT');
    expect((await d.exited).code).toBe(0);
    expect((await e.exited).code).toBe(0);
  });
});
