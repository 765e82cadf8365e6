// Dependency-free helpers shared by the recorders that drive a real QEMU (scripts/qemu-record,
// scripts/record-guest, scripts/record-aer): a QEMU process wrapper, a unix-socket line reader
// in two flavours (a queue for QMP transcripts, a searchable log for serial consoles), and a
// minimal QMP client that logs every line both ways.
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** How long the fixture recorder waits for one line or one exit. */
export const READ_TIMEOUT_MS = 5000;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let sockCounter = 0;
/** A socket path in the temp dir that no other recorder run uses. */
export function uniqueSocketPath(tag) {
  sockCounter += 1;
  const name = `plugboard-rec-${process.pid}-${Date.now().toString(36)}-${sockCounter}-${tag}.sock`;
  return path.join(os.tmpdir(), name);
}

/** JSON.parse, or `{__unparsable: text}`. */
export function parseLine(text) {
  try { return JSON.parse(text); } catch { return { __unparsable: text }; }
}

/** A running QEMU process; stdout/stderr captured. */
export class Qemu {
  constructor(bin, argv) {
    this.bin = bin;
    this.argv = argv;
    this.stdout = '';
    this.stderr = '';
    this.exit = null; // {code, signal}
    this.proc = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.proc.pid;
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

  /** The exit status, or null if QEMU is still running after `ms`. */
  async waitExit(ms = READ_TIMEOUT_MS) {
    let timer;
    const t = await Promise.race([this.exited, new Promise((r) => { timer = setTimeout(() => r(null), ms); })]);
    clearTimeout(timer);
    return t;
  }

  /** SIGKILL now (noted as `killedByRecorder`). */
  async kill() {
    if (!this.running) return this.exit;
    this.killedByRecorder = true;
    try { this.proc.kill('SIGKILL'); } catch { /* ignore */ }
    return this.exited;
  }

  /** Waits up to `graceMs` for QEMU to exit by itself, then SIGKILL. */
  async stop(graceMs = 3000) {
    if (!this.running) return this.exit;
    const t = await Promise.race([this.exited, sleep(graceMs).then(() => null)]);
    if (t) return t;
    try { this.proc.kill('SIGKILL'); } catch { /* already gone */ }
    return this.exited;
  }
}

/** A unix-socket connection split into "\n"-terminated lines; subclasses decide what to keep. */
class LineSocket {
  constructor(name) {
    this.name = name;
    this.buf = Buffer.alloc(0);
    this.waiters = [];
    this.closed = false;
    this.sock = null;
  }

  /**
   * Connects, retrying every `retryMs` while QEMU creates the socket.
   * `dead()` returns an error text once retrying is pointless (QEMU exited), else null.
   */
  static async open(conn, sockPath, { dead = () => null, timeoutMs, retryMs, timeoutText }) {
    const deadline = Date.now() + timeoutMs;
    let lastErr;
    while (Date.now() < deadline) {
      const why = dead();
      if (why) throw new Error(why);
      try {
        const c = conn();
        await c._open(sockPath);
        return c;
      } catch (e) {
        lastErr = e;
        await sleep(retryMs);
      }
    }
    throw new Error(timeoutText(lastErr));
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
    const hostMs = Date.now();
    this.buf = Buffer.concat([this.buf, d]);
    let i;
    while ((i = this.buf.indexOf(0x0a)) >= 0) {
      const text = this.buf.subarray(0, i).toString('utf8');
      this.buf = this.buf.subarray(i + 1);
      this._line(text, hostMs);
    }
    this._wake();
  }

  _wake() {
    const w = this.waiters; this.waiters = [];
    for (const f of w) f();
  }

