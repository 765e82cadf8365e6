#!/usr/bin/env node
// Records QMP / CLI transcripts of real QEMU 7.2 into fixtures/qemu-7.2/NAME.json.
//
//   node scripts/record-qemu-fixtures.mjs [--only NAME[,NAME...]] [--list]
//
// Needs qemu-system-x86_64 and qemu-system-ppc64 on PATH (Debian 12: qemu-system-x86,
// qemu-system-ppc). Dependency-free Node 20 ESM. Scenarios run sequentially; every
// QEMU is started as
//   qemu-system-x86_64 -accel tcg -S -display none -qmp unix:SOCK,server=on,wait=off ARGS
// and is always killed at the end. Every read times out after 5 s; a timeout is
// recorded in the exchange ("timeout": true) and listed in the fixture's "problems".
//
// Fixture format (one file per scenario):
//   { qemu, argv, greeting, greetingRaw, exchanges: [...], exit, problems }
// exchange kinds:
//   { send, note?, replies, raw, events, eventsRaw, order?, elapsedMs, ... }   a request
//       send: object (sent as JSON.stringify(send)+"\n") or string (sent verbatim)
//       raw/eventsRaw: exact server lines without the "\r\n"
//       order: arrival order ("reply" or event name) when both replies and events came
//   { action: "reconnect", connection, greeting, greetingRaw }   new QMP connection
//   { action: "wait", ms, events, eventsRaw }                     listened without sending
//   { action: "signal", signal, events, eventsRaw, exit }         kill(SIGTERM/SIGINT)
//   { action: "unsolicited", lines, parsed }                      lines between requests
//   catalog exchanges outside pc-nodefaults may be stored as
//   { send, catalog: true, sameAs: "pc-nodefaults", rawBytes }: identical to that fixture's
// cli.json is different: [{ argv, stdout, stderr, code, signal?, running?, truncated? }].
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from './qemu-record/session.mjs';
import { x86Battery, topology, inspectObject } from './qemu-record/battery.mjs';
import { errorsPc, errorsQ35, errorsQ35Native } from './qemu-record/errors.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const OUT_DIR = path.resolve(here, '..', 'fixtures', 'qemu-7.2');
const X86 = 'qemu-system-x86_64';
const PPC = 'qemu-system-ppc64';

function versionLine(bin) {
  try {
    return execFileSync(bin, ['-version'], { encoding: 'utf8', timeout: 10000 }).split('\n')[0];
  } catch (e) {
    return `unavailable: ${e.message}`;
  }
}

// ---------------------------------------------------------------------------
// Scenarios

const PC_HOST = '/machine/i440fx';
const Q35_HOST = '/machine/q35';

async function q35Extras(s) {
  await inspectObject(s, '/machine/q35/mch');
}

