#!/usr/bin/env node
// Prints Plugboard's figures next to QEMU 7.2's (when qemu-system-x86_64 is installed),
// measured in the same run: launch -> QMP greeting, and the round trip of query-status and
// query-pci (medians). Figures only, never assertions.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../apps/cli/dist/plugboard.js', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const RTT = Number(process.env.BENCH_RTT ?? 300);
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function connectRetry(path, t0) {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(path);
      s.once('connect', () => resolve(s));
      s.once('error', () => (performance.now() - t0 > 10000 ? reject(new Error('no socket')) : setTimeout(attempt, 1)));
    };
    attempt();
  });
}

function lines(sock) {
  let buf = '';
  const q = [];
  let wake;
  sock.setEncoding('utf8');
  sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      q.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    wake?.();
  });
  return async () => {
    while (!q.length) await new Promise((r) => (wake = r));
    wake = undefined;
    return q.shift();
  };
}

async function measure(name, cmd, args) {
  const starts = [];
  const rtt = { 'query-status': [], 'query-pci': [] };
  for (let r = 0; r < RUNS; r++) {
    const sock = join(mkdtempSync(join(tmpdir(), 'pb-bench-')), 'q.sock');
    const t0 = performance.now();
    const child = spawn(cmd, [...args, '-qmp', `unix:${sock},server=on,wait=off`], { stdio: 'ignore' });
    const s = await connectRetry(sock, t0);
    const next = lines(s);
    await next();
    starts.push(performance.now() - t0);
    s.write('{"execute":"qmp_capabilities"}\n');
    await next();
    if (r === 0) {
      for (const c of Object.keys(rtt)) {
        for (let i = 0; i < RTT; i++) {
          const t = performance.now();
          s.write(`{"execute":"${c}"}\n`);
          await next();
          rtt[c].push((performance.now() - t) * 1000);
        }
      }
    }
    s.destroy();
    child.kill('SIGKILL');
  }
  return { name, start: median(starts), status: median(rtt['query-status']), pci: median(rtt['query-pci']) };
}

const machine = ['-M', 'q35', '-S', '-nodefaults', '-display', 'none', '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1'];
// The start-up floor (issue #9's target: plugboard <= 1.2x it): a bare Node.js unix-socket
// server that greets, launched and timed the same way (its round trips are a plain echo).
const BARE = fileURLToPath(new URL('bare-server.mjs', import.meta.url));
const bare = await measure('node bare', process.execPath, [BARE]);
const results = [await measure('plugboard', process.execPath, [CLI, ...machine])];
const qemu = spawnSync('which', ['qemu-system-x86_64'], { encoding: 'utf8' }).stdout.trim();
if (qemu) results.push(await measure('qemu 7.2', qemu, ['-accel', 'tcg', ...machine]));
else console.log('qemu-system-x86_64 not installed: QEMU figures skipped');
const node = spawnSync(process.execPath, ['-e', ''], {});
const t = performance.now();
spawnSync(process.execPath, ['-e', '']);
const nodeFloor = performance.now() - t;

console.log(`${'peer'.padEnd(12)} ${'start->greeting ms'.padStart(20)} ${'query-status µs'.padStart(17)} ${'query-pci µs'.padStart(14)}`);
for (const r of [...results, bare]) console.log(`${r.name.padEnd(12)} ${r.start.toFixed(1).padStart(20)} ${r.status.toFixed(0).padStart(17)} ${r.pci.toFixed(0).padStart(14)}`);
console.log(`node -e '' (Node's own start-up, the floor): ${nodeFloor.toFixed(1)} ms`);
console.log(`ratio plugboard/bare Node.js socket server: start ${(results[0].start / bare.start).toFixed(2)}x (target <= 1.2x)`);
if (results.length === 2) {
  const [p, q] = results;
  console.log(`ratio plugboard/qemu: start ${(p.start / q.start).toFixed(2)}x, query-status ${(p.status / q.status).toFixed(2)}x, query-pci ${(p.pci / q.pci).toFixed(2)}x`);
}
void node;

// The other benchmarks, in the same run.
for (const script of ['hotplug.mjs', 'fleet.mjs']) {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], { stdio: 'inherit', timeout: 600_000 });
  if (r.status !== 0) console.log(`bench/${script}: exit ${r.status ?? r.signal}`);
}
