// Dependency-free helpers for the record-*.mjs guest recorders: the initramfs builder,
// decoders for the guest's register dumps, and the scenario scaffolding they share. The
// line-oriented unix-socket reader (QMP and the guest's serial ports), the QMP client and
// the QEMU process wrapper are scripts/lib/qmp.mjs's, re-exported here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineConn, Qmp, Qemu } from '../lib/qmp.mjs';

export { LineConn, Qmp, Qemu, sleep } from '../lib/qmp.mjs';

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

// ---- scenario scaffolding shared by record-pciehp.mjs, record-acpiphp.mjs, record-shpchp.mjs ----

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A console line without its printk timestamp, and that timestamp in seconds. */
export const stripK = (l) => l.replace(/^\[\s*\d+\.\d+\]\s?/, '');
export const ktime = (l) => { const m = l.match(/^\[\s*(\d+\.\d+)\]/); return m ? Number(m[1]) : null; };
/** A QMP event's timestamp in ms. */
export const qmpTsMs = (ev) => ev.timestamp.seconds * 1000 + ev.timestamp.microseconds / 1000;
export const round = (v, d = 3) => (v === null || v === undefined || Number.isNaN(v) ? null : Math.round(v * 10 ** d) / 10 ** d);

/**
 * The recorders' options: --only A,B  --out DIR  --boot-timeout S  --keep-tmp  --list
 * (`--opt=value` works too); -h prints the script's leading comment.
 */