const scenarios = [
  {
    name: 'pc-nodefaults', bin: X86, args: ['-M', 'pc', '-nodefaults'],
    run: (s) => x86Battery(s, { hostBridgePath: PC_HOST, running: true }),
  },
  {
    name: 'pc-defaults', bin: X86, args: ['-M', 'pc'],
    run: (s) => x86Battery(s, { hostBridgePath: PC_HOST, running: true }),
  },
  {
    name: 'q35-nodefaults', bin: X86, args: ['-M', 'q35', '-nodefaults'],
    run: async (s) => { await q35Extras(s); await x86Battery(s, { hostBridgePath: Q35_HOST, running: true }); },
  },
  {
    name: 'q35-defaults', bin: X86, args: ['-M', 'q35'],
    run: async (s) => { await q35Extras(s); await x86Battery(s, { hostBridgePath: Q35_HOST, running: true }); },
  },
  {
    // pci-bridge directly on pcie.0: QEMU 7.2 accepts it (recorded; see query-pci / info qtree).
    name: 'q35-ports', bin: X86,
    args: ['-M', 'q35', '-nodefaults',
      '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1',
      '-device', 'pci-bridge,id=br1,chassis_nr=2'],
    run: async (s) => { await q35Extras(s); await x86Battery(s, { hostBridgePath: Q35_HOST, running: true }); },
  },
  {
    name: 'q35-switch', bin: X86,
    args: ['-M', 'q35', '-nodefaults',
      '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1',
      '-device', 'x3130-upstream,id=up1,bus=rp1',
      '-device', 'xio3130-downstream,id=dn1,bus=up1,chassis=1,slot=2',
      '-device', 'ioh3420,id=ioh1,chassis=2,slot=3',
      '-device', 'pcie-root-port,id=rp2,chassis=1,slot=4',
      '-device', 'pcie-pci-bridge,id=ppb1,bus=rp2'],
    run: async (s) => { await q35Extras(s); await x86Battery(s, { hostBridgePath: Q35_HOST, running: true }); },
  },
  {
    name: 'pc-bridge', bin: X86,
    args: ['-M', 'pc', '-nodefaults', '-device', 'pci-bridge,id=br1,chassis_nr=1', '-device', 'e1000,id=n1,bus=br1,addr=3'],
    run: (s) => x86Battery(s, { hostBridgePath: PC_HOST, running: true }),
  },
  {
    name: 'pseries-nodefaults', bin: PPC, args: ['-M', 'pseries', '-nodefaults'],
    run: (s) => pseries(s, { bridge: false }),
  },
  {
    name: 'pseries-bridge', bin: PPC, args: ['-M', 'pseries', '-nodefaults', '-device', 'pci-bridge,id=br1,chassis_nr=1'],
    run: (s) => pseries(s, { bridge: true }),
  },
  {
    name: 'errors-pc', bin: X86,
    args: ['-M', 'pc', '-nodefaults', '-device', 'pci-bridge,id=brc,chassis_nr=1', '-device', 'e1000,id=n0,addr=4'],
    selfNegotiating: true,
    run: (s) => errorsPc(s),
  },
  {
    name: 'errors-q35', bin: X86,
    args: ['-M', 'q35', '-nodefaults',
      '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1',
      '-device', 'pcie-root-port,id=rp2,chassis=1,slot=2,hotplug=off',
      '-device', 'pcie-root-port,id=rp3,chassis=1,slot=3',
      '-device', 'e1000e,id=ne0,bus=rp3',
      '-device', 'pcie-root-port,id=rp4,chassis=1,slot=4',
      '-device', 'pcie-root-port,id=rp5,chassis=1,slot=5',
      '-device', 'pcie-root-port,id=rp6,chassis=1,slot=6',
      '-device', 'pcie-root-port,id=rp7,chassis=1,slot=7',
      '-device', 'x3130-upstream,id=upc,bus=rp7',
      '-device', 'xio3130-downstream,id=dnc,bus=upc,chassis=3,slot=1'],
    selfNegotiating: true,
    run: (s) => errorsQ35(s),
  },
  {
    name: 'errors-q35-native', bin: X86,
    args: ['-M', 'q35', '-nodefaults', '-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off',
      '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1',
      '-device', 'pcie-root-port,id=rp2,chassis=1,slot=2,hotplug=off',
      '-device', 'e1000e,id=ne2,bus=rp2',
      '-device', 'pcie-root-port,id=rp3,chassis=1,slot=3',
      '-device', 'e1000e,id=ne0,bus=rp3',
      '-device', 'pcie-root-port,id=rp4,chassis=1,slot=4'],
    selfNegotiating: true,
    run: (s) => errorsQ35Native(s),
  },
  {
    name: 'signals', bin: X86, args: ['-M', 'q35'], custom: true,
    run: () => signalsScenario(),
  },
  { name: 'cli', custom: true, run: () => cliScenario() },
];

// ---------------------------------------------------------------------------
// pseries

