#!/usr/bin/env node
// Fleet figures: `plugboard-qmp` hosting N machines in one process (default 1000), measured from
// outside as an orchestrator sees it: start-up until the ready line, resident memory per machine,
// then one hot-plug cycle on every machine over its own QMP socket, then SIGTERM until exit.
// Figures only, never assertions. Needs a build (`pnpm build`).
//
//   node bench/fleet.mjs                    # pc and q35, 1000 machines each
//   BENCH_FLEET_N=200 BENCH_FLEET_MACHINE=q35 BENCH_FLEET_CONCURRENCY=32 node bench/fleet.mjs
//
// The cycle: pc: device_add e1000, device_del, then DEVICE_DELETED — from the guest's ACPI eject
// when its driver answers within BENCH_FLEET_GUEST_MS, else from system_reset (pending ejects
// complete at reset, as in QEMU). q35: the same with e1000e on a pcie-root-port (native PCIe
// hotplug, the guest's pciehp). Both started (not -S), so the simulated guest is running.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QEMU, startQmp } from './lib.mjs';

const BIN = fileURLToPath(new URL('../apps/qmp-server/dist/plugboard-qmp.js', import.meta.url));
const N = Number(process.env.BENCH_FLEET_N ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_FLEET_CONCURRENCY ?? 64);
const GUEST_MS = Number(process.env.BENCH_FLEET_GUEST_MS ?? 200);
const KINDS = (process.env.BENCH_FLEET_MACHINE ?? 'pc,q35').split(',');

const MACHINES = {
  pc: { args: ['-M', 'pc', '-nodefaults'], add: { driver: 'e1000' } },
  q35: { args: ['-M', 'q35', '-nodefaults', '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1'], add: { driver: 'e1000e', bus: 'rp1' } },
};

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;
const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))] ?? NaN;
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
const mib = (kib) => (kib / 1024).toFixed(1);

/** Starts the daemon; resolves with its ready line, the time to it and the child. */
function startFleet(n, args, dir) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, '--machines', String(n), '--socket-dir', dir, '--machine', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, ready: JSON.parse(out.slice(0, nl)), ms: performance.now() - t0 });
    });
    child.on('exit', (code) => reject(new Error(`plugboard-qmp exited (${code}) before it was ready`)));
  });
}

/** A minimal QMP connection: lines in, a way to wait for a reply by id or for an event. */
function connect(path) {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    let buf = '';
    const msgs = [];
    let wake = () => undefined;
    s.setEncoding('utf8');
    s.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        msgs.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 2);
      }
      wake();
    });
    s.once('error', reject);
    const until = async (pred, ms = 30_000) => {
      const deadline = performance.now() + ms;
      for (;;) {
        const m = msgs.find(pred);
        if (m) return m;
        const left = deadline - performance.now();
        if (left <= 0) return undefined;
        await new Promise((r) => {
          const t = setTimeout(r, left);
          wake = () => (clearTimeout(t), r());
        });
      }
    };
    let seq = 0;
    const cmd = async (execute, args) => {
      const id = ++seq;
      s.write(JSON.stringify({ execute, ...(args ? { arguments: args } : {}), id }) + '\n');
      const r = await until((m) => m.id === id);
      if (!r || r.error) throw new Error(`${execute}: ${JSON.stringify(r?.error ?? 'no reply')}`);
      return r.return;
    };
    s.once('connect', () => resolve({ cmd, until, close: () => s.destroy() }));
  });
}

/** One hot-plug cycle on one machine; returns its wall time and how the device went away. */
async function cycle(path, add) {
  const t0 = performance.now();
  const q = await connect(path);
  await q.until((m) => m.QMP);
  await q.cmd('qmp_capabilities');
  await q.cmd('device_add', { ...add, id: 'bench0' });
  await q.cmd('device_del', { id: 'bench0' });
  const deleted = (m) => m.event === 'DEVICE_DELETED' && m.data?.device === 'bench0';
  let how = 'guest';
  if (!(await q.until(deleted, GUEST_MS))) {
    how = 'reset';
    await q.cmd('system_reset');
    if (!(await q.until(deleted, 10_000))) how = 'never';
  }
  q.close();
  return { ms: performance.now() - t0, how };
}

