// Tiny, dependency-free QMP client + QEMU process wrapper used by
// scripts/record-qemu-fixtures.mjs. Records raw server lines byte-for-byte
// (minus the trailing "\r\n").
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';

export const READ_TIMEOUT_MS = 5000;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let sockCounter = 0;
export function uniqueSocketPath(tag) {
  sockCounter += 1;
  const name = `plugboard-rec-${process.pid}-${Date.now().toString(36)}-${sockCounter}-${tag}.sock`;
  return path.join(os.tmpdir(), name);
}

/** A running QEMU process. */
export class Qemu {
  constructor(bin, argv) {
    this.bin = bin;
    this.argv = argv;
    this.stdout = '';
    this.stderr = '';
    this.exit = null; // {code, signal}
    this.proc = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stderr.setEncoding('utf8');
    this.proc.stdout.on('data', (d) => { this.stdout += d; });
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => { this.exit = { code, signal }; resolve(this.exit); });
      this.proc.on('error', (err) => { this.exit = { code: null, signal: null, error: String(err) }; resolve(this.exit); });
    });
  }
  get running() { return this.exit === null; }
  async waitExit(ms = READ_TIMEOUT_MS) {
    let timer;
    const t = await Promise.race([this.exited, new Promise((r) => { timer = setTimeout(() => r(null), ms); })]);
    clearTimeout(timer);
    return t;
  }
  async kill() {
    if (!this.running) return this.exit;
    this.killedByRecorder = true;
    try { this.proc.kill('SIGKILL'); } catch { /* ignore */ }
    return this.exited;
  }
}

/** Connects to a QMP unix socket, retrying while QEMU creates it. */
export class QmpConn {
  constructor() {
    this.buf = Buffer.alloc(0);
    this.lines = []; // queued raw lines (string, without \r\n)
    this.waiters = [];
    this.closed = false;
    this.sock = null;
  }

  static async connect(sockPath, qemu, timeoutMs = READ_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    let lastErr;
    while (Date.now() < deadline) {
      if (qemu && !qemu.running) throw new Error(`QEMU exited before QMP connect: ${JSON.stringify(qemu.exit)} stderr=${qemu.stderr}`);
      try {
        const c = new QmpConn();
        await c._open(sockPath);
        return c;
      } catch (e) {
        lastErr = e;
        await sleep(25);
      }
    }
    throw new Error(`QMP connect timeout: ${lastErr}`);
  }

  _open(sockPath) {
    return new Promise((resolve, reject) => {
      const s = net.createConnection(sockPath);
      s.once('error', reject);
      s.once('connect', () => {
        s.removeListener('error', reject);
        s.on('error', () => {});
        this.sock = s;
        s.on('data', (d) => this._onData(d));
        s.on('close', () => { this.closed = true; this._wake(); });
        resolve();
      });
    });
  }

  _onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    let i;
    while ((i = this.buf.indexOf(0x0a)) >= 0) {
      let line = this.buf.subarray(0, i).toString('utf8');
      this.buf = this.buf.subarray(i + 1);
      let crlf = false;
      if (line.endsWith('\r')) { line = line.slice(0, -1); crlf = true; }
      this.lines.push({ text: line, crlf, at: Date.now() });
    }
    this._wake();
  }

  _wake() {
    const w = this.waiters; this.waiters = [];
    for (const f of w) f();
  }

  /** Next raw line or null on timeout / close. */
  async nextLine(timeoutMs = READ_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.lines.length) return this.lines.shift();
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  write(data) {
    if (this.closed || !this.sock) return false;
    this.sock.write(data);
    return true;
  }

  close() {
    if (this.sock) this.sock.destroy();
    this.closed = true;
  }
}

export function parseLine(text) {
  try { return JSON.parse(text); } catch { return { __unparsable: text }; }
}