  /** Polls `take()` whenever lines arrive; its first non-undefined value, or null on timeout / close. */
  async _until(take, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = take();
      if (got !== undefined) return got;
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

/**
 * QMP lines as a queue, byte for byte but for the trailing "\r\n" (`crlf` says whether the
 * "\r" was there), for the fixture recorder (scripts/qemu-record).
 */
export class QmpConn extends LineSocket {
  constructor() {
    super('qmp');
    this.lines = []; // queued {text, crlf, at}
  }

  static async connect(sockPath, qemu, timeoutMs = READ_TIMEOUT_MS) {
    return LineSocket.open(() => new QmpConn(), sockPath, {
      dead: () => (qemu && !qemu.running ? `QEMU exited before QMP connect: ${JSON.stringify(qemu.exit)} stderr=${qemu.stderr}` : null),
      timeoutMs,
      retryMs: 25,
      timeoutText: (err) => `QMP connect timeout: ${err}`,
    });
  }

  _line(text, hostMs) {
    const crlf = text.endsWith('\r');
    this.lines.push({ text: crlf ? text.slice(0, -1) : text, crlf, at: hostMs });
  }

  /** Next raw line or null on timeout / close. */
  async nextLine(timeoutMs = READ_TIMEOUT_MS) {
    return this._until(() => (this.lines.length ? this.lines.shift() : undefined), timeoutMs);
  }
}

/** Every line ever received, each stamped with Date.now() (`{text, hostMs}`), searchable from a cursor. */
export class LineConn extends LineSocket {
  constructor(name) {
    super(name);
    this.all = []; // every line ever received: {text, hostMs}
    this.cursor = 0; // next line for waitFor()
    this.onLine = null;
  }

  static async connect(name, sockPath, isAlive, timeoutMs = 10000) {
    return LineSocket.open(() => new LineConn(name), sockPath, {
      dead: () => (isAlive && !isAlive() ? `${name}: QEMU exited before connect` : null),
      timeoutMs,
      retryMs: 10,
      timeoutText: (err) => `${name}: connect timeout (${err})`,
    });
  }

  _line(text, hostMs) {
    while (text.endsWith('\r')) text = text.slice(0, -1);
    const rec = { text, hostMs };
    this.all.push(rec);
    if (this.onLine) this.onLine(rec);
  }

  /** Waits for the next line (after the cursor) matching pred; null on timeout/close. */
  async waitFor(pred, timeoutMs) {
    return this._until(() => {
      while (this.cursor < this.all.length) {
        const rec = this.all[this.cursor++];
        if (pred(rec.text, rec)) return rec;
      }
      return undefined;
    }, timeoutMs);
  }
}

/** Minimal QMP client on top of LineConn; records every line in both directions. */
export class Qmp {
  constructor(conn, log) {
    this.conn = conn;
    this.log = log; // array of {dir, raw, hostMs}
    conn.onLine = (rec) => this.log.push({ dir: 'recv', raw: rec.text, hostMs: rec.hostMs });
    for (const rec of conn.all) this.log.push({ dir: 'recv', raw: rec.text, hostMs: rec.hostMs });
  }

  async greeting(timeoutMs = 10000) {
    const rec = await this.conn.waitFor((t) => t.startsWith('{"QMP"'), timeoutMs);
    if (!rec) throw new Error('no QMP greeting');
    return JSON.parse(rec.text);
  }

  /** Sends a command; resolves with {reply, raw, sentMs, hostMs}. Events are left in the log. */
  async execute(cmd, args, timeoutMs = 30000) {
    const msg = args ? { execute: cmd, arguments: args } : { execute: cmd };
    const raw = JSON.stringify(msg);
    const sentMs = Date.now();
    this.log.push({ dir: 'send', raw, hostMs: sentMs });
    this.conn.write(raw + '\n');
    const rec = await this.conn.waitFor((t) => {
      try { const j = JSON.parse(t); return 'return' in j || 'error' in j; } catch { return false; }
    }, timeoutMs);
    if (!rec) throw new Error(`no reply to ${cmd}`);
    return { reply: JSON.parse(rec.text), raw: rec.text, sentMs, hostMs: rec.hostMs };
  }

  /** Waits for an event (searching the whole log from index `from`). */
  async event(name, pred = () => true, timeoutMs = 30000, from = 0) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.log.length; i++) {
        const e = this.log[i];
        if (e.dir !== 'recv' || !e.raw.includes('"event"')) continue;
        let j; try { j = JSON.parse(e.raw); } catch { continue; }
        if (j.event === name && pred(j)) return { event: j, hostMs: e.hostMs, index: i };
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.conn.closed) return null;
      await new Promise((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.conn.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }
}