async function measure(kind) {
  const m = MACHINES[kind];
  const dir = mkdtempSync(join(tmpdir(), 'pb-fleet-'));
  const one = await startFleet(1, m.args, join(dir, 'one'));
  await new Promise((r) => setTimeout(r, 200));
  const rss1 = rssKiB(one.child.pid);
  one.child.kill('SIGTERM');
  const fleet = await startFleet(N, m.args, join(dir, 'n'));
  await new Promise((r) => setTimeout(r, 200));
  const rssN = rssKiB(fleet.child.pid);
  const paths = fleet.ready.machines.map((x) => x.unix);
  const times = [];
  const how = { guest: 0, reset: 0, never: 0, error: 0 };
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, paths.length) }, async () => {
      while (next < paths.length) {
        const p = paths[next++];
        try {
          const r = await cycle(p, m.add);
          times.push(r.ms);
          how[r.how]++;
        } catch (e) {
          how.error++;
          if (how.error === 1) console.error(`${kind}: ${e.message}`);
        }
      }
    }),
  );
  const cycleAll = performance.now() - t0;
  const rssAfter = rssKiB(fleet.child.pid);
  const t1 = performance.now();
  const exited = new Promise((r) => fleet.child.on('exit', (code) => r(code)));
  fleet.child.kill('SIGTERM');
  const code = await exited;
  const exitMs = performance.now() - t1;
  rmSync(dir, { recursive: true, force: true });
  return { kind, start: fleet.ms, rss1, rssN, rssAfter, cycleAll, times, how, exitMs, code };
}

console.log(`== plugboard-qmp fleet: ${N} machines, ${CONCURRENCY} clients at a time, node ${process.version}`);
for (const kind of KINDS) {
  const r = await measure(kind);
  console.log(`\n${kind} (${MACHINES[kind].args.join(' ')})`);
  console.log(`  start ${N} machines until ready:  ${r.start.toFixed(0)} ms (${(r.start / N).toFixed(2)} ms per machine)`);
  console.log(`  RSS: 1 machine ${mib(r.rss1)} MiB, ${N} machines ${mib(r.rssN)} MiB -> ${((r.rssN - r.rss1) / Math.max(1, N - 1)).toFixed(0)} KiB per machine`);
  console.log(`  one cycle on each (connect, negotiate, device_add, device_del, DEVICE_DELETED): all ${r.cycleAll.toFixed(0)} ms,`);
  console.log(`    per cycle median ${median(r.times).toFixed(1)} ms, p99 ${pct(r.times, 0.99).toFixed(1)} ms; removed by guest ${r.how.guest}, by reset ${r.how.reset}, never ${r.how.never}, errors ${r.how.error}`);
  console.log(`  RSS after the cycles ${mib(r.rssAfter)} MiB; SIGTERM -> exit ${r.exitMs.toFixed(0)} ms (code ${r.code})`);
  if (QEMU) {
    // The peer: QEMU runs one process per machine. One is launched with the same options; the
    // fleet's total is extrapolated from it, not launched.
    const q = await startQmp(QEMU, ['-accel', 'tcg', '-display', 'none', ...MACHINES[kind].args]);
    await new Promise((res) => setTimeout(res, 1000));
    const rss = rssKiB(q.child.pid);
    q.kill();
    console.log(`  qemu 7.2, one process per machine (same options): ready in ${q.readyMs.toFixed(0)} ms, RSS ${mib(rss)} MiB -> ${N} machines ~ ${((rss * N) / 1024 / 1024).toFixed(1)} GiB (extrapolated from one, not launched)`);
  }
}
