// A recording session: one QEMU process, one or more successive QMP
// connections, every exchange captured with raw server lines.
import { Qemu, QmpConn, uniqueSocketPath, parseLine, sleep, READ_TIMEOUT_MS } from '../lib/qmp.mjs';
import fs from 'node:fs';

export const COMMON_FLAGS = ['-accel', 'tcg', '-S', '-display', 'none'];

/** Default time to keep listening after the expected replies arrived. */
export const DEFAULT_SETTLE_MS = 25;

export class Session {
  /**
   * @param {string} name fixture name
   * @param {string} bin qemu binary
   * @param {string[]} args scenario args (after the common flags)
   */
  constructor(name, bin, args) {
    this.name = name;
    this.bin = bin;
    this.args = args;
    this.sockPath = uniqueSocketPath(name);
    this.argv = [bin, ...COMMON_FLAGS, '-qmp', `unix:${this.sockPath},server=on,wait=off`, ...args];
    this.exchanges = [];
    this.problems = []; // timeouts and other anomalies, also written to the fixture
    this.conn = null;
    this.connIndex = -1;
    this.greeting = null;
    this.greetingRaw = null;
  }

  /** argv as stored in the fixture: socket path replaced by a stable placeholder. */
  get argvForFixture() {
    return this.argv.map((a) => a.replace(this.sockPath, 'SOCK'));
  }

  async start() {
    this.qemu = new Qemu(this.bin, this.argv.slice(1));
    await this.connect();
  }

  async connect() {
    if (this.conn) this.conn.close();
    this.conn = await QmpConn.connect(this.sockPath, this.qemu);
    this.connIndex += 1;
    const line = await this.conn.nextLine();
    if (!line) {
      this.problem(`no greeting on connection ${this.connIndex}`);
      return null;
    }
    const greeting = parseLine(line.text);
    if (this.connIndex === 0) {
      this.greeting = greeting;
      this.greetingRaw = line.text;
    } else {
      this.exchanges.push({ action: 'reconnect', connection: this.connIndex, greeting, greetingRaw: line.text });
    }
    return greeting;
  }

  problem(msg) {
    this.problems.push(msg);
    process.stderr.write(`  [${this.name}] PROBLEM: ${msg}\n`);
  }

  /**
   * Sends one request and collects replies and events.
   * @param {object|string} send object (serialised with JSON.stringify + "\n") or raw string sent verbatim
   * @param {{expect?: number, settle?: number, note?: string, allowTimeout?: boolean, closes?: boolean}} opts
   *   expect: number of replies to wait for (default 1; 0 = just listen for `settle` ms)
   *   settle: ms to keep listening after the expected replies arrived
   */
  async cmd(send, opts = {}) {
    const expect = opts.expect ?? 1;
    const settle = opts.settle ?? DEFAULT_SETTLE_MS;
    const ex = { send };
    if (opts.note) ex.note = opts.note;
    if (opts.catalog) ex.catalog = true;
    const replies = [], raw = [], events = [], eventsRaw = [], order = [];
    if (this.conn && this.conn.lines.length) {
      // Stray lines that arrived between exchanges: record them separately.
      const stray = this.conn.lines.splice(0);
      this.exchanges.push({ action: 'unsolicited', lines: stray.map((l) => l.text), parsed: stray.map((l) => parseLine(l.text)) });
    }
    const data = typeof send === 'string' ? send : JSON.stringify(send) + '\n';
    if (!this.conn || !this.conn.write(data)) {
      ex.writeFailed = true;
      this.problem(`write failed for ${JSON.stringify(send).slice(0, 80)}`);
    }
    const t0 = Date.now();
    const take = (l) => {
      const p = parseLine(l.text);
      if (!l.crlf) ex.noCrlf = true;
      if (p && typeof p === 'object' && 'event' in p && 'timestamp' in p) {
        events.push(p); eventsRaw.push(l.text); order.push(p.event);
      } else {
        replies.push(p); raw.push(l.text); order.push('reply');
      }
    };
    let timedOut = false;
    while (replies.length < expect) {
      const l = await this.conn.nextLine(READ_TIMEOUT_MS);
      if (!l) { timedOut = !this.conn.closed; break; }
      take(l);
    }
    if (replies.length >= expect || expect === 0) {
      const until = Date.now() + settle;
      for (;;) {
        const left = until - Date.now();
        if (left <= 0) break;
        const l = await this.conn.nextLine(left);
        if (!l) break;
        take(l);
      }
    }
    ex.replies = replies;
    ex.raw = raw;
    ex.events = events;
    ex.eventsRaw = eventsRaw;
    if (events.length && replies.length) ex.order = order;
    if (this.conn.closed && this.conn.lines.length === 0) ex.connectionClosed = true;
    if (timedOut && !opts.allowTimeout) {
      ex.timeout = true;
      this.problem(`timeout waiting for reply to ${JSON.stringify(send).slice(0, 120)}`);
    } else if (timedOut) {
      ex.noReplyWithin5s = true;
    }
    if (replies.length < expect && !timedOut && !opts.closes) {
      this.problem(`connection closed before reply to ${JSON.stringify(send).slice(0, 120)}`);
    }
    ex.elapsedMs = Date.now() - t0;
    this.exchanges.push(ex);
    return ex;
  }

