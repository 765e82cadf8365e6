/**
 * Fleet: many machines in one process, each with its own socket, plugin set, clock and QMP
 * server. Machines must be as independent as separate QEMU processes would be.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QmpClient, QmpError } from '@plugboard/qmp';
import { definePlugin, QemuError } from '@plugboard/qdev';
import { Fleet, type FleetMachine, type PlugboardServerOptions } from '../src/index.js';
import { afterEachCleanups, RawClient, sleep, tempDir, within } from './reliability/helpers.js';

const cleanups = afterEachCleanups();

async function fleetOf(n: number, defaults: PlugboardServerOptions = { type: 'pc', nodefaults: true, start: true }, extra: Partial<ConstructorParameters<typeof Fleet>[0]> = {}) {
  const t = tempDir('fleet');
  const fleet = await Fleet.start(n, { socketDir: t.dir, defaults, ...extra });
  cleanups.push(t.remove, () => fleet.shutdown());
  return { fleet, dir: t.dir };
}

const sockOf = (m: FleetMachine): string => (m.address.kind === 'unix' ? m.address.path : '');

async function client(m: FleetMachine): Promise<QmpClient> {
  const c = await QmpClient.connect(sockOf(m), { negotiate: true, timeoutMs: 5000 });
  cleanups.push(() => c.close());
  return c;
}

const peripheral = async (c: QmpClient): Promise<string[]> =>
  (await c.execute<Array<{ name: string }>>('qom-list', { path: '/machine/peripheral' })).map((p) => p.name).filter((n) => n !== 'type');

describe('Fleet', () => {
  it('gives each machine its own socket vmNNNN.sock (0600, directory 0700) and its own state', async () => {
    const { fleet, dir } = await fleetOf(6);
    expect(fleet.machines().map((m) => m.name)).toEqual(['vm0000', 'vm0001', 'vm0002', 'vm0003', 'vm0004', 'vm0005']);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const m of fleet.machines()) {
      expect(sockOf(m)).toBe(`${dir}/${m.name}.sock`);
      const st = statSync(sockOf(m));
      expect(st.isSocket()).toBe(true);
      expect(st.mode & 0o777).toBe(0o600);
    }
    const [a, b] = [await client(fleet.machines()[0]!), await client(fleet.machines()[1]!)];
    const bEvents: string[] = [];
    b.on('event', (e) => bEvents.push(e.event));
    await a.execute('device_add', { driver: 'e1000', id: 'nic0' });
    await a.execute('__org.plugboard_clock-step', { ns: 5_000_000_000 });
    await a.execute('stop');
    expect(await peripheral(a)).toEqual(['nic0']);
    expect(await peripheral(b)).toEqual([]);
    // Same id on another machine is no duplicate; time and run state are per machine.
    await b.execute('device_add', { driver: 'e1000', id: 'nic0' });
    const clockOf = async (c: QmpClient) => (await c.execute<{ 'virtual-ns': number }>('__org.plugboard_query-clock'))['virtual-ns'];
    expect(await clockOf(a)).toBeGreaterThanOrEqual(5_000_000_000);
    expect(await clockOf(b)).toBeLessThan(5_000_000_000);
    expect((await b.execute<{ status: string }>('query-status')).status).toBe('running');
    await sleep(20);
    expect(bEvents).toEqual([]); // a's STOP stayed on a
  });

  it('builds every machine from its own plugin set: a plugin given to one is invisible to the others', async () => {
    const { fleet } = await fleetOf(2);
    const plugin = definePlugin({
      name: 'test-nic',
      types: [{ name: 'test-nic', parent: 'e1000', userCreatable: true, category: 'network', description: 'test' }],
    });
    const m = await fleet.create({ plugins: [plugin] });
    const types = async (x: FleetMachine) => (await (await client(x)).execute<Array<{ name: string }>>('qom-list-types')).map((t) => t.name);
    expect(await types(m)).toContain('test-nic');
    expect(await types(fleet.machines()[0]!)).not.toContain('test-nic');
    expect(fleet.machines()[0]!.server.host.plugins).not.toBe(m.server.host.plugins);
  });

  it('destroy() is SIGTERM for one machine: SHUTDOWN to its clients, socket gone, the others untouched', async () => {
    const { fleet } = await fleetOf(3);
    const [m0, m1] = fleet.machines();
    const c0 = await client(m0!);
    const c1 = await client(m1!);
    const exits: string[] = [];
    fleet.on('exit', (m: FleetMachine, reason: string) => exits.push(`${m.name}:${reason}`));
    const shut = c0.nextEvent('SHUTDOWN', 3000);
    const closed = new Promise<void>((r) => c0.once('close', r));
    await fleet.destroy('vm0000');
    expect((await shut).data).toEqual({ guest: false, reason: 'host-signal' });
    await within(3000, 'client closed', closed);
    expect(existsSync(sockOf(m0!))).toBe(false);
    expect(exits).toEqual(['vm0000:host-signal']);
    expect(fleet.machines().map((m) => m.name)).toEqual(['vm0001', 'vm0002']);
    expect((await c1.execute<{ status: string }>('query-status')).status).toBe('running');
    // Names are never reused: an orchestrator never mistakes a new machine for a gone one.
    expect((await fleet.create()).name).toBe('vm0003');
    await expect(fleet.destroy('vm0000')).rejects.toThrow("no machine 'vm0000'");
  });

  it('a QMP quit takes only that machine away, SHUTDOWN before the return as in QEMU', async () => {
    const { fleet } = await fleetOf(2);
    const raw = await RawClient.connect(sockOf(fleet.machines()[0]!));
    cleanups.push(() => raw.destroy());
    await raw.negotiate();
    const exited = new Promise<string>((r) => fleet.once('exit', (_m: FleetMachine, reason: string) => r(reason)));
    raw.write('{"execute": "quit", "id": 1}\n');
    expect(await within(3000, 'exit', exited)).toBe('host-qmp-quit');
    await raw.until(() => raw.closed, 3000, 'close');
    expect(raw.messages.slice(-2).map((m) => m.event ?? JSON.stringify(m.return))).toEqual(['SHUTDOWN', '{}']);
    expect(fleet.size).toBe(1);
    expect((await (await client(fleet.machines()[0]!)).execute<{ status: string }>('query-status')).status).toBe('running');
  });

  it('refuses a bad device list with QEMU\'s text and leaves nothing behind', async () => {
    const { fleet, dir } = await fleetOf(1);
    const bad = fleet.create({ devices: [{ opts: { driver: 'no-such-nic' } }] });
    await expect(bad).rejects.toBeInstanceOf(QemuError);
    await expect(bad).rejects.toThrow("'no-such-nic' is not a valid device model name");
    expect(fleet.size).toBe(1);
    expect(existsSync(`${dir}/vm0001.sock`)).toBe(false);
    await expect(fleet.create({ name: '../escape' })).rejects.toThrow('invalid machine name');
    await expect(fleet.create({ name: 'vm0000' })).rejects.toThrow('exists');
  });

  it('serves TCP on loopback unless told otherwise, one port per machine', async () => {
    const fleet = await Fleet.start(3, { tcp: {}, defaults: { type: 'q35', nodefaults: true } });
    cleanups.push(() => fleet.shutdown());
    const ports = new Set<number>();
    for (const m of fleet.machines()) {
      if (m.address.kind !== 'tcp') throw new Error('expected tcp');
      expect(m.address.host).toBe('127.0.0.1');
      ports.add(m.address.port);
      const c = await QmpClient.connect({ host: m.address.host, port: m.address.port }, { negotiate: true });
      expect((await c.execute<Array<{ name: string }>>('query-machines')).some((t) => t.name === 'pc-q35-7.2')).toBe(true);
      await c.close();
    }
    expect(ports.size).toBe(3);
    expect(() => new Fleet({})).toThrow('exactly one of socketDir or tcp');
  });

  it('a client that stopped reading delays a machine\'s shutdown by the grace period only', async () => {
    const { fleet } = await fleetOf(1, { type: 'pc', nodefaults: true, start: true }, { shutdownGraceMs: 200 });
    const stuck = await RawClient.connect(sockOf(fleet.machines()[0]!));
    cleanups.push(() => stuck.destroy());
    await stuck.negotiate();
    stuck.socket.pause();
    // Fill the socket so the session's final flush cannot finish.
    for (let i = 0; i < 200; i++) stuck.write(`{"execute": "human-monitor-command", "arguments": {"command-line": "info qtree"}, "id": ${i}}\n`);
    await sleep(200);
    const t0 = performance.now();
    await within(5000, 'shutdown', fleet.shutdown());
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(fleet.size).toBe(0);
    await expect(fleet.create()).rejects.toThrow('shutting down');
  });

  it('shutdown() retires every machine concurrently, each client seeing SHUTDOWN', async () => {
    const { fleet } = await fleetOf(10, { type: 'q35', nodefaults: true });
    const clients = await Promise.all(fleet.machines().map((m) => client(m)));
    const shuts = clients.map((c) => c.nextEvent('SHUTDOWN', 5000));
    await fleet.shutdown();
    for (const s of await Promise.all(shuts)) expect(s.data).toEqual({ guest: false, reason: 'host-signal' });
    expect(fleet.size).toBe(0);
  });

  it('shutdown() during start-up waits for the machines being created and leaves no socket behind', async () => {
    const t = tempDir('fleet');
    cleanups.push(t.remove);
    const fleet = new Fleet({ socketDir: t.dir, defaults: { type: 'pc', nodefaults: true, start: true } });
    // Observe the outcome at once: the rejection arrives while shutdown() is awaited.
    const many = fleet.createMany(40).then(() => 'created', (e: Error) => e.message);
    await sleep(20);
    await fleet.shutdown();
    expect(await many).toContain('shutting down');
    expect(fleet.size).toBe(0);
    expect(readdirSync(t.dir)).toEqual([]);
  });

  it('a machine whose emulation throws from a timer dies alone, like one crashed QEMU process', async () => {
    // Stands for any device-model or guest bug that throws from a clock timer.
    const bomb = definePlugin({
      name: 'test-bomb',
      qmpCommands: [{ name: 'x-test-bomb', handler: (_a, { machine }) => void machine.clock.setTimer(1000, () => { throw new Error('boom'); }, 'bomb') }],
    });
    const { fleet } = await fleetOf(3, { type: 'pc', nodefaults: true, start: true }, { plugins: [bomb] });
    const [a, b, c] = await Promise.all(fleet.machines().map((m) => client(m)));
    const events: string[] = [];
    b!.on('event', (e) => events.push(e.event));
    const crashed = new Promise<[string, string]>((r) => fleet.once('crash', (m: FleetMachine, e: Error) => r([m.name, e.message])));
    const exited = new Promise<string>((r) => fleet.once('exit', (_m: FleetMachine, reason: string) => r(reason)));
    const closed = new Promise<void>((r) => b!.once('close', r));
    await b!.execute('x-test-bomb');
    expect(await within(5000, 'crash', crashed)).toEqual(['vm0001', 'boom']);
    expect(await within(5000, 'exit', exited)).toBe('internal-error');
    await within(5000, 'client cut off', closed);
    expect(events).not.toContain('SHUTDOWN'); // a crash says nothing, as a dying process would
    expect(fleet.machines().map((m) => m.name)).toEqual(['vm0000', 'vm0002']);
    for (const x of [a!, c!]) expect((await x.execute<{ status: string }>('query-status')).status).toBe('running');
  });

  it('QmpError from another machine never crosses: each reply names its own machine\'s devices', async () => {
    const { fleet } = await fleetOf(4);
    const cs = await Promise.all(fleet.machines().map((m) => client(m)));
    await Promise.all(cs.map((c, i) => c.execute('device_add', { driver: 'e1000', id: `only-on-${i}` })));
    for (const [i, c] of cs.entries()) {
      expect(await peripheral(c)).toEqual([`only-on-${i}`]);
      await expect(c.execute('device_del', { id: `only-on-${(i + 1) % 4}` })).rejects.toEqual(new QmpError('DeviceNotFound', `Device 'only-on-${(i + 1) % 4}' not found`));
    }
  });
});