async function pseries(s, { bridge }) {
  await s.x('query-version');
  await s.x('query-status');
  await s.x('query-commands');
  await s.x('query-machines');
  await topology(s, { hostBridgePath: null });
  for (const d of ['spapr-pci-host-bridge', 'pci-bridge', 'e1000', 'virtio-net-pci']) {
    await s.x('device-list-properties', { typename: d });
  }
  await s.x('qom-list-types', { implements: 'pci-device' });
  await s.hmp('info pci');
  // hotplug while in prelaunch (-S)
  const wait = { settle: 1000 };
  if (bridge) {
    await s.x('device_add', { driver: 'e1000', id: 'nb', bus: 'br1', addr: '1' }, wait);
    await s.x('device_add', { driver: 'pci-bridge', id: 'br2', chassis_nr: 1 }, { note: 'duplicate chassis_nr' });
    await s.x('device_add', { driver: 'pci-bridge', id: 'br3' }, { note: 'chassis_nr missing' });
    await s.x('device_add', { driver: 'e1000', id: 'nb0', bus: 'br1' }, { note: 'auto addr on bridge bus (slot 0)' });
    await s.x('device_del', { id: 'br1' }, { ...wait, note: 'bridge unplug' });
    await s.x('device_del', { id: 'nb' }, wait);
    await s.x('device_del', { id: 'nb' }, { ...wait, note: 'repeat' });
  }
  await s.x('device_add', { driver: 'e1000', id: 'n1' }, wait);
  await s.x('device_add', { driver: 'virtio-net-pci', id: 'vn1', addr: '5' }, wait);
  await s.x('query-pci');
  await s.x('qom-list', { path: '/machine/peripheral' });
  await inspectObject(s, '/machine/peripheral/n1');
  await s.x('device_del', { id: 'n1' }, wait);
  await s.x('device_del', { id: 'n1' }, { ...wait, note: 'repeat (sPAPR: already in progress?)' });
  await s.x('device_del', { id: 'vn1' }, wait);
  await s.x('query-pci');
  await s.x('system_reset', undefined, wait);
  await s.wait(1000, 'events after system_reset');
  await s.x('query-pci');
  await s.x('qom-list', { path: '/machine/peripheral' });
  await s.hmp('info pci');
  if (!bridge) {
    // Running firmware (SLOF), no OS: DRCs are not driven by a guest.
    await s.x('cont', undefined, { settle: 200 });
    await s.wait(5000, 'SLOF running');
    await s.x('query-status');
    await s.x('device_add', { driver: 'e1000', id: 'r1', addr: '6' }, wait);
    await s.x('device_del', { id: 'r1' }, { ...wait, note: 'running, no OS' });
    await s.x('device_del', { id: 'r1' }, { ...wait, note: 'repeat while running' });
    await s.x('qom-list', { path: '/machine/peripheral' });
    await s.x('system_reset', undefined, { settle: 1500, note: 'releases pending DRC unplugs?' });
    await s.wait(1000);
    await s.x('qom-list', { path: '/machine/peripheral' });
    await s.x('query-pci');
  }
  await s.quit();
}

// ---------------------------------------------------------------------------
// signals (item 13)

async function signalsScenario() {
  const runs = [];
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    const s = new Session(`signals-${sig}`, X86, ['-M', 'q35']);
    try {
      await s.start();
      await s.x('qmp_capabilities');
      await s.x('query-status');
      await s.signal(sig);
    } catch (e) {
      s.problem(`exception: ${e.stack || e}`);
    } finally {
      await s.stop();
    }
    runs.push({ signal: sig, ...s.toFixture(QEMU_VERSION) });
  }
  // Same while running (after cont).
  {
    const s = new Session('signals-running', X86, ['-M', 'q35']);
    try {
      await s.start();
      await s.x('qmp_capabilities');
      await s.x('cont', undefined, { settle: 200 });
      await s.wait(500);
      await s.signal('SIGTERM');
    } catch (e) {
      s.problem(`exception: ${e.stack || e}`);
    } finally {
      await s.stop();
    }
    runs.push({ signal: 'SIGTERM', note: 'after cont (running)', ...s.toFixture(QEMU_VERSION) });
  }
  return {
    qemu: QEMU_VERSION,
    runs,
    problems: runs.flatMap((r) => r.problems.map((p) => `${r.signal}: ${p}`)),
  };
}

// ---------------------------------------------------------------------------
// CLI (item 12)

