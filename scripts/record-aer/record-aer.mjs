#!/usr/bin/env node
// Records what QEMU 7.2 does with `pcie_aer_inject_error`: every AER-related register of
// the functions on the error's path after each injection, read through ECAM under qtest
// (no guest runs), and writes fixtures/qemu-7.2-aer/registers.json. Tests replay the same
// writes and HMP commands against Plugboard and compare every read.
//
//   node scripts/record-aer/record-aer.mjs [--only NAME[,NAME]] [--list] [--out FILE]
//
// Needs Debian 12's qemu-system-x86 (7.2). One QEMU per scenario, ~1 s each.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { QtestQemu } from './qtest.mjs';
import { Steps, bdfName, discover } from './steps.mjs';
import { SCENARIOS } from './scenarios.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const QEMU_BIN = process.env.QEMU || 'qemu-system-x86_64';

/**
 * One topology for every scenario (`-device` options; ids are the HMP targets). Bus numbers
 * are programmed by the scenario's first steps, as firmware would: `sec`/`sub` below.
 */
export const TOPOLOGY = [
  { opts: { driver: 'pcie-root-port', id: 'rp1', chassis: 1, slot: 1, addr: '2' }, bus: 0, devfn: 0x10, sec: 1, sub: 1, root: true },
  { opts: { driver: 'e1000e', id: 'nic1', bus: 'rp1' }, bus: 1, devfn: 0 },
  { opts: { driver: 'pcie-root-port', id: 'rp2', chassis: 1, slot: 2, addr: '3' }, bus: 0, devfn: 0x18, sec: 2, sub: 4, root: true },
  { opts: { driver: 'x3130-upstream', id: 'up1', bus: 'rp2' }, bus: 2, devfn: 0, sec: 3, sub: 4 },
  { opts: { driver: 'xio3130-downstream', id: 'dp1', bus: 'up1', chassis: 2, slot: 1 }, bus: 3, devfn: 0, sec: 4, sub: 4 },
  { opts: { driver: 'e1000e', id: 'nic2', bus: 'dp1' }, bus: 4, devfn: 0 },
  { opts: { driver: 'ioh3420', id: 'ioh1', chassis: 1, slot: 3, addr: '4' }, bus: 0, devfn: 0x20, sec: 5, sub: 5, root: true },
  { opts: { driver: 'virtio-net-pci', id: 'vn1', bus: 'ioh1', aer: 'on' }, bus: 5, devfn: 0 },
  { opts: { driver: 'pcie-root-port', id: 'rp3', chassis: 1, slot: 4, addr: '5', aer_log_max: 2 }, bus: 0, devfn: 0x28, sec: 6, sub: 6, root: true },
  { opts: { driver: 'virtio-net-pci', id: 'vn2', bus: 'rp3' }, bus: 6, devfn: 0 },
  { opts: { driver: 'pcie-root-port', id: 'rp4', chassis: 1, slot: 5, addr: '6', aer_log_max: 0 }, bus: 0, devfn: 0x30, sec: 7, sub: 7, root: true },
  { opts: { driver: 'nvme', id: 'nv1', bus: 'rp4', serial: 'pb0001' }, bus: 7, devfn: 0 },
  { opts: { driver: 'pcie-root-port', id: 'rp5', chassis: 1, slot: 6, addr: '7' }, bus: 0, devfn: 0x38, sec: 8, sub: 9, root: true },
  { opts: { driver: 'pcie-pci-bridge', id: 'pb1', bus: 'rp5' }, bus: 8, devfn: 0, sec: 9, sub: 9 },
  { opts: { driver: 'e1000', id: 'old1', bus: 'pb1', addr: '1' }, bus: 9, devfn: 0x08 },
  { opts: { driver: 'e1000', id: 'old0', addr: '8' }, bus: 0, devfn: 0x40 },
];

const deviceArg = (o) => Object.entries(o).map(([k, v]) => (k === 'driver' ? v : `${k}=${v}`)).join(',');

function parseArgs(argv) {
  const o = { only: null, list: false, out: path.join(REPO, 'fixtures/qemu-7.2-aer/registers.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') o.only = argv[++i].split(',');
    else if (a === '--list') o.list = true;
    else if (a === '--out') o.out = path.resolve(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

async function runScenario(name, sc) {
  const args = TOPOLOGY.flatMap((t) => ['-device', deviceArg(t.opts)]);
  const q = await QtestQemu.start(QEMU_BIN, args);
  const s = new Steps(q);
  try {
    const devs = {};
    for (const t of TOPOLOGY) {
      devs[t.opts.id] = { id: t.opts.id, driver: t.opts.driver, bus: t.bus, devfn: t.devfn, name: bdfName(t.bus, t.devfn), bridge: t.sec !== undefined, root: !!t.root };
    }
    // Firmware's part: bus numbers (primary, secondary, subordinate), depth first.
    s.note('bus numbers');
    for (const t of TOPOLOGY) if (t.sec !== undefined) await s.w(devs[t.opts.id], 0x18, t.bus | (t.sec << 8) | (t.sub << 16));
    s.note('capability lists');
    for (const d of Object.values(devs)) await discover(s, d);
    s.note(name);
    await sc.run(s, devs);
    return { name, about: sc.about, argv: [QEMU_BIN, ...q.argvForFixture], steps: s.steps };
  } finally {
    await q.stop();
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.list) { for (const [n, sc] of Object.entries(SCENARIOS)) console.log(`${n}\t${sc.about}`); return; }
  const names = opts.only ?? Object.keys(SCENARIOS);
  const version = spawnSync(QEMU_BIN, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  let fixture = { qemu: version, recordedWith: 'scripts/record-aer/record-aer.mjs', topology: TOPOLOGY, scenarios: {} };
  if (opts.only && fs.existsSync(opts.out)) fixture = { ...JSON.parse(fs.readFileSync(opts.out, 'utf8')), qemu: version, topology: TOPOLOGY };
  for (const n of names) {
    if (!SCENARIOS[n]) throw new Error(`unknown scenario ${n}`);
    const t0 = Date.now();
    fixture.scenarios[n] = await runScenario(n, SCENARIOS[n]);
    console.log(`${n}: ${fixture.scenarios[n].steps.length} steps in ${Date.now() - t0} ms`);
  }
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  // One step per line: reviewable diffs, still plain JSON.
  const body = Object.entries(fixture.scenarios).map(([n, sc]) =>
    `${JSON.stringify(n)}: {"name": ${JSON.stringify(sc.name)}, "about": ${JSON.stringify(sc.about)}, "argv": ${JSON.stringify(sc.argv)}, "steps": [\n${sc.steps.map((x) => JSON.stringify(x)).join(',\n')}\n]}`);
  const head = { qemu: fixture.qemu, recordedWith: fixture.recordedWith, topology: fixture.topology };
  fs.writeFileSync(opts.out, `${JSON.stringify(head, null, 1).slice(0, -2)},\n "scenarios": {\n${body.join(',\n')}\n}}\n`);
  console.log(`wrote ${path.relative(REPO, opts.out)} (${fs.statSync(opts.out).size} bytes)`);
}

main().catch((e) => { console.error(e); process.exit(1); });
