/**
 * The example plugin behind a real QMP socket: loaded by the `plugboard` CLI from its path
 * (spawned process), and in-process through PlugboardServer.create({plugins}). A full cycle
 * (device_add -> guest online -> device_del -> DEVICE_DELETED) needs the plugin's guest
 * driver in the guest: PlugboardServer does not hand Plugin.guestDrivers to the guest yet,
 * so the spawned-CLI cycle is skipped with that reason until it does, and the in-process
 * test does the wiring itself (the lines the server needs).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { QmpClient } from '@plugboard/qmp';
import type { Plugin } from '@plugboard/qdev';
import { PlugboardServer } from '../../src/index.js';
import { registerGuestDriver } from '../../../../packages/testkit/dist/index.js';
import { afterEachCleanups, tempDir, until } from '../reliability/helpers.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = join(ROOT, 'apps/cli/dist/plugboard.js');
const PLUGIN = join(ROOT, 'examples/ged-hotplug/dist/index.js');
const ged = (await import(PLUGIN)).default as Plugin;
const NIC = { driver: 'e1000e', id: 'nic1', bus: 'pcie.0' };
const GED_LINE = 'ACPI: GED: PCI hotplug controller';

interface GedStatus { up: number; gdat: number; slots: Array<{ slot: number; device: string; pending: boolean }> }

const cleanups = afterEachCleanups();

function scratch(): string {
  const t = tempDir('ged');
  cleanups.push(t.remove);
  return t.dir;
}

/** device_add, the guest takes the slot (the controller's bitmaps read back to 0), device_del, DEVICE_DELETED. */
async function cycle(qmp: QmpClient): Promise<Record<string, unknown>> {
  await until('the guest to boot', async () => ((await qmp.execute<{ state: string }>('__org.plugboard_query-guest')).state === 'running' ? true : undefined));
  expect(await qmp.execute('device_add', NIC)).toEqual({});
  const st = await until('the guest to read PCIU', async () => {
    const s = await qmp.execute<GedStatus>('__org.example_query-ged-hotplug');
    return s.up === 0 && s.gdat === 0 ? s : undefined;
  });
  expect(st.slots).toContainEqual({ slot: 1, device: 'nic1', pending: false });
  const deleted = qmp.nextEvent('DEVICE_DELETED', 10_000);
  expect(await qmp.execute('device_del', { id: 'nic1' })).toEqual({});
  return (await deleted).data ?? {};
}

describe('plugboard -plugin PATH with the GED example', () => {
  it('-device help lists the plugin type', () => {
    const r = spawnSync(process.execPath, [CLI, '-plugin', PLUGIN, '-device', 'help'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('name "ged-pci-hotplug", bus System, desc "ACPI GED-style PCI hotplug controller (cloud-hypervisor PCIU/PCID/B0EJ)"');
  });

  it('runs a hotplug cycle over QMP', async (ctx) => {
    const dir = scratch();
    const sock = join(dir, 'qmp.sock');
    const log = join(dir, 'serial.log');
    const child = spawn(process.execPath, [
      CLI, '-plugin', PLUGIN, '-M', 'q35', '-nodefaults', '-device', 'ged-pci-hotplug,id=ged0',
      '-serial', `file:${log}`, '-qmp', `unix:${sock},server=on,wait=off`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    cleanups.push(() => new Promise<void>((r) => (child.exitCode !== null ? r() : (child.once('exit', () => r()), child.kill('SIGTERM')))));
    const qmp = await until('the QMP socket', () => QmpClient.connect(sock, { negotiate: true, timeoutMs: 1000 }).catch(() => (child.exitCode !== null ? Promise.reject(new Error(stderr)) : undefined)));
    cleanups.push(() => qmp.close());
    await until('the guest to boot', async () => ((await qmp.execute<{ state: string }>('__org.plugboard_query-guest')).state === 'running' ? true : undefined));
    if (!readFileSync(log, 'utf8').includes(GED_LINE)) {
      // The plugin and its device work; only the guest side is missing.
      expect(await qmp.execute('device_add', NIC)).toEqual({});
      expect((await qmp.execute<GedStatus>('__org.example_query-ged-hotplug')).up).toBe(2);
      ctx.skip('PlugboardServer.create does not pass Plugin.guestDrivers to the guest (see docs/plugins.md, "Guest drivers")');
    }
    expect(await cycle(qmp)).toEqual({ device: 'nic1', path: '/machine/peripheral/nic1' });
    expect(readFileSync(log, 'utf8')).toMatch(/e1000e 0000:00:01\.0 eth0: Intel\(R\) PRO\/1000 Network Connection/);
  });
});

describe('PlugboardServer.create({plugins: [ged]})', () => {
  it('runs a hotplug cycle over QMP once the guest gets the plugin drivers', async () => {
    const dir = scratch();
    const sock = join(dir, 'qmp.sock');
    const lines: string[] = [];
    const server = PlugboardServer.create({ type: 'q35', nodefaults: true, devices: [{ opts: { driver: 'ged-pci-hotplug', id: 'ged0' } }], plugins: [ged], serial: (l) => lines.push(l) });
    cleanups.push(() => server.close());
    // The wiring PlugboardServer.create should do (registration is idempotent by name).
    for (const d of server.host.plugins.guestDrivers) registerGuestDriver(server.host.guest!.guest, d);
    await server.listen({ kind: 'unix', path: sock });
    server.machine.cont();
    const qmp = await QmpClient.connect(sock, { negotiate: true });
    cleanups.push(() => qmp.close());
    expect(await cycle(qmp)).toEqual({ device: 'nic1', path: '/machine/peripheral/nic1' });
    expect(lines.some((l) => l.includes(GED_LINE))).toBe(true);
    const hmp = await qmp.execute<string>('human-monitor-command', { 'command-line': 'info_ged' });
    expect(hmp).toBe('ged-pci-hotplug at 0xfed30000 irq 5, bus pcie.0 (segment 0)\r\n  GDAT 0x0 PCIU 0x0 PCID 0x0\r\n');
  });
});
