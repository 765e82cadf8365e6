#!/usr/bin/env node
// Scale figures, Plugboard beside QEMU 7.2 (when installed), never assertions. Needs a build.
//
// 1. Memory per machine: resident memory of one process holding one machine (plugboard's CLI vs
//    qemu-system-x86_64 -S, the same options), and the JS heap one more machine costs inside one
//    process (PlugboardServer.create, N machines, heapUsed delta after a full GC: what a fleet
//    pays per machine; run with --expose-gc, as bench/run.mjs does).
// 2. Time vs number of devices: 1, 10, 100, 1000 virtio-mouse-pci on pc, behind pci-bridges
//    (31 devices per bridge; bridges on pci.0, the rest behind one more bridge), with -S:
//    - cold-plugged: every -device on the command line, launch -> first command answered;
//    - hot-plugged: the bridges on the command line, then one device_add per device over QMP.
//    Printed with the cost per device, so a super-linear curve shows as a growing per-device figure.
// 3. Guest boot on q35 (ACPI hotplug on, the default) with 1, 64, 240 pcie-root-ports, in process.
//
//   BENCH_SCALE_COUNTS=1,10,100,1000  BENCH_SCALE_RUNS=5  BENCH_SCALE_MACHINES=200
import { BARE, PEERS, median, ratio, rssKiB, sleep, startQmp } from './lib.mjs';

const COUNTS = (process.env.BENCH_SCALE_COUNTS ?? '1,10,100,1000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_SCALE_RUNS ?? 5);
const MACHINES = Number(process.env.BENCH_SCALE_MACHINES ?? 200);
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const mib = (kib) => (kib / 1024).toFixed(1);
const BASE = ['-M', 'pc', '-nodefaults', '-display', 'none', '-S'];

/** pc with enough pci-bridges for `n` devices; returns the bridge ids and the options. */
function bridges(n) {
  const leaves = Math.max(1, Math.ceil(n / 31));
  const args = [...BASE];
  const ids = [];
  const direct = leaves <= 30 ? leaves : 29; // pci.0 slots 2..30 (-nodefaults: 0 host, 1 PIIX3)
  for (let i = 0; i < direct; i++) {
    args.push('-device', `pci-bridge,id=b${i},bus=pci.0,addr=${(2 + i).toString(16)},chassis_nr=${i + 1}`);
    ids.push(`b${i}`);
  }
  if (leaves > direct) {
    args.push('-device', `pci-bridge,id=spine,bus=pci.0,addr=1f,chassis_nr=200`);
    for (let i = direct; i < leaves; i++) {
      args.push('-device', `pci-bridge,id=b${i},bus=spine,addr=${(1 + i - direct).toString(16)},chassis_nr=${i + 1}`);
      ids.push(`b${i}`);
    }
  }
  return { args, ids };
}
const devOpts = (i, ids) => ({ driver: 'virtio-mouse-pci', id: `d${i}`, bus: ids[Math.floor(i / 31)], addr: (1 + (i % 31)).toString(16) });
const devArg = (o) => `${o.driver},id=${o.id},bus=${o.bus},addr=${o.addr}`;

// ---- 1. memory -----------------------------------------------------------------------------
async function memory() {
  console.log('\n== memory per machine');
  const args = ['-M', 'q35', '-nodefaults', '-display', 'none', '-S', '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1'];
  const bare = await startQmp(process.execPath, [BARE]);
  await sleep(300);
  const bareRss = rssKiB(bare.child.pid);
  bare.kill();
  for (const p of PEERS) {
    const m = await startQmp(p.cmd, [...p.pre, ...args]);
    await sleep(300);
    const rss = rssKiB(m.child.pid);
    m.kill();
    console.log(`  ${p.name.padEnd(12)} one machine per process (q35 -S, 1 root port): RSS ${mib(rss)} MiB`);
  }
  console.log(`  ${'node bare'.padEnd(12)} the bare Node.js socket server (Node's floor):   RSS ${mib(bareRss)} MiB`);
  const { PlugboardServer, parseMachineArgs } = await import('../apps/qmp-server/dist/index.js');
  if (!globalThis.gc) {
    console.log('  (run with node --expose-gc for the in-process heap figure)');
    return;
  }
  for (const kind of [args, ['-M', 'pc', '-nodefaults', '-S']]) {
    const opts = parseMachineArgs(kind.filter((a) => a !== '-display' && a !== 'none'));
    const keep = [PlugboardServer.create(opts)]; // warm: code, shared tables
    gc();
    const h0 = process.memoryUsage().heapUsed;
    const r0 = process.memoryUsage().rss;
    for (let i = 0; i < MACHINES; i++) keep.push(PlugboardServer.create(opts));
    gc();
    const dh = (process.memoryUsage().heapUsed - h0) / MACHINES / 1024;
    const dr = (process.memoryUsage().rss - r0) / MACHINES / 1024;
    const signed = (x) => `${x >= 0 ? '+' : ''}${fmt(x)}`;
    console.log(`  plugboard in one process, ${MACHINES} more machines (${kind.slice(0, 2).join(' ')}): ${signed(dh)} KiB heap, ${signed(dr)} KiB RSS per machine (RSS: noisy, the heap grows into reserved pages)`);
    await Promise.all(keep.map((s) => s.close?.()));
  }
}

// ---- 2. time vs number of devices ------------------------------------------------------------
async function coldPlug(peer, n) {
  const { args, ids } = bridges(n);
  const withDevs = [...args];
  for (let i = 0; i < n; i++) withDevs.push('-device', devArg(devOpts(i, ids)));
  const base = [];
  const full = [];
  let rss = NaN;
  for (let r = 0; r < RUNS; r++) {
    const a = await startQmp(peer.cmd, [...peer.pre, ...args]);
    base.push(a.readyMs);
    a.kill();
    const b = await startQmp(peer.cmd, [...peer.pre, ...withDevs]);
    full.push(b.readyMs);
    if (r === 0) rss = rssKiB(b.child.pid);
    b.kill();
  }
  return { base: median(base), full: median(full), rss };
}

async function hotPlug(peer, n) {
  const { args, ids } = bridges(n);
  const m = await startQmp(peer.cmd, [...peer.pre, ...args]);
  const rss0 = rssKiB(m.child.pid);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await m.q.cmd('device_add', devOpts(i, ids));
    if (r.error) throw new Error(`${peer.name} device_add d${i}: ${r.error.desc}`);
  }
  const ms = performance.now() - t0;
  const rss = rssKiB(m.child.pid);
  m.kill();
  return { ms, rssPerDev: (rss - rss0) / n };
}

