// Shared helpers for the benchmarks: spawn plugboard, a minimal QMP client, medians.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../apps/cli/dist/plugboard.js', import.meta.url));
export const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

export function connectRetry(path, t0 = performance.now()) {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(path);
      s.once('connect', () => resolve(s));
      s.once('error', () => (performance.now() - t0 > 15000 ? reject(new Error('no socket')) : setTimeout(attempt, 1)));
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
  /** Waits for `n` events named `name` (counted from the start), returns them. */
  async events_(name, n) {
    await this.until(() => this.events.filter((e) => e.event === name).length >= n);
    return this.events.filter((e) => e.event === name);
  }
  close() {
    this.sock.destroy();
  }
}

export async function startPlugboard(args) {
  const sock = join(mkdtempSync(join(tmpdir(), 'pb-bench-')), 'q.sock');
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, ...args, '-qmp', `unix:${sock},server=on,wait=off`], { stdio: 'ignore' });
  const q = new Qmp(await connectRetry(sock, t0));
  await q.greeting();
  await q.cmd('qmp_capabilities');
  return { child, q, startMs: performance.now() - t0 };
}
