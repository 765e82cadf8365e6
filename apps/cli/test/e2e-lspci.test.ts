/** The config-space dump is real `lspci -xxxx` text: pciutils' `lspci -F` reads it back. */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawQmp, startPlugboard, type Running } from './harness.js';

const hasLspci = spawnSync('sh', ['-c', 'command -v lspci'], { stdio: 'ignore' }).status === 0;
const running: Running[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.child.kill('SIGKILL');
});

describe.skipIf(!hasLspci)('__org.plugboard_dump-config and lspci -F', () => {
  it('lspci decodes the root port slot registers from the dump', async () => {
    const pb = await startPlugboard(['-M', 'q35', '-S', '-nodefaults', '-display', 'none', '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1']);
    running.push(pb);
    const q = await RawQmp.connect(pb.sock);
    await q.line();
    await q.cmd({ execute: 'qmp_capabilities' });
    const dump = JSON.parse(await q.cmd({ execute: '__org.plugboard_dump-config' })).return as string;
    const file = join(mkdtempSync(join(tmpdir(), 'pb-lspci-')), 'dump.txt');
    writeFileSync(file, dump);
    const list = spawnSync('lspci', ['-F', file], { encoding: 'utf8' }).stdout;
    expect(list).toContain('00:01.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port');
    expect(list).toContain('00:1f.0 ISA bridge: Intel Corporation 82801IB (ICH9) LPC Interface Controller (rev 02)');
    const vv = spawnSync('lspci', ['-F', file, '-vv', '-s', '00:01.0'], { encoding: 'utf8' }).stdout;
    expect(vv).toContain('SltCap:\tAttnBtn+ PwrCtrl+ MRL- AttnInd+ PwrInd+ HotPlug+ Surprise+');
    expect(vv).toContain('Slot #1, PowerLimit 0W; Interlock+ NoCompl-');
    expect(vv).toContain('Capabilities: [54] Express (v2) Root Port (Slot+), MSI 00');
    // The same register through the read command: SLTCAP low word 0x007b (spec/pcie-slot.md §3).
    expect(await q.cmd({ execute: '__org.plugboard_config-read', arguments: { id: 'rp1', offset: 0x54 + 0x14, size: 4 } })).toBe(`{"return": ${0x000a007b}}`);
  });
});
