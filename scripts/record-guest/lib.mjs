// Dependency-free helpers for record-pciehp.mjs: a line-oriented unix-socket reader
// (used for QMP and for the guest's serial ports), a QEMU process wrapper, the
// initramfs builder, and decoders for the guest's register dumps.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A unix-socket connection split into "\n"-terminated lines, each stamped with Date.now(). */
export class LineConn {
  constructor(name) {
    this.name = name;
    this.buf = Buffer.alloc(0);
    this.all = []; // every line ever received: {text, hostMs}
    this.cursor = 0; // next line for nextLine()
    this.waiters = [];
    this.closed = false;
    this.sock = null;
    this.onLine = null;
  }

  static async connect(name, sockPath, isAlive, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    let lastErr;
    while (Date.now() < deadline) {
      if (isAlive && !isAlive()) throw new Error(`${name}: QEMU exited before connect`);
      try {
        const c = new LineConn(name);
        await c._open(sockPath);
        return c;
      } catch (e) {
        lastErr = e;
        await sleep(10);
      }
    }
    throw new Error(`${name}: connect timeout (${lastErr})`);
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
      let text = this.buf.subarray(0, i).toString('utf8');
      this.buf = this.buf.subarray(i + 1);
      while (text.endsWith('\r')) text = text.slice(0, -1);
      const rec = { text, hostMs };
      this.all.push(rec);
      if (this.onLine) this.onLine(rec);
    }
    this._wake();
  }

  _wake() {
    const w = this.waiters; this.waiters = [];
    for (const f of w) f();
  }

  /** Waits for the next line (after the cursor) matching pred; null on timeout/close. */
  async waitFor(pred, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.all.length) {
        const rec = this.all[this.cursor++];
        if (pred(rec.text, rec)) return rec;
      }
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  write(text) {
    if (this.closed || !this.sock) return false;
    this.sock.write(text);
    return true;
  }

  close() {
    if (this.sock) this.sock.destroy();
    this.closed = true;
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

/** A running QEMU; stdout/stderr captured. */
export class Qemu {
  constructor(bin, argv) {
    this.bin = bin;
    this.argv = argv;
    this.stdout = '';
    this.stderr = '';
    this.exit = null;
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
  async stop(graceMs = 3000) {
    if (!this.running) return this.exit;
    const t = await Promise.race([this.exited, sleep(graceMs).then(() => null)]);
    if (t) return t;
    try { this.proc.kill('SIGKILL'); } catch { /* already gone */ }
    return this.exited;
  }
}

export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw r.error;
  return r;
}

/** Newest /boot/vmlinuz-* (or $PLUGBOARD_KERNEL) and its version string. */
export function findKernel() {
  let kernel = process.env.PLUGBOARD_KERNEL;
  if (!kernel) {
    const cands = fs.readdirSync('/boot').filter((f) => f.startsWith('vmlinuz-'));
    if (!cands.length) throw new Error('no /boot/vmlinuz-*: apt-get install -y linux-image-amd64');
    cands.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    kernel = path.join('/boot', cands[cands.length - 1]);
  }
  const version = path.basename(kernel).replace(/^vmlinuz-/, '');
  return { kernel, version };
}

/** Module path (relative to /lib/modules/VER) of `name` plus its dependencies, deps first. */
export function moduleClosure(version, name) {
  const dir = path.join('/lib/modules', version);
  const dep = fs.readFileSync(path.join(dir, 'modules.dep'), 'utf8');
  const map = new Map();
  for (const line of dep.split('\n')) {
    const m = line.match(/^([^:]+):\s*(.*)$/);
    if (m) map.set(m[1], m[2].split(/\s+/).filter(Boolean));
  }
  const key = [...map.keys()].find((k) => path.basename(k).replace(/\.ko(\.\w+)?$/, '') === name);
  if (!key) return null;
  const out = [];
  const visit = (k) => {
    if (out.includes(k)) return;
    for (const d of map.get(k) || []) visit(d);
    out.push(k);
  };
  visit(key);
  return out.map((rel) => ({ rel, abs: path.join(dir, rel) }));
}

/**
 * Builds an uncompressed newc initramfs in `tmp`: static busybox, guest-init.sh as /init,
 * and the given modules (uncompressed .ko only) with /lib/modules/load.list.
 */
export function buildInitramfs(tmp, initScript, modules) {
  const busybox = '/bin/busybox';
  if (!fs.existsSync(busybox)) throw new Error('no /bin/busybox: apt-get install -y busybox-static');
  const fileOut = run('file', ['-L', busybox]);
  if (fileOut.status === 0 && !/statically linked|static-pie/.test(fileOut.stdout)) {
    throw new Error(`${busybox} is not static: apt-get install -y busybox-static`);
  }
  const stage = path.join(tmp, 'stage');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'lib/modules']) fs.mkdirSync(path.join(stage, d), { recursive: true });
  fs.copyFileSync(busybox, path.join(stage, 'bin/busybox'));
  fs.chmodSync(path.join(stage, 'bin/busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(stage, 'bin/sh'));
  fs.copyFileSync(initScript, path.join(stage, 'init'));
  fs.chmodSync(path.join(stage, 'init'), 0o755);
  const names = [];
  for (const m of modules) {
    if (!m.abs.endsWith('.ko')) throw new Error(`compressed module not supported by busybox insmod here: ${m.abs}`);
    const base = path.basename(m.abs);
    fs.copyFileSync(m.abs, path.join(stage, 'lib/modules', base));
    names.push(base);
  }
  fs.writeFileSync(path.join(stage, 'lib/modules/load.list'), names.join('\n') + '\n');
  const out = path.join(tmp, 'initramfs.cpio');
  const r = run('sh', ['-c', 'cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet > "$2"', 'sh', stage, out]);
  if (r.status !== 0) throw new Error(`cpio failed: ${r.stderr} (apt-get install -y cpio)`);
  return out;
}

// ---- register dump decoding -------------------------------------------------------------

const PCI_CAPABILITY_LIST = 0x34;
const PCI_CAP_ID_EXP = 0x10;
const PCI_EXP_FLAGS = 0x02;
const PCI_EXP_LNKCAP = 0x0c;
const PCI_EXP_LNKCTL = 0x10;
const PCI_EXP_LNKSTA = 0x12;
const PCI_EXP_SLTCAP = 0x14;
const PCI_EXP_SLTCTL = 0x18;
const PCI_EXP_SLTSTA = 0x1a;
const PCI_EXP_SLTCAP2 = 0x34;

const hex = (v, w) => '0x' + v.toString(16).padStart(w, '0');

export function decodeConfig(cfgHex) {
  const b = Buffer.from(cfgHex, 'hex');
  const u8 = (o) => b[o];
  const u16 = (o) => b.readUInt16LE(o);
  const u32 = (o) => b.readUInt32LE(o);
  const out = {
    vendorDevice: `${u16(0).toString(16).padStart(4, '0')}:${u16(2).toString(16).padStart(4, '0')}`,
    command: hex(u16(4), 4),
    status: hex(u16(6), 4),
    headerType: hex(u8(0x0e), 2),
  };
  if ((u8(0x0e) & 0x7f) === 1) {
    out.busNumbers = { primary: u8(0x18), secondary: u8(0x19), subordinate: u8(0x1a) };
    out.ioBaseLimit = hex(u16(0x1c), 4);
    out.memBaseLimit = hex(u32(0x20), 8);
    out.prefBaseLimit = hex(u32(0x24), 8);
    out.bridgeControl = hex(u16(0x3e), 4);
  }
  // walk the capability list
  const caps = [];
  let p = u8(PCI_CAPABILITY_LIST) & 0xfc;
  let guard = 0;
  let exp = null;
  while (p && guard++ < 48 && p + 1 < b.length) {
    caps.push({ id: hex(u8(p), 2), at: hex(p, 2) });
    if (u8(p) === PCI_CAP_ID_EXP) exp = p;
    p = u8(p + 1) & 0xfc;
  }
  out.caps = caps;
  if (exp !== null) {
    const flags = u16(exp + PCI_EXP_FLAGS);
    const e = {
      capOffset: hex(exp, 2),
      FLAGS: hex(flags, 4),
      type: (flags >> 4) & 0xf,
      LNKCAP: hex(u32(exp + PCI_EXP_LNKCAP), 8),
      LNKCTL: hex(u16(exp + PCI_EXP_LNKCTL), 4),
      LNKSTA: hex(u16(exp + PCI_EXP_LNKSTA), 4),
    };
    if (flags & 0x0100) { // slot implemented
      const sltctl = u16(exp + PCI_EXP_SLTCTL);
      const ind = ['reserved', 'on', 'blink', 'off'];
      Object.assign(e, {
        SLTCAP: hex(u32(exp + PCI_EXP_SLTCAP), 8),
        SLTCTL: hex(sltctl, 4),
        SLTSTA: hex(u16(exp + PCI_EXP_SLTSTA), 4),
        SLTCAP2: exp + PCI_EXP_SLTCAP2 + 4 <= b.length ? hex(u32(exp + PCI_EXP_SLTCAP2), 8) : null,
        sltctlDecoded: {
          enables: ['ABPE', 'PFDE', 'MRLSCE', 'PDCE', 'CCIE', 'HPIE'].filter((_, i) => sltctl & (1 << i)),
          AIC: ind[(sltctl >> 6) & 3],
          PIC: ind[(sltctl >> 8) & 3],
          PCC: (sltctl & 0x400) ? 'off' : 'on',
          DLLSCE: !!(sltctl & 0x1000),
        },
      });
    }
    out.pcie = e;
  }
  return out;
}

/** Parses one "@@PB DUMP-BEGIN tag" .. "@@PB DUMP-END tag" block from serial lines. */
export function parseDump(lines, tag) {
  const strip = (l) => l.replace(/^\[\s*\d+\.\d+\]\s*/, '');
  const begin = lines.findIndex((l) => strip(l) === `@@PB DUMP-BEGIN ${tag}`);
  const end = lines.findIndex((l, i) => i > begin && strip(l) === `@@PB DUMP-END ${tag}`);
  if (begin < 0 || end < 0) return null;
  const ktime = (l) => { const m = l.match(/^\[\s*(\d+\.\d+)\]/); return m ? Number(m[1]) : null; };
  const dump = { guestTime: ktime(lines[begin]), devices: [], config: {}, slots: [] };
  for (const raw of lines.slice(begin + 1, end)) {
    const l = strip(raw);
    let m;
    if ((m = l.match(/^@@PB DEV (\S+) (\S+) (\S+) (\S+)$/))) {
      dump.devices.push({ bdf: m[1], id: m[2].replace(/0x/g, ''), class: m[3], driver: m[4] === '-' ? null : m[4] });
    } else if ((m = l.match(/^@@PB CFG (\S+) ([0-9a-f]+)$/))) {
      dump.config[m[1]] = { raw: m[2], ...decodeConfig(m[2]) };
    } else if ((m = l.match(/^@@PB SLOT (\S+) (.*)$/))) {
      const s = { name: m[1] };
      for (const kv of m[2].split(' ')) { const [k, v] = kv.split('='); s[k] = v === '-' ? null : v; }
      dump.slots.push(s);
    }
  }
  return dump;
}