const VM = ['-S', '-nodefaults', '-display', 'none'];
const cliCases = [
  { argv: [X86, '-version'] },
  { argv: [X86, '-h'], head: 40 },
  { argv: [X86, '-M', 'help'] },
  { argv: [X86, '-machine', 'help'] },
  { argv: [X86, '-device', 'help'] },
  { argv: [X86, '-device', 'e1000,help'] },
  { argv: [X86, '-device', 'pcie-root-port,help'] },
  { argv: [X86, '-device', 'pci-bridge,help'] },
  { argv: [X86, '-cpu', 'help'], head: 10 },
  { argv: [X86, '-foo'] },
  { argv: [X86, '-device'] },
  { argv: [X86, ...VM, '-M', 'nosuch'] },
  { argv: [X86, ...VM, '-device', 'nosuch'] },
  { argv: [X86, ...VM, '-device', 'e1000,nosuchprop=1'] },
  { argv: [X86, ...VM, '-device', 'e1000,addr=zz'] },
  { argv: [X86, ...VM, '-device', 'e1000,addr=0x20'] },
  { argv: [X86, ...VM, '-device', 'e1000,id=1bad'] },
  { argv: [X86, ...VM, '-device', 'e1000,id=n1', '-device', 'e1000,id=n1'] },
  { argv: [X86, ...VM, '-M', 'q35', '-device', 'pcie-root-port,id=rp1', '-device', 'pcie-root-port,id=rp1'] },
  { argv: [X86, ...VM, '-M', 'q35', '-device', 'pcie-root-port,id=rp1', '-device', 'pcie-root-port,id=rp2'], note: 'two root ports, default chassis/slot (both 0)' },
  { argv: [X86, ...VM, '-M', 'q35', '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1', '-device', 'pcie-root-port,id=rp2,chassis=1,slot=1'] },
  { argv: [X86, ...VM, '-M', 'pc', '-device', 'pci-bridge,id=br1'], note: 'pci-bridge without chassis_nr' },
  { argv: [X86, ...VM, '-M', 'pc', '-device', 'pci-bridge,id=br1,chassis_nr=1', '-device', 'pci-bridge,id=br2,chassis_nr=1'] },
  { argv: [X86, ...VM, '-M', 'pc', '-device', 'pcie-root-port,id=rp1'], note: 'PCIe root port on i440fx' },
  { argv: [X86, ...VM, '-M', 'pc', '-device', 'e1000,addr=1'], note: 'devfn in use by PIIX3' },
  { argv: [X86, ...VM, '-M', 'pc', '-device', 'e1000,addr=5', '-device', 'e1000,addr=5.1'] },
  { argv: [X86, ...VM, '-M', 'pc', '-device', 'e1000,addr=6.1', '-device', 'e1000,addr=6'] },
  { argv: [X86, ...VM, '-M', 'q35', '-device', 'e1000,bus=pci.0'] },
  { argv: [X86, ...VM, '-qmp', 'foo:bar'] },
  { argv: [X86, ...VM, '-qmp', 'unix:'] },
  { argv: [X86, ...VM, '-M', 'q35', '-device', 'e1000,bus=nosuch'] },
  { argv: [X86, ...VM, '-machine', 'q35,nosuchprop=on'] },
  { argv: [X86, ...VM, '-global', 'nosuch'] },
  { argv: [X86, ...VM, '-global', 'e1000.nosuch=1'] },
  { argv: [X86, ...VM, '-global', 'e1000.nosuch=1', '-device', 'e1000'] },
  { argv: [X86, ...VM, '-smp', 'foo'] },
  { argv: [X86, ...VM, '-m', 'foo'] },
  { argv: [X86, ...VM, '-M', 'pc'], note: 'valid invocation: keeps running' },
  { argv: [PPC, '-M', 'help'] },
  { argv: [PPC, ...VM, '-M', 'pseries', '-device', 'pci-bridge,id=br1'], note: 'pseries bridge without chassis_nr' },
];

function runCli({ argv, head, note }) {
  return new Promise((resolve) => {
    const [bin, ...args] = argv;
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', running = false;
    p.stdout.setEncoding('utf8'); p.stderr.setEncoding('utf8');
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => { running = true; p.kill('SIGKILL'); }, 3000);
    p.on('close', (code, signal) => {
      clearTimeout(t);
      const rec = { argv };
      if (note) rec.note = note;
      if (head) {
        const lines = stdout.split('\n');
        if (lines.length > head) { rec.truncated = { lines: lines.length - 1, keptLines: head }; stdout = lines.slice(0, head).join('\n') + '\n'; }
      }
      Object.assign(rec, { stdout, stderr, code: running ? 'running' : code });
      if (signal && !running) rec.signal = signal;
      resolve(rec);
    });
    p.on('error', (e) => { clearTimeout(t); resolve({ argv, stdout, stderr, code: null, error: String(e) }); });
  });
}

async function cliScenario() {
  const out = [];
  for (const c of cliCases) out.push(await runCli(c));
  return out;
}

// ---------------------------------------------------------------------------
// Output: compact but diff-friendly JSON (one exchange per line).

