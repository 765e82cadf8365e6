/**
 * Selective installs (issue #8): each set of packages is packed with `pnpm pack` (which turns
 * `workspace:^` into real ranges), installed with `npm install --offline` from the tarballs
 * alone into a scratch project outside the workspace, and a script runs there. A package that
 * needs something outside its set makes npm fail (ENOTCACHED names it); a missing `files`
 * entry or export makes the import fail. Every package of the workspace is packed too, and its
 * tarball checked: entry points, `types`, README and LICENSE present, `engines`, and the
 * `@plugboard/*` packages its dist imports (code and declarations) declared exactly, as
 * dependencies or peer dependencies. Skipped, saying so, without npm and pnpm.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPTS = fileURLToPath(new URL('./selective/', import.meta.url));
/** Every package of the workspace, by name. */
const DIRS: Record<string, string> = Object.fromEntries(
  ['packages', 'apps', 'examples'].flatMap((top) =>
    readdirSync(join(ROOT, top))
      .filter((d) => existsSync(join(ROOT, top, d, 'package.json')))
      .map((d) => [(JSON.parse(readFileSync(join(ROOT, top, d, 'package.json'), 'utf8')) as { name: string }).name, `${top}/${d}`]),
  ),
);
/** Packages shared by class identity: a package importing one must take it as a peer. */
const SINGLETONS = ['@plugboard/qdev', '@plugboard/pci-core', '@plugboard/guest'];
/** Applications own their copy (they are the host a plugin's peers resolve to). */
const APPS = ['@plugboard/cli', '@plugboard/qmp-server'];
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
    name: 'qdev + pci-core + hotplug-spapr + guest: a pseries board, the pseries Linux plugs and unplugs over RTAS',
    packages: ['@plugboard/qdev', '@plugboard/pci-core', '@plugboard/hotplug-spapr', '@plugboard/guest'],
    script: 'spapr-linux.mjs',
    check(lines) {
      expect(lines[0]).toEqual({ plugin: '@plugboard/hotplug-spapr', unresolved: [] });
      expect(lines.filter((l) => 'step' in l)).toEqual([
        { step: 'boot', ok: true },
        { step: 'online', ok: true },
        { step: 'device_del', pending: true },
        { step: 'removed', ok: true, guestHasIt: false },
      ]);
      expect(lines.filter((l) => 'event' in l)).toEqual([
        { event: 'RESUME' },
        { event: 'DEVICE_DELETED', data: { device: 'nic1', path: '/machine/peripheral/nic1' } },
      ]);
      // The kernel found the card on PHB 0 (RTAS config cycles) and e1000 bound it.
      const klog = lines.filter((l) => 'klog' in l).map((l) => String(l.klog).replace(/^\[[ .0-9]+\] /, ''));
      expect(klog).toContain('pci 0000:00:00.0: [8086:100e] type 00 class 0x020000');
      expect(klog).toContain('e1000 0000:00:00.0 eth0: Intel(R) PRO/1000 Network Connection');
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
    for (const name of Object.keys(DIRS).filter(built)) {
      const out = execFileSync('pnpm', ['pack', '--pack-destination', join(work, 'tgz')], { cwd: join(ROOT, DIRS[name]!), encoding: 'utf8' });
      tarballs.set(name, out.trim().split('\n').pop()!.trim());
    }
  }, 120_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('every tarball has its entry points, types, README and LICENSE, engines, and no workspace: range', () => {
    expect(tarballs.size, 'packages packed').toBeGreaterThan(0);
    for (const [name, tgz] of tarballs) {
      const files = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).split('\n');
      const has = (f: string) => expect(files, `${name}: ${f} in the tarball`).toContain(`package/${f.replace(/^\.\//, '')}`);
      const pkg = JSON.parse(execFileSync('tar', ['-xOzf', tgz, 'package/package.json'], { encoding: 'utf8' })) as Record<string, unknown>;
      const ranges = JSON.stringify([pkg.dependencies, pkg.peerDependencies, pkg.optionalDependencies]);
      expect(ranges, `${name}: ranges`).not.toContain('workspace:');
      expect(pkg.type, `${name}: type`).toBe('module');
      expect(pkg.engines, `${name}: engines`).toEqual({ node: '>=20' });
      expect(pkg.sideEffects, `${name}: sideEffects`).toBeDefined();
      has(pkg.main as string);
      has(pkg.types as string);
      for (const f of ['README.md', 'LICENSE']) has(f);
      for (const bin of Object.values((pkg.bin ?? {}) as Record<string, string>)) has(bin);
      for (const [sub, exp] of Object.entries(pkg.exports as Record<string, string | Record<string, string>>)) {
        if (typeof exp === 'string') {
          has(exp);
          continue;
        }
        // `types` first (TypeScript takes the first condition that matches), then import/default.
        expect(Object.keys(exp), `${name}: exports['${sub}'] conditions`).toEqual(['types', 'import', 'default']);
        for (const f of Object.values(exp)) has(f);
      }
    }
  });

  const manifest = (name: string) =>
    JSON.parse(execFileSync('tar', ['-xOzf', tarballs.get(name)!, 'package/package.json'], { encoding: 'utf8' })) as Record<string, Record<string, string> | undefined>;

  it('every tarball declares exactly the @plugboard packages its dist imports; shared ones as peers', () => {
    for (const [name, tgz] of tarballs) {
      const files = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).split('\n').filter((f) => /^package\/dist\/.*\.(js|d\.ts)$/.test(f));
      const imported = new Set<string>();
      for (const f of files) {
        const text = execFileSync('tar', ['-xOzf', tgz, f], { encoding: 'utf8', maxBuffer: 64 << 20 });
        // Import declarations, re-exports and import() types; a bundled bin (plugboard-qmp) has none.
        for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](@plugboard\/[a-z0-9-]+|plugboard-[a-z0-9-]+)(?:\/[^'"]*)?['"]/g)) imported.add(m[1]!);
      }
      imported.delete(name);
      const pkg = manifest(name);
      const deps = Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith('@plugboard/'));
      const peers = Object.keys(pkg.peerDependencies ?? {}).filter((d) => d.startsWith('@plugboard/'));
      // An application also provides the peers of what it depends on (it is where they resolve).
      const provided = APPS.includes(name) ? deps.filter((d) => tarballs.has(d)).flatMap((d) => Object.keys(manifest(d).peerDependencies ?? {}).filter((p) => p.startsWith('@plugboard/'))) : [];
      expect([...deps, ...peers].sort(), `${name}: declared vs imported by dist (and, for an app, the peers it provides)`).toEqual([...new Set([...imported, ...provided])].sort());
      if (!APPS.includes(name)) expect(deps.filter((d) => SINGLETONS.includes(d)), `${name}: shared packages must be peers`).toEqual([]);
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
