// Shared helpers for the benchmarks: spawn plugboard or QEMU behind a QMP socket, a minimal QMP
// client, medians, RSS, formatting. Figures only, never assertions.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../apps/cli/dist/plugboard.js', import.meta.url));
export const BARE = fileURLToPath(new URL('bare-server.mjs', import.meta.url));
export const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
/** qemu-system-x86_64's path, or '' when it is not installed (QEMU figures are then skipped). */
export const QEMU = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).stdout.trim();
export const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
export const ratio = (a, b) => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : 'n/a');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The peers every side-by-side figure is measured on; the same QEMU-style options go to both. */
export const PEERS = [
  { name: 'plugboard', cmd: process.execPath, pre: [CLI] },
  ...(QEMU ? [{ name: 'qemu 7.2', cmd: QEMU, pre: ['-accel', 'tcg'] }] : []),
];

export function connectRetry(path, t0 = performance.now()) {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(path);
      s.once('connect', () => resolve(s));
      s.once('error', () => (performance.now() - t0 > 60000 ? reject(new Error('no socket')) : setTimeout(attempt, 1)));
    };
    attempt();
  });
}

/** A QMP client that separates replies from events. */
export class Qmp {
  constructor(sock) {
    this.sock = sock;
    this.buf = '';
    this.replies = [];
    this.events = [];
    this.waiters = [];
    sock.setEncoding('utf8');
    sock.on('data', (d) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (!line) continue;
        const msg = JSON.parse(line);
        (msg.event ? this.events : this.replies).push(msg);
      }
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }
  async until(pred) {
    while (!pred()) await new Promise((r) => this.waiters.push(r));
  }
  async greeting() {
    await this.until(() => this.replies.length > 0);
    this.replies.shift();
  }
  async cmd(execute, args) {
    this.sock.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
    await this.until(() => this.replies.length > 0);
    return this.replies.shift();
  }
  /** Sends a raw line and times its reply, in µs. */
  async rtt(line) {
    const t = performance.now();
    this.sock.write(line);
    await this.until(() => this.replies.length > 0);
    this.replies.shift();
    return (performance.now() - t) * 1000;
  }
  /** Waits for `n` events named `name` (counted from the start), returns them. */
  async events_(name, n) {
    await this.until(() => this.events.filter((e) => e.event === name).length >= n);
    return this.events.filter((e) => e.event === name);
  }
  close() {
    this.sock.destroy();
  }
}

/** Launches `cmd args -qmp unix:...`; startMs: launch -> greeting, readyMs: launch -> qmp_capabilities answered. */
export async function startQmp(cmd, args) {
  const sock = join(mkdtempSync(join(tmpdir(), 'pb-bench-')), 'q.sock');
  const t0 = performance.now();
  const child = spawn(cmd, [...args, '-qmp', `unix:${sock},server=on,wait=off`], { stdio: 'ignore' });
  const q = new Qmp(await connectRetry(sock, t0));
  await q.greeting();
  const startMs = performance.now() - t0;
  await q.cmd('qmp_capabilities');
  // QEMU greets from its monitor I/O thread while the main thread may still be building the
  // machine; a command (qmp_capabilities, run in the main loop) is answered only once it is built.
  const readyMs = performance.now() - t0;
  return { child, q, startMs, readyMs, kill: () => (q.close(), child.kill('SIGKILL')) };
}

export const startPlugboard = (args) => startQmp(process.execPath, [CLI, ...args]);