function serialize(fx) {
  if (Array.isArray(fx)) return '[\n' + fx.map((e) => JSON.stringify(e)).join(',\n') + '\n]\n';
  const parts = Object.entries(fx).map(([k, v]) => {
    if ((k === 'exchanges' || k === 'runs') && Array.isArray(v)) {
      return `${JSON.stringify(k)}: [\n  ${v.map((e) => JSON.stringify(e)).join(',\n  ')}\n]`;
    }
    return `${JSON.stringify(k)}: ${JSON.stringify(v)}`;
  });
  return '{\n' + parts.join(',\n') + '\n}\n';
}

let QEMU_VERSION = '';

// Catalog replies (query-commands, qom-list-types, device-list-properties, HMP help
// texts) are recorded in every x86 scenario but stored in full only in CATALOG_BASE;
// elsewhere an exchange whose raw reply is byte-identical to the base's is stored as
//   { send, catalog: true, sameAs: "pc-nodefaults", rawBytes, events, eventsRaw }
// A reply that differs is kept in full (so nothing is lost).
const CATALOG_BASE = 'pc-nodefaults';
const recorded = new Map(); // name -> fixture, this run

function loadBase() {
  if (recorded.has(CATALOG_BASE)) return recorded.get(CATALOG_BASE);
  try {
    return JSON.parse(fs.readFileSync(path.join(OUT_DIR, `${CATALOG_BASE}.json`), 'utf8'));
  } catch {
    return null;
  }
}

function dedupeCatalog(name, fx) {
  if (name === CATALOG_BASE || Array.isArray(fx) || !fx.exchanges) return;
  const base = loadBase();
  if (!base) return;
  const byKey = new Map();
  for (const e of base.exchanges) if (e.catalog && e.raw) byKey.set(JSON.stringify(e.send), e.raw.join('\n'));
  fx.exchanges = fx.exchanges.map((e) => {
    if (!e.catalog || !e.raw || e.timeout) return e;
    const raw = e.raw.join('\n');
    if (byKey.get(JSON.stringify(e.send)) !== raw) return { ...e, differsFrom: CATALOG_BASE };
    const { replies, raw: _r, ...rest } = e;
    return { ...rest, sameAs: CATALOG_BASE, rawBytes: raw.length };
  });
}

async function main() {
  const argv = process.argv.slice(2);
  let only = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') only = new Set(argv[++i].split(','));
    else if (argv[i].startsWith('--only=')) only = new Set(argv[i].slice(7).split(','));
    else if (argv[i] === '--list') { for (const s of scenarios) console.log(s.name); return; }
    else { console.error(`unknown argument ${argv[i]}`); process.exit(2); }
  }
  if (only) {
    for (const n of only) if (!scenarios.some((s) => s.name === n)) { console.error(`unknown scenario ${n}`); process.exit(2); }
  }
  QEMU_VERSION = versionLine(X86);
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const t0 = Date.now();
  let bad = 0;
  for (const sc of scenarios) {
    if (only && !only.has(sc.name)) continue;
    const ts = Date.now();
    process.stderr.write(`recording ${sc.name} ...\n`);
    let fx;
    if (sc.custom) {
      fx = await sc.run();
    } else {
      const s = new Session(sc.name, sc.bin, sc.args);
      try {
        await s.start();
        if (!sc.selfNegotiating) await s.x('qmp_capabilities');
        await sc.run(s);
      } catch (e) {
        s.problem(`exception: ${e.stack || e}`);
      } finally {
        await s.stop();
      }
      fx = s.toFixture(sc.bin === X86 ? QEMU_VERSION : versionLine(sc.bin));
    }
    if (!Array.isArray(fx)) recorded.set(sc.name, fx);
    dedupeCatalog(sc.name, fx);
    const file = path.join(OUT_DIR, `${sc.name}.json`);
    const text = serialize(fx);
    fs.writeFileSync(file, text);
    const problems = Array.isArray(fx) ? [] : fx.problems ?? [];
    if (problems.length) bad += 1;
    process.stderr.write(`  wrote ${path.relative(process.cwd(), file)} (${(text.length / 1024).toFixed(0)} KiB, ${((Date.now() - ts) / 1000).toFixed(1)} s${problems.length ? `, ${problems.length} problems` : ''})\n`);
  }
  process.stderr.write(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s${bad ? `; ${bad} scenario(s) with problems` : ''}\n`);
  process.exitCode = bad ? 1 : 0;
}

await main();
