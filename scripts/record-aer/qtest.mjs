// Dependency-free helpers for record-aer.mjs: a QEMU process with a qtest chardev and a
// QMP monitor, ECAM config accesses through qtest's memory commands, HMP through QMP.
//
// Debian's QEMU 7.2 has no qtest accelerator, but the `-qtest` chardev works with TCG; a
// 64 KiB "BIOS" made of `hlt` keeps SeaBIOS from touching config space, so every register
// value we read was written by QEMU or by us.
import { spawn } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** q35 MCH: PCIEXBAR (config 0x60) with the enable bit maps ECAM here (256 buses). */
export const ECAM_BASE = 0xb0000000;
const MCH_PCIEXBAR = 0x60;
const PCIEXBAR_EN = 1;

/** Line-oriented unix socket client. */
class Lines {
  constructor(sock) {
    this.sock = sock;
    this.buf = '';
    this.lines = [];
    this.waiters = [];
    this.closed = false;
    sock.setEncoding('utf8');
    sock.on('data', (d) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i).replace(/\r$/, ''));
        this.buf = this.buf.slice(i + 1);
      }
      this.wake();
    });
    sock.on('close', () => { this.closed = true; this.wake(); });
    sock.on('error', () => {});
  }
  wake() { const w = this.waiters; this.waiters = []; for (const f of w) f(); }
  static connect(p, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const s = net.createConnection(p);
        s.once('connect', () => resolve(new Lines(s)));
        s.once('error', (e) => (Date.now() > deadline ? reject(e) : setTimeout(attempt, 20)));
      };
      attempt();
    });
  }
  async next(pred = () => true, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.lines.findIndex(pred);
      if (i >= 0) return this.lines.splice(0, i + 1)[i];
      if (this.closed || Date.now() > deadline) throw new Error('socket closed or timed out');
      await new Promise((r) => { const t = setTimeout(r, 50); this.waiters.push(() => { clearTimeout(t); r(); }); });
    }
  }
  send(text) { this.sock.write(text + '\n'); }
  close() { this.sock.destroy(); }
}

/** One QEMU with `-qtest` and `-qmp` sockets in a temp dir. */
export class QtestQemu {
  static async start(bin, args) {
    const q = new QtestQemu();
    q.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-aer-'));
    const bios = path.join(q.tmp, 'hlt.bin');
    fs.writeFileSync(bios, Buffer.alloc(64 * 1024, 0xf4));
    const qt = path.join(q.tmp, 'qtest.sock');
    const qmp = path.join(q.tmp, 'qmp.sock');
    q.argv = [
      '-M', 'q35', '-nodefaults', '-display', 'none', '-bios', bios,
      '-qtest', `unix:${qt},server=on,wait=off`, '-qmp', `unix:${qmp},server=on,wait=off`, ...args,
    ];
    q.proc = spawn(bin, q.argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    q.stderr = '';
    q.proc.stderr.setEncoding('utf8');
    q.proc.stderr.on('data', (d) => { q.stderr += d; });
    q.exited = new Promise((r) => q.proc.on('exit', r));
    q.qt = await Lines.connect(qt);
    q.qmp = await Lines.connect(qmp);
    await q.qmp.next((l) => l.startsWith('{"QMP"'));
    await q.qmpCmd('qmp_capabilities');
    await q.outl(0xcf8, 0x80000000 | MCH_PCIEXBAR);
    await q.outl(0xcfc, ECAM_BASE | PCIEXBAR_EN);
    return q;
  }
  /** argv as stored in a fixture (temp paths hidden). */
  get argvForFixture() { return this.argv.map((a) => a.replaceAll(this.tmp, 'TMP')); }

  async qtest(line) {
    this.qt.send(line);
    const r = await this.qt.next((l) => l.startsWith('OK') || l.startsWith('FAIL') || l.startsWith('ERR'));
    if (!r.startsWith('OK')) throw new Error(`qtest ${line}: ${r}`);
    return r;
  }
  async outl(port, v) { await this.qtest(`outl 0x${port.toString(16)} 0x${(v >>> 0).toString(16)}`); }
  async readl(addr) { return Number(BigInt((await this.qtest(`readl 0x${addr.toString(16)}`)).split(' ')[1])); }
  async writel(addr, v) { await this.qtest(`writel 0x${addr.toString(16)} 0x${(v >>> 0).toString(16)}`); }
  async readw(addr) { return Number(BigInt((await this.qtest(`readw 0x${addr.toString(16)}`)).split(' ')[1])); }
  async writew(addr, v) { await this.qtest(`writew 0x${addr.toString(16)} 0x${(v & 0xffff).toString(16)}`); }
  async readb(addr) { return Number(BigInt((await this.qtest(`readb 0x${addr.toString(16)}`)).split(' ')[1])); }
  async writeb(addr, v) { await this.qtest(`writeb 0x${addr.toString(16)} 0x${(v & 0xff).toString(16)}`); }

  async qmpCmd(execute, args) {
    this.qmp.send(JSON.stringify(args ? { execute, arguments: args } : { execute }));
    const line = await this.qmp.next((l) => { try { const j = JSON.parse(l); return 'return' in j || 'error' in j; } catch { return false; } });
    return JSON.parse(line);
  }
  async hmp(commandLine) {
    const r = await this.qmpCmd('human-monitor-command', { 'command-line': commandLine });
    if (r.error) throw new Error(`hmp ${commandLine}: ${JSON.stringify(r.error)}`);
    return r.return;
  }
  async stop() {
    try { await this.qmpCmd('quit'); } catch { /* gone */ }
    await Promise.race([this.exited, sleep(3000)]);
    try { this.proc.kill('SIGKILL'); } catch { /* gone */ }
    this.qt.close();
    this.qmp.close();
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** ECAM address of a config register. */
export const ecam = (bus, devfn, off) => ECAM_BASE + ((bus << 20) | (devfn << 12) | off);
