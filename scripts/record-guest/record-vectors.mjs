#!/usr/bin/env node
// Boots Debian 12's kernel (with its own initrd: nothing past the in-kernel port drivers is
// needed) under QEMU 7.2 TCG on q35 with 240 pcie-root-ports and one vCPU, and keeps the
// PCIe port services' lines: where the x86 vector space runs out, what Linux 6.1 prints.
// Writes fixtures/qemu-7.2-linux/pcieport-vectors-240.json. Takes ~2 min.
//   node scripts/record-guest/record-vectors.mjs [--out FILE]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : new URL('../../fixtures/qemu-7.2-linux/pcieport-vectors-240.json', import.meta.url).pathname;
const version = readdirSync('/boot').filter((f) => f.startsWith('vmlinuz-')).sort().at(-1).slice('vmlinuz-'.length);
const tmp = mkdtempSync(join(tmpdir(), 'pb-vectors-'));
const serial = join(tmp, 'serial.log');
const ports = [];
for (let slot = 1; slot <= 30; slot++) {
  for (let fn = 0; fn < 8; fn++) {
    const n = ports.length / 2;
    ports.push('-device', `pcie-root-port,id=p${n},bus=pcie.0,addr=${slot.toString(16)}.${fn},chassis=${n + 1},slot=1${fn === 0 ? ',multifunction=on' : ''}`);
  }
}
const argv = [
  '-M', 'q35', '-accel', 'tcg', '-m', '512', '-nodefaults', '-display', 'none', '-no-reboot',
  '-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off', ...ports,
  '-kernel', `/boot/vmlinuz-${version}`, '-initrd', `/boot/initrd.img-${version}`,
  '-append', 'console=ttyS0 panic=-1 loglevel=8', '-serial', `file:${serial}`,
];
// The initrd waits for a root disk that never comes: stop once the port drivers are done.
spawnSync('timeout', ['150', process.env.QEMU ?? 'qemu-system-x86_64', ...argv], { stdio: 'inherit' });
const log = readFileSync(serial, 'utf8').split('\n').map((l) => l.replace(/^\[\s*\d+\.\d+\]\s/, '').trimEnd());
rmSync(tmp, { recursive: true, force: true });
const keep = /^(pcieport |pcie_pme: |aer: |Interrupt reservation)/;
const qemu = spawnSync(process.env.QEMU ?? 'qemu-system-x86_64', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
writeFileSync(out, JSON.stringify({
  qemu, kernel: version,
  argv: argv.map((a) => a.replace(serial, 'TMP/serial.log')),
  note: 'Kernel console lines of the PCIe port services (timestamps dropped), in order. One vCPU: the 200th port finds no free vector.',
  lines: log.filter((l) => keep.test(l)),
}, null, 1) + '\n');
console.log(`wrote ${out}`);
