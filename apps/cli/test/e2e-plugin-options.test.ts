/**
 * `plugboard -plugin PATH,key=value`: the options reach the plugin (issue #8). The GED example
 * takes `mmio-base`: its register window moves, the guest driver finds it there, and a hotplug
 * cycle completes over QMP. Undeclared options and bad values are refused with the location.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, RawQmp } from './harness.js';
import { afterEachCleanups, tempDir, until } from '../../qmp-server/test/reliability/helpers.js';

const PLUGIN = fileURLToPath(new URL('../../../examples/ged-hotplug/dist/index.js', import.meta.url));
const NIC = { driver: 'e1000e', id: 'nic1', bus: 'pcie.0' };

const cleanups = afterEachCleanups();

function scratch(): string {
  const t = tempDir('plugopt');
  cleanups.push(t.remove);
  return t.dir;
}

const fail = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args, '-display', 'none'], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
};

/** QMP over RawQmp: replies parsed, events kept aside. */
class Qmp {
  readonly events: Array<{ event: string; data?: unknown }> = [];
  constructor(private readonly raw: RawQmp) {}
  private async next(): Promise<Record<string, unknown>> {
    const m = JSON.parse(await this.raw.line(10_000)) as Record<string, unknown>;
    return m;
  }
  async execute<T = unknown>(execute: string, args?: Record<string, unknown>): Promise<T> {
    this.raw.send(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
    for (;;) {
      const m = await this.next();
      if ('event' in m) this.events.push(m as { event: string });
      else if ('return' in m) return m.return as T;
      else throw new Error(JSON.stringify(m));
    }
  }
  async event(name: string): Promise<{ event: string; data?: unknown }> {
    for (;;) {
      const seen = this.events.find((e) => e.event === name);
      if (seen) return seen;
      const m = await this.next();
      if ('event' in m) this.events.push(m as { event: string });
    }
  }
}

async function connect(sock: string): Promise<Qmp> {
  const raw = await RawQmp.connect(sock);
  cleanups.push(() => raw.close());
  await raw.line(); // greeting
  const q = new Qmp(raw);
  await q.execute('qmp_capabilities');
  return q;
}

describe('plugboard -plugin PATH,key=value', () => {
  it('moves the GED register window: the guest finds it there and a hotplug cycle completes', async () => {
    const dir = scratch();
    const sock = join(dir, 'qmp.sock');
    const log = join(dir, 'serial.log');
    const child = spawn(process.execPath, [
      CLI, '-plugin', `${PLUGIN},mmio-base=0xfed38000`, '-M', 'q35', '-nodefaults', '-display', 'none',
      '-device', 'ged-pci-hotplug,id=ged0', '-serial', `file:${log}`, '-qmp', `unix:${sock},server=on,wait=off`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    cleanups.push(() => new Promise<void>((r) => (child.exitCode !== null ? r() : (child.once('exit', () => r()), child.kill('SIGTERM')))));
    const qmp = await until('the QMP socket', () => connect(sock).catch(() => (child.exitCode !== null ? Promise.reject(new Error(stderr)) : undefined)));
    await until('the guest to boot', async () => ((await qmp.execute<{ state: string }>('__org.plugboard_query-guest')).state === 'running' ? true : undefined));
    expect(await qmp.execute('qom-get', { path: 'ged0', property: 'mmio-base' })).toBe(0xfed38000);
    expect(readFileSync(log, 'utf8')).toContain('ACPI: GED: PCI hotplug controller [mem 0xfed38000-0xfed3801f] irq 5');

    expect(await qmp.execute('device_add', NIC)).toEqual({});
    await until('the guest to take the slot', async () => {
      const s = await qmp.execute<{ up: number; gdat: number }>('__org.example_query-ged-hotplug');
      return s.up === 0 && s.gdat === 0 ? true : undefined;
    });
    expect(await qmp.execute('device_del', { id: 'nic1' })).toEqual({});
    expect((await qmp.event('DEVICE_DELETED')).data).toEqual({ device: 'nic1', path: '/machine/peripheral/nic1' });
    expect(await qmp.execute('human-monitor-command', { 'command-line': 'info_ged' })).toBe(
      'ged-pci-hotplug at 0xfed38000 irq 5, bus pcie.0 (segment 0)\r\n  GDAT 0x0 PCIU 0x0 PCID 0x0\r\n',
    );
    expect(readFileSync(log, 'utf8')).toMatch(/e1000e 0000:00:01\.0 eth0: Intel\(R\) PRO\/1000 Network Connection/);
  });

  it('the option also reaches -device TYPE,help (the new default)', () => {
    const r = spawnSync(process.execPath, [CLI, '-plugin', `${PLUGIN},mmio-base=0xfed38000`, '-device', 'ged-pci-hotplug,help'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/mmio-base=<uint32> +- guest physical address of the register window \(default: 4275273728\)/);
  });

  it('refuses an option the plugin does not declare, naming the ones it does', () => {
    const arg = `${PLUGIN},mmio-bas=0xfed38000`;
    expect(fail('-plugin', arg, '-M', 'q35')).toEqual({
      code: 1,
      stdout: '',
      stderr: `plugboard: -plugin ${arg}: Plugin 'plugboard-plugin-ged-hotplug' has no option 'mmio-bas' (its options: mmio-base)\n`,
    });
  });

  it('refuses a value the plugin cannot parse, as the device property would', () => {
    const arg = `${PLUGIN},mmio-base=0x1fed38000`;
    expect(fail('-plugin', arg, '-M', 'q35')).toEqual({ code: 1, stdout: '', stderr: `plugboard: -plugin ${arg}: Parameter 'mmio-base' expects uint32_t\n` });
  });

  it('refuses options for a plugin that takes none', () => {
    const dir = scratch();
    const file = join(dir, 'plain.mjs');
    writeFileSync(file, "export default { name: 'plain-plugin' };\n");
    expect(fail('-plugin', `${file},verbose=on`, '-M', 'q35')).toEqual({
      code: 1,
      stdout: '',
      stderr: `plugboard: -plugin ${file},verbose=on: Plugin 'plain-plugin' takes no options ('verbose' given)\n`,
    });
  });
});

describe('plugboard -plugin PATH,help', () => {
  const GED_HELP =
    'plugboard-plugin-ged-hotplug options:\n' +
    '  mmio-base=<str>        - guest physical address of the register window (the device default and where the guest looks) (default: "0xfed30000")\n';

  it('lists the options the plugin declares, as -device TYPE,help lists properties, and exits 0', () => {
    expect(fail('-plugin', `${PLUGIN},help`, '-M', 'q35')).toEqual({ code: 0, stdout: GED_HELP, stderr: '' });
  });

  it('the package directory, `?`, and help among other options (help wins, nothing is parsed)', () => {
    const dir = fileURLToPath(new URL('../../../examples/ged-hotplug', import.meta.url));
    expect(fail('-plugin', `${dir},?`)).toEqual({ code: 0, stdout: GED_HELP, stderr: '' });
    expect(fail('-plugin', `${PLUGIN},mmio-base=0x1fed38000,help`)).toEqual({ code: 0, stdout: GED_HELP, stderr: '' });
  });

  it('a plugin without options says so', () => {
    const dir = scratch();
    const file = join(dir, 'plain.mjs');
    writeFileSync(file, "export default { name: 'plain-plugin' };\n");
    expect(fail('-plugin', `${file},help`)).toEqual({ code: 0, stdout: 'There are no options for plain-plugin.\n', stderr: '' });
  });

  it('a plugin that cannot be found is still an error', () => {
    expect(fail('-plugin', './no-such-plugin.js,help')).toEqual({
      code: 1,
      stdout: '',
      stderr: "plugboard: -plugin ./no-such-plugin.js,help: Could not find plugin './no-such-plugin.js'\n",
    });
  });
});
