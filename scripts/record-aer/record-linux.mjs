#!/usr/bin/env node
// Records what a real Debian 12 Linux 6.1 guest prints when QEMU 7.2 injects AER errors
// (HMP pcie_aer_inject_error through QMP), with the AER registers read through ECAM (qtest
// chardev, the guest's SeaBIOS put ECAM at 0xb0000000) after the guest settled. Writes
// fixtures/qemu-7.2-aer/linux-NAME.json.
//
//   node scripts/record-aer/record-linux.mjs [--only NAME[,NAME]] [--list]
//
// An injection list entry starting with '!' is a plain HMP command (stop, cont).
//
// Needs qemu-system-x86 (7.2), linux-image-amd64, busybox-static, cpio; reuses the
// initramfs builder and /init of scripts/record-guest (nothing binary enters the repo).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { LineConn, Qmp, Qemu, sleep, run, findKernel, moduleClosure, buildInitramfs } from '../record-guest/lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const QEMU_BIN = process.env.QEMU || 'qemu-system-x86_64';
const APPEND = 'console=ttyS0 loglevel=8 printk.devkmsg=on panic=-1';
const ECAM = 0xb0000000;

/** Each scenario: devices, then injections (HMP lines), and the functions whose AER registers are read after each. */
const SCENARIOS = {
  'root-port': {
    about: 'pcie-root-port rp1 (MSI-X) with e1000e nic1; errors at nic1 (never reach the root port in 7.2) and at rp1 itself',
    devices: ['pcie-root-port,id=rp1,chassis=1,slot=1,addr=2', 'e1000e,id=nic1,bus=rp1'],
    read: { rp1: [0, 0x10], nic1: [1, 0] },
    inject: [
      'nic1 POISON_TLP', 'nic1 DLP', 'nic1 RCVR', 'rp1 RCVR', 'rp1 POISON_TLP', 'rp1 COMP_TIME', 'rp1 UNSUP',
      'rp1 MALF_TLP 0x4a000001 0x0100000f 0xfebf1000 0x0', 'rp1 DLP', '-a rp1 ECRC', 'rp1 INTN', 'rp1 ACSV',
      // The VM stopped: two messages reach the root port before the guest runs (Multiple ...).
      '!stop', 'rp1 ECRC', 'rp1 UNX_COMP', '!cont',
    ],
  },
  switch: {
    about: 'pcie-root-port rp2 -> x3130-upstream up1 -> xio3130-downstream dp1 (MSI) with e1000e nic2; errors at dp1 and up1',
    devices: [
      'pcie-root-port,id=rp2,chassis=1,slot=2,addr=3', 'x3130-upstream,id=up1,bus=rp2',
      'xio3130-downstream,id=dp1,bus=up1,chassis=2,slot=1', 'e1000e,id=nic2,bus=dp1',
    ],
    read: { rp2: [0, 0x18], up1: [1, 0], dp1: [2, 0], nic2: [3, 0] },
    inject: ['dp1 POISON_TLP', 'dp1 DLP', 'up1 UNX_COMP', 'up1 SDN', 'nic2 POISON_TLP'],
  },
  ioh3420: {
    about: 'ioh3420 ioh1 (MSI) with virtio-net-pci vn1 aer=on and no driver bound; errors at vn1 and at ioh1',
    devices: ['ioh3420,id=ioh1,chassis=1,slot=3,addr=4', 'virtio-net-pci,id=vn1,bus=ioh1,aer=on'],
    read: { ioh1: [0, 0x20], vn1: [1, 0] },
    inject: ['vn1 POISON_TLP', 'ioh1 POISON_TLP', 'ioh1 FCP'],
  },
  names: {
    about: 'pcie-root-port rp1 (MSI-X) with e1000e nic1; every uncorrectable name at rp1 (decoded names, severities, recovery), then every correctable one (7.2 sends no message)',
    devices: ['pcie-root-port,id=rp1,chassis=1,slot=1,addr=2', 'e1000e,id=nic1,bus=rp1'],
    read: { rp1: [0, 0x10], nic1: [1, 0] },
    inject: [
      'DLP', 'SDN', 'POISON_TLP', 'FCP', 'COMP_TIME', 'COMP_ABORT', 'UNX_COMP', 'RX_OVER', 'MALF_TLP', 'ECRC', 'UNSUP', 'ACSV', 'INTN',
      'MCBTLP', 'ATOP_EBLOCKED', 'TLP_PRF_BLOCKED',
      '-c RCVR', '-c BAD_TLP', '-c BAD_DLLP', '-c REP_ROLL', '-c REP_TIMER', '-c ADV_NONFATAL', '-c INTERNAL', '-c HL_OVERFLOW',
    ].map((e) => (e.startsWith('-c ') ? `-c rp1 ${e.slice(3)}` : `rp1 ${e}`)),
  },
  endpoints: {
    about: 'virtio-net-pci aer=on (no driver bound) below a root port (vn1 below rp1) and below a switch (vn2 below rp2 -> up1 -> dp1): errors at the endpoints',
    devices: [
      'pcie-root-port,id=rp1,chassis=1,slot=1,addr=2', 'virtio-net-pci,id=vn1,bus=rp1,aer=on',
      'pcie-root-port,id=rp2,chassis=1,slot=2,addr=3', 'x3130-upstream,id=up1,bus=rp2',
      'xio3130-downstream,id=dp1,bus=up1,chassis=2,slot=1', 'virtio-net-pci,id=vn2,bus=dp1,aer=on',
    ],
    read: { rp1: [0, 0x10], vn1: [1, 0], rp2: [0, 0x18], up1: [2, 0], dp1: [3, 0], vn2: [4, 0] },
    inject: ['vn1 POISON_TLP 0x4000001 0x0000010f 0xfebf1000 0x0', '-c vn1 BAD_TLP', 'vn1 DLP', 'vn2 COMP_ABORT', 'vn2 MALF_TLP', 'vn2 DLP'],
  },
  'no-aer': {
    about: 'functions without AER below root ports: virtio-net-pci (aer off) vn1 below rp1, nvme nv1 below rp2, no driver bound; QEMU uses the default severities',
    devices: [
      'pcie-root-port,id=rp1,chassis=1,slot=1,addr=2', 'virtio-net-pci,id=vn1,bus=rp1',
      'pcie-root-port,id=rp2,chassis=1,slot=2,addr=3', 'nvme,id=nv1,bus=rp2,serial=pb0001',
    ],
    read: { rp1: [0, 0x10], rp2: [0, 0x18] },
    inject: ['vn1 POISON_TLP', '-c vn1 RCVR', 'vn1 DLP', 'nv1 POISON_TLP', 'nv1 SDN'],
  },
};

