#!/usr/bin/env node
// `pnpm bench`: every figure of issue #9's Performance section, Plugboard beside its peer, in one
// run. Figures only, never assertions. Needs a build; QEMU figures need qemu-system-x86_64 7.2.
//
//   1. side by side with QEMU (this file): start-up to the QMP greeting (and the bare Node.js
//      server floor), query-status / query-pci round trips on a small and a large q35 topology
//      (and the bare Node.js JSON echo floor), device_add alone;
//   2. bench/hotplug.mjs: the full hotplug cycle with the guest vs QEMU + Linux (recorded), and
//      the most ports q35 takes, each plugged and unplugged with the guest;
//   3. bench/scale.mjs: memory per machine, time vs number of devices (1, 10, 100, 1000);
//   4. bench/fleet.mjs: 1000 machines in one plugboard-qmp process.
//
// Knobs (environment): BENCH_RUNS start-ups per peer (15), BENCH_RTT round trips per command
// (400), BENCH_ADD device_add samples (60), BENCH_ONLY=run,hotplug,scale,fleet (all).
// The machine running the benchmark is rarely idle: medians of interleaved samples damp the
// noise, they do not remove it. Compare figures from the same run only.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BARE, PEERS, QEMU, median, ratio, sleep, startQmp } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const RTT = Number(process.env.BENCH_RTT ?? 400);
const ADDS = Number(process.env.BENCH_ADD ?? 60);
const ONLY = (process.env.BENCH_ONLY ?? 'run,hotplug,scale,fleet').split(',');
const BARE_PEER = { name: 'node bare', cmd: process.execPath, pre: [BARE] };
/** The command without its start-up work (bench/cli-unbundled.mjs): what bundling and early monitors bought. */
const LATE_PEER = { name: 'pb unbundled', cmd: process.execPath, pre: [fileURLToPath(new URL('cli-unbundled.mjs', import.meta.url))] };
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const row = (cells, widths) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' ');

const BASE = ['-M', 'q35', '-nodefaults', '-display', 'none'];
/** q35 with `n` pcie-root-ports (8 functions per slot from 00:01.0), each holding a virtio-mouse-pci n<i>. */
function topology(n) {
  const args = [...BASE];
  for (let i = 0; i < n; i++) {
    const slot = 1 + Math.floor(i / 8);
    const fn = i % 8;
    args.push('-device', `pcie-root-port,id=rp${i},bus=pcie.0,addr=${slot.toString(16)}.${fn},chassis=${i + 1},slot=1${fn === 0 && n > 1 ? ',multifunction=on' : ''}`);
    args.push('-device', `virtio-mouse-pci,id=n${i},bus=rp${i}`);
  }
  return args;
}

/** Every device in a query-pci reply, recursively. */
function pciDevices(reply) {
  const out = [];
  const walk = (devs) => {
    for (const d of devs ?? []) {
      out.push(d);
      walk(d.pci_bridge?.devices);
    }
  };
  for (const bus of reply ?? []) walk(bus.devices);
  return out;
}

// ---- 1. start-up to greeting, interleaved --------------------------------------------------
async function startups() {
  const args = [...BASE, '-S', '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1'];
  const peers = [BARE_PEER, ...PEERS.slice(0, 1), LATE_PEER, ...PEERS.slice(1)];
  const t = Object.fromEntries(peers.map((p) => [p.name, { greet: [], ready: [] }]));
  const nodeE = [];
  for (let r = 0; r < RUNS; r++) {
    for (const p of peers) {
      const m = await startQmp(p.cmd, [...p.pre, ...args]);
      t[p.name].greet.push(m.startMs);
      t[p.name].ready.push(m.readyMs);
      m.kill();
    }
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '']);
    nodeE.push(performance.now() - t0);
  }
  const med = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { greet: median(v.greet), ready: median(v.ready) }]));
  console.log(`\n== start-up (q35 -S, 1 root port), median of ${RUNS} interleaved launches, ms`);
  console.log('   greeting = launch -> QMP greeting; ready = launch -> qmp_capabilities answered. QEMU opens its monitors before it builds');
  console.log('   the machine and greets from its monitor thread; so does plugboard (apps/cli/src/early.ts), commands wait for the machine.');
  console.log("   pb unbundled = the same command unbundled, monitors opened after the machine (how it started before): what that work bought.");
  const w = [16, 10, 10, 22];
  console.log(row(['  peer', 'greeting', 'ready', 'greeting min..max'], w));
  for (const p of peers) {
    const g = t[p.name].greet;
    console.log(row([`  ${p.name}`, fmt(med[p.name].greet, 1), fmt(med[p.name].ready, 1), `${fmt(Math.min(...g), 1)}..${fmt(Math.max(...g), 1)}`], w));
  }
  console.log(row([`  node -e ''`, fmt(median(nodeE), 1), '', "(Node's own start and exit)"], w));
  const pb = med.plugboard;
  const bare = med['node bare'];
  console.log(`  plugboard / bare Node.js socket server: greeting ${ratio(pb.greet, bare.greet)}, ready ${ratio(pb.ready, bare.ready)}   (target <= 1.2x)`);
  const late = med[LATE_PEER.name];
  console.log(`  pb unbundled / bare Node.js socket server: greeting ${ratio(late.greet, bare.greet)}, ready ${ratio(late.ready, bare.ready)}   (bundle + early monitors: greeting ${fmt(late.greet - pb.greet, 1)} ms, ready ${fmt(late.ready - pb.ready, 1)} ms sooner)`);
  if (QEMU) {
    const q = med['qemu 7.2'];
    console.log(`  plugboard / qemu 7.2: greeting ${ratio(pb.greet, q.greet)}, ready ${ratio(pb.ready, q.ready)}   (the bare Node.js server alone is ${ratio(bare.greet, q.greet)} QEMU's greeting)`);
  }
  return med;
}

