/**
 * Selective installs (issue #8): each set of packages is packed with `pnpm pack` (which turns
 * `workspace:^` into real ranges), installed with `npm install --offline` from the tarballs
 * alone into a scratch project outside the workspace, and a script runs there. A package that
 * needs something outside its set makes npm fail (ENOTCACHED names it); a missing `files`
 * entry or export makes the import fail. Skipped, saying so, without npm and pnpm.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPTS = fileURLToPath(new URL('./selective/', import.meta.url));
const DIRS: Record<string, string> = {
  '@plugboard/qdev': 'packages/qdev',
  '@plugboard/pci-core': 'packages/pci-core',
  '@plugboard/hotplug-pcie': 'packages/hotplug-pcie',
  '@plugboard/hotplug-spapr': 'packages/hotplug-spapr',
  '@plugboard/guest': 'packages/guest',
  '@plugboard/testkit': 'packages/testkit',
  'plugboard-plugin-ged-hotplug': 'examples/ged-hotplug',
};
const works = (cmd: string) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;
const tools = works('npm') && works('pnpm');
const built = (name: string) => existsSync(join(ROOT, DIRS[name]!, 'dist/index.js'));

type Line = Record<string, unknown>;
interface InstallSet {
  name: string;
  packages: string[];
  script: string;
  check(lines: Line[]): void;
}

const SETS: InstallSet[] = [
  {
    name: 'qdev + pci-core + hotplug-pcie: a scripted pciehp guest plugs and unplugs',
    packages: ['@plugboard/qdev', '@plugboard/pci-core', '@plugboard/hotplug-pcie'],
    script: 'pcie-scripted.mjs',
    check(lines) {
      expect(lines.filter((l) => 'step' in l)).toEqual([
        { step: 'device_add', sltsta: 0x0009 },
        { step: 'online', id: '10d38086' },
        { step: 'device_del', sltsta: 0x0001 },
        { step: 'removed', id: 'ffffffff' },
      ]);
      expect(lines.filter((l) => 'event' in l)).toEqual([
        { event: 'X_DEVICE_ON', data: { device: 'nic1', path: '/machine/peripheral/nic1' } },
        { event: 'DEVICE_DELETED', data: { device: 'nic1', path: '/machine/peripheral/nic1' } },
      ]);
    },
  },
  {
    name: 'qdev + pci-core + hotplug-pcie + guest: the simulated Linux plugs and unplugs',
    packages: ['@plugboard/qdev', '@plugboard/pci-core', '@plugboard/hotplug-pcie', '@plugboard/guest'],
    script: 'pcie-linux.mjs',
    check(lines) {
      expect(lines.filter((l) => 'step' in l)).toEqual([{ step: 'boot', ok: true }, { step: 'online', ok: true }, { step: 'removed', ok: true }]);
      expect(lines.filter((l) => l.event === 'DEVICE_DELETED')).toEqual([{ event: 'DEVICE_DELETED', data: { device: 'nic1', path: '/machine/peripheral/nic1' } }]);
    },
  },
  {
    name: 'a plugin author: qdev + pci-core + guest + testkit + the GED example pass the contract without vitest',
    packages: ['@plugboard/qdev', '@plugboard/pci-core', '@plugboard/guest', '@plugboard/testkit', 'plugboard-plugin-ged-hotplug'],
    script: 'ged-contract.mjs',
    check(lines) {
      expect(lines.length).toBe(12);
      expect(lines.filter((l) => l.status !== 'passed')).toEqual([]);
    },
  },
  {
    name: 'qdev + pci-core + hotplug-spapr: the backend loads over the foundation alone',
    packages: ['@plugboard/qdev', '@plugboard/pci-core', '@plugboard/hotplug-spapr'],
    script: 'spapr-load.mjs',
    check(lines) {
      expect(lines).toEqual([expect.objectContaining({ plugin: '@plugboard/hotplug-spapr', unresolved: [] })]);
    },
  },
];

describe.skipIf(!tools)(`selective installs from packed tarballs${tools ? '' : ' [skipped: npm or pnpm not on PATH]'}`, () => {
  let work: string;
  const tarballs = new Map<string, string>();

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'pb-selective-'));
    const wanted = new Set(SETS.flatMap((s) => s.packages).filter(built));
    for (const name of wanted) {
      const out = execFileSync('pnpm', ['pack', '--pack-destination', join(work, 'tgz')], { cwd: join(ROOT, DIRS[name]!), encoding: 'utf8' });
      tarballs.set(name, out.trim().split('\n').pop()!.trim());
    }
  }, 60_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('every tarball has its entry points and types, and no workspace: range', () => {
    for (const [name, tgz] of tarballs) {
      const files = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).split('\n');
      const pkg = JSON.parse(execFileSync('tar', ['-xOzf', tgz, 'package/package.json'], { encoding: 'utf8' })) as Record<string, unknown>;
      const ranges = JSON.stringify([pkg.dependencies, pkg.peerDependencies]);
      expect(ranges, `${name}: ranges`).not.toContain('workspace:');
      const exp = (pkg.exports as Record<string, Record<string, string>>)['.']!;
      for (const f of [exp.import, exp.types]) expect(files, `${name}: ${f} in the tarball`).toContain(`package/${f!.replace(/^\.\//, '')}`);
    }
  });

  for (const set of SETS) {
    const missing = set.packages.filter((p) => !built(p));
    it.skipIf(missing.length > 0)(`${set.name}${missing.length ? ` [skipped: ${missing.join(', ')} not built]` : ''}`, () => {
      const dir = join(work, set.script.replace('.mjs', ''));
      execFileSync('mkdir', ['-p', dir]);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
      const r = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', ...set.packages.map((p) => tarballs.get(p)!)], {
        cwd: dir, encoding: 'utf8', timeout: 60_000,
      });
      expect(r.status, `npm install ${set.packages.join(' ')}:\n${r.stderr}`).toBe(0);
      copyFileSync(join(SCRIPTS, set.script), join(dir, set.script));
      const run = spawnSync(process.execPath, [set.script], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      expect(run.status, `node ${set.script}:\n${run.stderr}`).toBe(0);
      set.check(run.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line));
    }, 60_000);
  }
});