const stripK = (l) => l.replace(/^\[\s*\d+\.\d+\]\s?/, '');
const ktime = (l) => { const m = l.match(/^\[\s*(\d+\.\d+)\]/); return m ? Number(m[1]) : null; };

/** A tiny qtest client for ECAM reads while the guest runs. */
async function qtestConnect(p, alive) {
  const c = await LineConn.connect('qtest', p, alive);
  return {
    async readl(addr) {
      c.write(`readl 0x${addr.toString(16)}\n`);
      const r = await c.waitFor((t) => t.startsWith('OK') || t.startsWith('FAIL'), 5000);
      return Number(BigInt(r.text.split(' ')[1]));
    },
    close: () => c.close(),
  };
}

async function readAer(qt, read) {
  const out = {};
  for (const [id, [bus, devfn]] of Object.entries(read)) {
    const base = ECAM + ((bus << 20) | (devfn << 12));
    const regs = { cmdsta: await qt.readl(base + 4), secsta: (await qt.readl(base + 0x1c)) >>> 16 };
    for (let off = 0x104; off <= 0x134; off += 4) regs[`0x${off.toString(16)}`] = await qt.readl(base + off);
    out[id] = Object.fromEntries(Object.entries(regs).map(([k, v]) => [k, `0x${(v >>> 0).toString(16)}`]));
  }
  return out;
}

/** Waits until the console has been quiet for `quietMs` (at most `maxMs`). */
async function settle(ser, quietMs = 2500, maxMs = 15000) {
  const start = Date.now();
  let n = ser.all.length;
  let last = Date.now();
  while (Date.now() - start < maxMs) {
    await sleep(100);
    if (ser.all.length !== n) { n = ser.all.length; last = Date.now(); }
    if (Date.now() - last >= quietMs) break;
  }
}

