/**
 * `plugboard -M pseries,dumpdtb=FILE` against `qemu-system-ppc64 -M pseries,dumpdtb=FILE`
 * (Debian QEMU 7.2, fixtures/qemu-7.2-ppc/dtb-*.json, recorded by
 * packages/hotplug-spapr/scripts/record-qemu-ppc.mjs): both blobs decompiled by `dtc -I dtb -O
 * dts`; every `ibm,drc-*` line, each PHB node, and the whole text (random rng-seed aside) equal.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI } from './harness.js';
import { drcLines, nodeText, seedless } from '../../../packages/hotplug-spapr/test/dts-text.js';

interface DtbFixture {
  argv: string[];
  dts: string;
}
const fixture = (name: string): DtbFixture =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../../../fixtures/qemu-7.2-ppc/dtb-${name}.json`, import.meta.url)), 'utf8')) as DtbFixture;

const hasDtc = spawnSync('dtc', ['--version']).status === 0;

describe('-machine dumpdtb through the CLI equals QEMU 7.2 (dtc -I dtb -O dts)', () => {
  for (const name of ['nodefaults', 'phb2', 'bridge1', 'phb2-bridge']) {
    it.skipIf(!hasDtc)(name, () => {
      const fx = fixture(name);
      const dir = mkdtempSync(join(tmpdir(), 'pb-dtb-'));
      try {
        const file = join(dir, 'pb.dtb');
        // QEMU's argv with the program and the file swapped: `-M pseries,dumpdtb=FILE -display none ...`.
        const args = fx.argv.slice(1).map((a) => a.replace('FILE', file));
        const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
        expect([r.status, r.stdout]).toEqual([0, '']);
        expect(r.stderr).toContain(`dtb dumped to ${file}. Exiting.`);
        const ours = execFileSync('dtc', ['-I', 'dtb', '-O', 'dts', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
        const qemu = fx.dts;
        expect(drcLines(ours)).toEqual(drcLines(qemu));
        expect(drcLines(ours).length).toBeGreaterThanOrEqual(12);
        for (const phb of ['pci@800000020000000 {', 'pci@800000020000001 {']) expect(nodeText(ours, phb)).toEqual(nodeText(qemu, phb));
        expect(seedless(ours)).toEqual(seedless(qemu));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
