/** Spawns the built `plugboard` and speaks QMP to it over a real unix socket. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/plugboard.js', import.meta.url));

export interface Running {
  child: ChildProcess;
  sock: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startPlugboard(args: string[]): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-e2e-'));
  const sock = join(dir, 'qmp.sock');
  const child = spawn(process.execPath, [CLI, ...args, '-qmp', `unix:${sock},server=on,wait=off`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`plugboard exited: ${err}`);
    try {
      await new Promise<void>((res, rej) => {
        const s = net.connect(sock, () => {
          s.destroy();
          res();
        });
        s.on('error', rej);
      });
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return { child, sock, stdout: () => out, stderr: () => err, exited };
}

/** A raw line-oriented QMP connection: send bytes, read the server's lines. */
export class RawQmp {
  private buf = '';
  private lines: string[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 2);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static fromSocket(s: net.Socket): RawQmp {
    return new RawQmp(s);
  }

  static connect(path: string): Promise<RawQmp> {
    return new Promise((res, rej) => {
      const s = net.connect(path, () => res(new RawQmp(s)));
      s.on('error', rej);
    });
  }

  send(text: string): void {
    this.socket.write(text);
  }

  async line(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timeout waiting for a QMP line');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.lines.shift()!;
  }

  /** Lines that arrive within `ms` (for "no reply" checks and trailing events). */
  async drain(ms: number): Promise<string[]> {
    await new Promise((r) => setTimeout(r, ms));
    const l = this.lines;
    this.lines = [];
    return l;
  }

  /** Sends a command object and returns the next non-event line. */
  async cmd(obj: unknown): Promise<string> {
    this.send(JSON.stringify(obj) + '\n');
    for (;;) {
      const l = await this.line();
      if (!l.startsWith('{"timestamp"')) return l;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
