/**
 * The round trip over a real QMP socket: the pseries board with its guest behind
 * @plugboard/qmp-server's command set, driven by a QMP client as a management tool would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QmpClient, QmpDispatcher, QmpServer, type QmpEventMessage } from '@plugboard/qmp';
import { MachineHost, QEMU_VERSION, registerCommands } from '../../src/index.js';
import { pseriesRig, type PseriesRig } from './spapr-board.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(r: PseriesRig): Promise<QmpClient> {
  Object.assign(r.machine, { pciRoots: r.spapr.phbs.map((p) => p.rootBus) });
  const host = new MachineHost(r.machine as never, r.plugins);
  const dispatcher = new QmpDispatcher();
  registerCommands(dispatcher, host);
  const qmp = new QmpServer({ dispatcher, version: QEMU_VERSION, now: () => r.machine.clock.timestamp() });
  host.onEvent((ev) => qmp.emitEvent(ev.name, ev.data));
  const dir = mkdtempSync(join(tmpdir(), 'plugboard-spapr-'));
  const sock = join(dir, 'qmp.sock');
  await qmp.listenUnix(sock);
  const c = await QmpClient.connect(sock, { negotiate: true });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => qmp.close(), () => c.close());
  return c;
}

describe('pseries hotplug over QMP (unix socket)', () => {
  it('before cont: device_add / device_del of a PCI card complete at once, DEVICE_DELETED on the wire', async () => {
    const r = pseriesRig();
    const c = await serve(r);
    expect(await c.execute('device_add', { driver: 'e1000', id: 'n1', addr: '4' })).toEqual({});
    expect(await c.execute('qom-get', { path: '/dr-connector/40000020', property: 'device' })).toBe('/machine/peripheral/n1');
    const deleted = c.nextEvent('DEVICE_DELETED');
    expect(await c.execute('device_del', { id: 'n1' })).toEqual({});
    expect((await deleted).data).toEqual({ device: 'n1', path: '/machine/peripheral/n1' });
    await expect(c.execute('device_del', { id: 'n1' })).rejects.toMatchObject({ errorClass: 'DeviceNotFound' });
  });

  it('running guest: device_add binds the card; device_del returns first, DEVICE_DELETED follows 3 s of guest time later', async () => {
    const r = pseriesRig();
    const c = await serve(r);
    await c.execute('cont');
    await r.machine.clock.whenIdle();
    expect(r.g.guest.booted).toBe(true);
    await c.execute('device_add', { driver: 'virtio-net-pci', id: 'vn1', addr: '5' });
    await r.machine.clock.whenIdle();
    expect(r.g.guest.device('0000:00:05.0')?.driver).toBe('virtio-pci');
    const wire: Array<Record<string, unknown>> = [];
    c.on('message', (m: Record<string, unknown>) => wire.push(m));
    const t0 = r.machine.clock.nowNs();
    expect(await c.execute('device_del', { id: 'vn1' })).toEqual({});
    for (let i = 0; i < 200 && wire.length < 3; i++) await new Promise((res) => setTimeout(res, 10));
    const ev = wire[2] as unknown as QmpEventMessage;
    expect(wire.map((m) => ('event' in m ? [m.event, m.data] : ['reply', m.return]))).toEqual([
      ['reply', {}],
      ['DEVICE_DELETED', { path: '/machine/peripheral/vn1/virtio-backend' }],
      ['DEVICE_DELETED', { device: 'vn1', path: '/machine/peripheral/vn1' }],
    ]);
    // Event timestamps follow guest time: drmgr's 3 s sleep separates them from the request.
    const ts = ev.timestamp as { seconds: number; microseconds: number };
    const start = r.machine.clock.epochMicros + t0 / 1000;
    expect(ts.seconds * 1e6 + ts.microseconds - start).toBe(3e6);
    expect(await c.execute('query-hotpluggable-cpus')).toHaveLength(1);
  });
});