async function curve() {
  console.log(`\n== time vs number of devices: pc -S, virtio-mouse-pci behind pci-bridges (31 per bridge); cold: median of ${RUNS} launches`);
  console.log('   cold = launch -> qmp_capabilities answered with every -device given ("ms/dev": minus the same launch with the bridges only, / N);\n   hot = N device_add over QMP, one after the other, into the cold-plugged bridges; at N <= 10 "ms/dev" is within launch-to-launch noise');
  const w = [12, 6, 14, 12, 14, 14, 13, 16];
  const head = ['  peer', 'N', 'cold total ms', 'cold ms/dev', 'hot total ms', 'hot µs/dev', 'RSS MiB', 'hot KiB RSS/dev'];
  console.log(head.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' '));
  const out = {};
  for (const n of COUNTS) {
    for (const p of PEERS) {
      const c = await coldPlug(p, n);
      const h = await hotPlug(p, n);
      (out[p.name] ??= []).push({ n, c, h });
      const cells = [`  ${p.name}`, n, fmt(c.full, 1), fmt((c.full - c.base) / n, 3), fmt(h.ms, 1), fmt((h.ms * 1000) / n), mib(c.rss), fmt(h.rssPerDev, 1)];
      console.log(cells.map((c2, i) => (i === 0 ? String(c2).padEnd(w[i]) : String(c2).padStart(w[i]))).join(' '));
    }
  }
  for (const [name, rows] of Object.entries(out)) {
    if (rows.length < 2) continue;
    const [a, b] = rows.slice(-2);
    const hot = (x) => (x.h.ms * 1000) / x.n;
    const cold = (x) => (x.c.full - x.c.base) / x.n;
    console.log(`  ${name}: cost per device at N=${b.n} / at N=${a.n} (1.00x = linear): hot ${ratio(hot(b), hot(a))}, cold ${ratio(cold(b), cold(a))}`);
  }
  const pb = out.plugboard?.at(-1);
  const q = out['qemu 7.2']?.at(-1);
  if (pb && q) console.log(`  plugboard / qemu 7.2 at N=${pb.n}: cold start ${ratio(pb.c.full, q.c.full)}, hot-plugging all ${ratio(pb.h.ms, q.h.ms)}, RSS ${ratio(pb.c.rss, q.c.rss)}`);
}

// ---- 3. guest boot vs root ports ---------------------------------------------------------------
/** q35 defaults (ACPI hotplug on: the DSDT describes every root port), in one process: create + boot to idle. */
async function boot() {
  const { PlugboardServer, parseMachineArgs } = await import('../apps/qmp-server/dist/index.js');
  console.log(`\n== guest boot, q35 (ACPI hotplug on) with N pcie-root-ports, in process (create + guest to idle), median of ${RUNS}`);
  for (const n of [1, 64, 240]) {
    const args = ['-M', 'q35', '-nodefaults'];
    for (let i = 0; i < n; i++) {
      const slot = 1 + Math.floor(i / 8);
      args.push('-device', `pcie-root-port,id=rp${i},bus=pcie.0,addr=${slot.toString(16)}.${i % 8},chassis=${i + 1},slot=${i + 1}${i % 8 === 0 ? ',multifunction=on' : ''}`);
    }
    const opts = parseMachineArgs(args);
    const t = [];
    for (let r = 0; r <= RUNS; r++) {
      const t0 = performance.now();
      const s = PlugboardServer.create({ ...opts, start: true });
      s.machine.clock.runUntilIdle();
      if (r > 0) t.push(performance.now() - t0); // the first run warms the code
      await s.close();
    }
    console.log(`  ${String(n).padStart(3)} root ports: ${fmt(median(t), 1)} ms`);
  }
}

await memory();
await curve();
await boot();