// ---- 2. round trips, small and large topology, with the bare echo floor ---------------------
async function readyPci(m, want) {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const r = await m.q.cmd('query-pci');
    const devs = pciDevices(r.return);
    const seen = devs.filter((d) => /^n\d+$/.test(d.qdev_id ?? '')).length;
    if (seen >= want || performance.now() > deadline) return { devices: devs.length, seen, bytes: JSON.stringify(r).length };
    await sleep(50);
  }
}

async function roundTrips(label, n) {
  // Running (not -S), so the firmware / simulated guest numbers the buses and query-pci shows
  // the devices behind the root ports; wait until it does.
  const args = topology(n);
  const peers = [];
  for (const p of PEERS) {
    const m = await startQmp(p.cmd, [...p.pre, ...args]);
    peers.push({ ...p, m, info: await readyPci(m, n), s: { 'query-status': [], 'query-pci': [] } });
  }
  const bare = await startQmp(BARE_PEER.cmd, [...BARE_PEER.pre]);
  peers.push({ ...BARE_PEER, m: bare, s: { 'query-status': [], 'query-pci': [] } });
  const lines = { 'query-status': '{"execute":"query-status"}\n', 'query-pci': '{"execute":"query-pci"}\n' };
  for (const p of peers) for (let i = 0; i < 20; i++) for (const l of Object.values(lines)) await p.m.q.rtt(l); // warm-up
  const block = 20;
  for (let done = 0; done < RTT; done += block) {
    for (const p of peers) for (const [c, l] of Object.entries(lines)) for (let i = 0; i < block; i++) p.s[c].push(await p.m.q.rtt(l));
  }
  for (const p of peers) p.m.kill();
  const med = Object.fromEntries(peers.map((p) => [p.name, { status: median(p.s['query-status']), pci: median(p.s['query-pci']) }]));
  console.log(`\n== QMP round trip, ${label}: q35, ${n} pcie-root-port(s) each with a virtio-mouse-pci, running; median of ${RTT} per command, in µs`);
  const w = [12, 14, 12, 40];
  console.log(row(['  peer', 'query-status', 'query-pci', 'query-pci reply'], w));
  for (const p of peers) {
    const info = p.info ? `${p.info.devices} devices, ${p.info.bytes} bytes` : 'echo of the request (the floor)';
    console.log(row([`  ${p.name}`, fmt(med[p.name].status), fmt(med[p.name].pci), info], w));
  }
  const pb = med.plugboard;
  if (QEMU) {
    const q = med['qemu 7.2'];
    console.log(`  plugboard / qemu 7.2: query-status ${ratio(pb.status, q.status)}, query-pci ${ratio(pb.pci, q.pci)}   (target <= 0.5x)`);
  }
  const b = med['node bare'];
  console.log(`  plugboard / bare Node.js JSON echo: query-status ${ratio(pb.status, b.status)} (+${fmt(pb.status - b.status)} µs), query-pci ${ratio(pb.pci, b.pci)} (+${fmt(pb.pci - b.pci)} µs)`);
  return med;
}

// ---- 3. device_add alone ----------------------------------------------------------------------
async function deviceAdd() {
  // -S: no guest acts; device_del then system_reset removes the device (the pending unplug
  // completes at reset, as in QEMU) so every sample plugs into the same empty slot.
  const args = [...BASE, '-S', '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1'];
  const peers = [];
  for (const p of PEERS) peers.push({ ...p, m: await startQmp(p.cmd, [...p.pre, ...args]), s: [], deleted: 0 });
  for (let i = 0; i < ADDS; i++) {
    for (const p of peers) {
      const { q } = p.m;
      const add = JSON.stringify({ execute: 'device_add', arguments: { driver: 'e1000e', bus: 'rp1', id: `nic${i}` } }) + '\n';
      p.s.push(await q.rtt(add));
      await q.cmd('device_del', { id: `nic${i}` });
      await q.cmd('system_reset');
      await q.events_('DEVICE_DELETED', ++p.deleted);
    }
  }
  for (const p of peers) p.m.kill();
  const med = Object.fromEntries(peers.map((p) => [p.name, median(p.s)]));
  console.log(`\n== device_add alone (q35 -S, e1000e on a pcie-root-port; device_del + system_reset between samples), median of ${ADDS}`);
  for (const p of peers) console.log(`  ${p.name.padEnd(12)} ${fmt(med[p.name]).padStart(7)} µs`);
  if (QEMU) console.log(`  plugboard / qemu 7.2: ${ratio(med.plugboard, med['qemu 7.2'])}   (target <= 0.5x)`);
  return med;
}

console.log(`Plugboard benchmarks, node ${process.version}, ${QEMU ? `QEMU: ${QEMU}` : 'qemu-system-x86_64 not installed: QEMU figures skipped'}`);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (figures are noisy on a loaded host)`);
if (ONLY.includes('run')) {
  await startups();
  await roundTrips('small topology', 1);
  await roundTrips('large topology', 64);
  await deviceAdd();
}
// The other benchmarks, in the same run.
for (const [key, script] of [['hotplug', 'hotplug.mjs'], ['scale', 'scale.mjs'], ['fleet', 'fleet.mjs']]) {
  if (!ONLY.includes(key)) continue;
  console.log('');
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(new URL(script, import.meta.url))], { stdio: 'inherit', timeout: 1_200_000 });
  if (r.status !== 0) console.log(`bench/${script}: exit ${r.status ?? r.signal}`);
}
