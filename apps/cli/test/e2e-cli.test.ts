/** The command line fails as QEMU 7.2 fails: same words (program name aside), exit code 1. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLI } from './harness.js';

const cases = JSON.parse(readFileSync(fileURLToPath(new URL('../../../fixtures/qemu-7.2/cli.json', import.meta.url)), 'utf8')) as Array<{ argv: string[]; stdout: string; stderr: string; code: number | string }>;

/** Invocations whose QEMU answer depends on things Plugboard does not model. */
const SKIP = [/^-h$/, /-cpu/, /help/, /-version/, /-qmp unix:$/, /^-S -nodefaults -display none -M pc$/];

describe('CLI errors equal QEMU 7.2 (fixtures/qemu-7.2/cli.json)', () => {
  for (const c of cases.filter((x) => x.argv[0] === 'qemu-system-x86_64' && typeof x.code === 'number' && x.code !== 0)) {
    const args = c.argv.slice(1);
    const joined = args.join(' ');
    if (SKIP.some((r) => r.test(joined))) continue;
    it(joined, () => {
      const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 10_000 });
      expect(r.stderr).toBe(c.stderr.replaceAll('qemu-system-x86_64:', 'plugboard:'));
      expect(r.status).toBe(c.code);
      expect(r.stdout).toBe('');
    });
  }
});

describe('-device DRIVER,help equals QEMU 7.2', () => {
  for (const c of cases.filter((x) => x.argv[0] === 'qemu-system-x86_64' && x.argv[1] === '-device' && /,help$/.test(x.argv[2] ?? ''))) {
    it(c.argv.slice(1).join(' '), () => {
      const r = spawnSync(process.execPath, [CLI, ...c.argv.slice(1)], { encoding: 'utf8', timeout: 10_000 });
      expect(r.stdout).toBe(c.stdout);
      expect(r.status).toBe(0);
    });
  }
  it('an unknown driver is reported with its location, exit 0', () => {
    const r = spawnSync(process.execPath, [CLI, '-device', 'foo,help'], { encoding: 'utf8' });
    expect(r.stderr).toBe("plugboard: -device foo,help: Device 'foo' not found\n");
    expect(r.status).toBe(0);
  });
});