export function parseRecorderArgs(argv, script) {
  const o = { only: null, out: path.join(REPO, 'fixtures/qemu-7.2-linux'), keepTmp: false, list: false, bootTimeoutS: 240 };
  for (let i = 0; i < argv.length; i++) {
    const [a, inline] = argv[i].split(/=(.*)/s);
    const value = () => inline ?? argv[++i];
    if (a === '--only') o.only = value().split(',');
    else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--boot-timeout') o.bootTimeoutS = Number(value());
    else if (a === '--keep-tmp') o.keepTmp = true;
    else if (a === '--list') o.list = true;
    else if (a === '-h' || a === '--help') {
      const lines = fs.readFileSync(fileURLToPath(script), 'utf8').split('\n').slice(1);
      console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  return o;
}

/**
 * The guest's console protocol (guest-init.sh): markers on ttyS0, commands on ttyS1.
 * `sync(tag)` pairs host and guest clocks (pushed to `clock`); `dump(tag)` returns the parsed dump.
 */
export function guestConsole(ser0, ser1) {
  const clock = [];
  const marker = (re, timeoutMs) => ser0.waitFor((t) => re.test(stripK(t)), timeoutMs);
  const sync = async (tag) => {
    const hostSendMs = Date.now();
    ser1.write(`sync ${tag}\n`);
    const rec = await marker(new RegExp(`^@@PB SYNC ${tag}$`), 10000);
    if (!rec) throw new Error(`no SYNC ${tag}`);
    clock.push({ tag, hostSendMs, hostRecvMs: rec.hostMs, guestTime: ktime(rec.text) });
  };
  const dump = async (tag) => {
    ser1.write(`dump ${tag}\n`);
    if (!(await marker(new RegExp(`^@@PB DUMP-END ${tag}$`), 30000))) throw new Error(`no dump ${tag}`);
    return parseDump(ser0.all.map((r) => r.text), tag);
  };
  return { clock, marker, sync, dump };
}

/**
 * One scenario's QEMU run. Makes the temp dir, starts `bin` with `argv({tmp, sock})`, connects
 * the serial consoles (unless `serial` is false: ser0 is the kernel console, ser1 takes
 * commands) and QMP (greeting, qmp_capabilities), then runs `body(ctx)`, which returns the
 * fixture file it wrote. On failure the serial and QMP logs stay in the temp dir.
 * Resolves to {ok, file} or {ok: false, error}.
 */
export async function runScenario({ name, tmpPrefix, bin, argv, serial = true, opts }, body) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${tmpPrefix}-${name}-`));
  const sock = (n) => path.join(tmp, `${n}.sock`);
  const args = argv({ tmp, sock });
  const t0 = Date.now();
  const log = (...a) => console.log(`[${name} +${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
  log(`starting ${bin} (tmp ${tmp})`);
  const qemu = new Qemu(bin, args);
  const alive = () => qemu.running;
  const qmpLog = [];
  let ser0, ser1, qmpConn;
  try {
    if (serial) {
      ser0 = await LineConn.connect('ser0', sock('ser0'), alive);
      ser1 = await LineConn.connect('ser1', sock('ser1'), alive);
    }
    qmpConn = await LineConn.connect('qmp', sock('qmp'), alive);
    const qmp = new Qmp(qmpConn, qmpLog);
    const greeting = await qmp.greeting();
    await qmp.execute('qmp_capabilities');
    const con = serial ? guestConsole(ser0, ser1) : null;
    const file = await body({ tmp, sock, argv: args, log, qemu, qmp, qmpLog, greeting, ser0, ser1, con });
    return { ok: true, file };
  } catch (e) {
    log(`FAILED: ${e.stack || e}`);
    if (ser0) fs.writeFileSync(path.join(tmp, 'serial.log'), ser0.all.map((r) => `${r.hostMs} ${r.text}`).join('\n'));
    fs.writeFileSync(path.join(tmp, 'qmp.log'), qmpLog.map((r) => `${r.hostMs} ${r.dir} ${r.raw}`).join('\n'));
    log(`serial/qmp logs kept in ${tmp}`);
    opts.keepTmp = true;
    return { ok: false, error: String(e) };
  } finally {
    for (const c of [ser0, ser1, qmpConn]) c?.close();
    if (qemu.running) await qemu.stop(0);
    if (!opts.keepTmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** QEMU's argv as a fixture stores it: temp paths as TMP. */
export const fixtureArgv = (bin, argv, tmp, env) => [bin, ...argv.map((a) => a.replaceAll(tmp, 'TMP').replace(env.initrd, 'TMP/initramfs.cpio'))];

/** Writes OUT/FILE.json and logs it; returns the path. */
export function writeFixture(out, basename, fixture, log) {
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, `${basename}.json`);
  fs.writeFileSync(file, JSON.stringify(fixture, null, 1) + '\n');
  log(`wrote ${path.relative(REPO, file)} (${fs.statSync(file).size} bytes)`);
  return file;
}

/**
 * A recorder's main: --list, or build one initramfs (the kernel's `modules` and their
 * dependencies, `init(buildTmp)` as /init) and run `record(name, scenario, env, opts)` for each
 * chosen scenario in turn; prints where each fixture went, exit code 1 if any failed.
 */
export async function recorderMain({ script, scenarios, bin, modules, init, record }) {
  const opts = parseRecorderArgs(process.argv.slice(2), script);
  if (opts.list) { for (const [n, s] of Object.entries(scenarios)) console.log(`${n}\t${s.about}`); return; }
  const names = opts.only || Object.keys(scenarios);
  for (const n of names) if (!scenarios[n]) throw new Error(`unknown scenario ${n} (have: ${Object.keys(scenarios).join(', ')})`);
  const { kernel, version } = findKernel();
  const mods = [];
  for (const name of modules) {
    const closure = moduleClosure(version, name);
    if (!closure) console.warn(`${name}.ko not found under /lib/modules/${version} (assuming built in)`);
    for (const m of closure || []) if (!mods.some((x) => x.rel === m.rel)) mods.push(m);
  }
  const qemuVersion = run(bin, ['--version']).stdout.split('\n')[0];
  const pkg = run('dpkg-query', ['-W', '-f=${Package} ${Version}', `linux-image-${version}`]);
  const buildTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-initramfs-'));
  try {
    const initrd = buildInitramfs(buildTmp, init(buildTmp), mods);
    console.log(`kernel ${kernel}; initramfs ${initrd} (${fs.statSync(initrd).size} bytes; modules: ${mods.map((m) => m.rel).join(' ') || 'none'})`);
    const env = { kernel, kernelVersion: version, kernelPackage: pkg.status === 0 ? pkg.stdout : null, initrd, qemuVersion };
    const results = {};
    for (const n of names) results[n] = await record(n, scenarios[n], env, { ...opts });
    console.log(JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.ok ? path.relative(REPO, v.file) : `FAILED: ${v.error}`])), null, 1));
    if (Object.values(results).some((r) => !r.ok)) process.exitCode = 1;
  } finally {
    fs.rmSync(buildTmp, { recursive: true, force: true });
  }
}