async function recordScenario(name, sc, env) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `pb-aer-linux-${name}-`));
  const socks = Object.fromEntries(['qmp', 'ser0', 'ser1', 'qtest'].map((k) => [k, path.join(tmp, `${k}.sock`)]));
  const argv = [
    '-M', 'q35', '-accel', 'tcg', '-m', '512', '-nodefaults', '-display', 'none', '-no-reboot',
    '-kernel', env.kernel, '-initrd', env.initrd, '-append', APPEND,
    '-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off',
    ...sc.devices.flatMap((d) => ['-device', d]),
    '-chardev', `socket,id=ser0,path=${socks.ser0},server=on,wait=off`, '-serial', 'chardev:ser0',
    '-chardev', `socket,id=ser1,path=${socks.ser1},server=on,wait=off`, '-serial', 'chardev:ser1',
    '-qmp', `unix:${socks.qmp},server=on,wait=off`, '-qtest', `unix:${socks.qtest},server=on,wait=off`,
  ];
  const t0 = Date.now();
  const log = (...a) => console.log(`[${name} +${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
  const qemu = new Qemu(QEMU_BIN, argv);
  const alive = () => qemu.running;
  const qmpLog = [];
  let ser0, ser1, qmpConn, qt;
  try {
    ser0 = await LineConn.connect('ser0', socks.ser0, alive);
    ser1 = await LineConn.connect('ser1', socks.ser1, alive);
    qmpConn = await LineConn.connect('qmp', socks.qmp, alive);
    qt = await qtestConnect(socks.qtest, alive);
    const qmp = new Qmp(qmpConn, qmpLog);
    await qmp.greeting();
    await qmp.execute('qmp_capabilities');
    const ready = await ser0.waitFor((t) => /^@@PB READY$/.test(stripK(t)), 240000);
    if (!ready) throw new Error('guest not ready');
    log('guest ready');
    await settle(ser0, 1500);
    const bootLines = ser0.all.map((r) => r.text).filter((t) => /AER|aer|pcieport|PCIe Bus Error|_OSC|e1000e 0000/.test(t));
    const steps = [{ state: 'boot', registers: await readAer(qt, sc.read) }];
    let stopped = false;
    for (const inj of sc.inject) {
      const from = ser0.all.length;
      const cmd = inj.startsWith('!') ? inj.slice(1) : `pcie_aer_inject_error ${inj}`;
      const r = await qmp.execute('human-monitor-command', { 'command-line': cmd });
      if (cmd === 'stop') stopped = true;
      if (cmd === 'cont') stopped = false;
      if (!stopped) await settle(ser0);
      const lines = ser0.all.slice(from).map((x) => x.text);
      const t = lines.length ? ktime(lines[0]) : null;
      steps.push({
        cmd, out: r.reply.return,
        lines: lines.map((l) => ({ dt: t === null || ktime(l) === null ? null : Math.round((ktime(l) - t) * 1e6) / 1e6, text: stripK(l) })),
        registers: await readAer(qt, sc.read),
      });
      log(`${cmd}: ${lines.length} lines`);
    }
    await qmp.execute('quit').catch(() => {});
    await qemu.stop(5000);
    const fixture = {
      scenario: name, about: sc.about, recordedWith: 'scripts/record-aer/record-linux.mjs', qemu: env.qemuVersion, kernel: env.kernelVersion,
      argv: [QEMU_BIN, ...argv.map((a) => a.replaceAll(tmp, 'TMP').replace(env.initrd, 'TMP/initramfs.cpio'))],
      devices: sc.devices, bootLines: bootLines.map(stripK), steps,
      note: 'lines: console lines after the command until 2.5 s of quiet, dt = seconds after the first one (kernel timestamps); registers: cmd/status dword, secondary status, AER 0x104..0x134 read through ECAM after settling',
    };
    const file = path.join(REPO, 'fixtures/qemu-7.2-aer', `linux-${name}.json`);
    fs.writeFileSync(file, JSON.stringify(fixture, null, 1) + '\n');
    log(`wrote ${path.relative(REPO, file)}`);
  } catch (e) {
    log(`FAILED: ${e.stack || e}`);
    if (ser0) fs.writeFileSync(path.join(tmp, 'serial.log'), ser0.all.map((r) => r.text).join('\n'));
    log(`kept ${tmp}`);
    throw e;
  } finally {
    for (const c of [ser0, ser1, qmpConn, qt]) if (c) c.close();
    if (qemu.running) { try { qemu.proc.kill('SIGKILL'); } catch { /* gone */ } await qemu.exited; }
  }
}

async function main() {
  const args = process.argv.slice(2);
  if (args.includes('--list')) { for (const [n, s] of Object.entries(SCENARIOS)) console.log(`${n}\t${s.about}`); return; }
  const oi = args.indexOf('--only');
  const names = oi >= 0 ? args[oi + 1].split(',') : Object.keys(SCENARIOS);
  const { kernel, version } = findKernel();
  const mods = moduleClosure(version, 'e1000e') || [];
  const qemuVersion = run(QEMU_BIN, ['--version']).stdout.split('\n')[0];
  const buildTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-aer-initramfs-'));
  try {
    const initrd = buildInitramfs(buildTmp, path.join(HERE, '../record-guest/guest-init.sh'), mods);
    for (const n of names) await recordScenario(n, SCENARIOS[n], { kernel, kernelVersion: version, initrd, qemuVersion });
  } finally {
    fs.rmSync(buildTmp, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