  /** Shorthand: {execute, arguments?}. */
  async x(execute, args, opts = {}) {
    const o = { execute };
    if (args !== undefined) o.arguments = args;
    return this.cmd(o, opts);
  }

  async hmp(line, opts = {}) {
    return this.x('human-monitor-command', { 'command-line': line }, opts);
  }

  /** Return value of an exchange (undefined on error). */
  static ret(ex) {
    const r = ex.replies[0];
    return r && typeof r === 'object' && 'return' in r ? r.return : undefined;
  }

  /** Listen for `ms` without sending anything (collects events). */
  async wait(ms, note) {
    const events = [], eventsRaw = [], others = [];
    const until = Date.now() + ms;
    if (this.conn) {
      for (;;) {
        const left = until - Date.now();
        if (left <= 0) break;
        const l = await this.conn.nextLine(left);
        if (!l) { if (this.conn.closed) break; continue; }
        const p = parseLine(l.text);
        if (p && p.event) { events.push(p); eventsRaw.push(l.text); } else others.push(l.text);
      }
    } else {
      await sleep(ms);
    }
    const ex = { action: 'wait', ms, events, eventsRaw };
    if (note) ex.note = note;
    if (others.length) ex.otherLines = others;
    this.exchanges.push(ex);
    return ex;
  }

  /** Sends a signal to QEMU and records the events and the exit status. */
  async signal(sig) {
    const t0 = Date.now();
    this.qemu.proc.kill(sig);
    const events = [], eventsRaw = [], others = [];
    for (;;) {
      const l = await this.conn.nextLine(READ_TIMEOUT_MS);
      if (!l) break;
      const p = parseLine(l.text);
      if (p && p.event) { events.push(p); eventsRaw.push(l.text); } else others.push(l.text);
    }
    const exit = await this.qemu.waitExit(READ_TIMEOUT_MS);
    const ex = { action: 'signal', signal: sig, events, eventsRaw, connectionClosed: this.conn.closed, exit: exit ?? 'running', elapsedMs: Date.now() - t0 };
    if (others.length) ex.otherLines = others;
    if (!exit) this.problem(`QEMU still running 5 s after ${sig}`);
    this.exchanges.push(ex);
    return ex;
  }

  /** quit: records reply/event order, connection close and exit status. */
  async quit() {
    const ex = await this.x('quit', undefined, { settle: 500, closes: true });
    const exit = await this.qemu.waitExit(READ_TIMEOUT_MS);
    ex.exit = exit ?? 'running';
    ex.connectionClosed = this.conn.closed;
    if (!exit) this.problem('QEMU still running 5 s after quit');
    return ex;
  }

  async stop() {
    if (this.conn) this.conn.close();
    if (this.qemu) {
      if (this.qemu.running) await this.qemu.kill();
      await this.qemu.exited;
    }
    try { fs.unlinkSync(this.sockPath); } catch { /* already gone */ }
  }

  toFixture(qemuVersionLine, extra = {}) {
    const fx = {
      qemu: qemuVersionLine,
      argv: this.argvForFixture,
      greeting: this.greeting,
      greetingRaw: this.greetingRaw,
      exchanges: this.exchanges,
    };
    if (this.qemu) {
      fx.exit = this.qemu.exit ?? 'running';
      if (this.qemu.killedByRecorder) fx.killedByRecorder = true;
      if (this.qemu.stderr) fx.stderr = this.qemu.stderr;
      if (this.qemu.stdout) fx.stdout = this.qemu.stdout;
    }
    fx.problems = this.problems;
    return { ...fx, ...extra };
  }
}
