#!/usr/bin/env node
// Records what real QEMU 7.2 (qemu-system-x86_64, TCG) and a real Debian Linux 6.1 guest
// do around the Standard Hot-Plug Controller of `pci-bridge` / `pcie-pci-bridge`, and
// writes the transcripts to fixtures/qemu-7.2-linux/shpchp-NAME.json.
//
//   node scripts/record-guest/record-shpchp.mjs [--only NAME[,NAME]] [--list] [--out DIR] [--keep-tmp]
//
// Needs (Debian 12): qemu-system-x86 (7.2), linux-image-amd64, busybox-static, cpio.
// Same machinery as record-pciehp.mjs (lib.mjs: QMP client, initramfs builder, dump
// parser); the guest's /init is guest-init.sh with its driver watcher pointed at e1000 (the
// conventional PCI NIC that sits behind a PCI bridge) instead of e1000e. shpchp is built
// into Debian's kernel; `shpchp.shpchp_debug=1` turns on its ctrl_dbg lines (they are
// gated by that module parameter, not by dynamic debug), which print every command.
//
// After every phase the host reads the SHPC working registers (BAR0 of each SHPC bridge,
// from query-pci) with HMP `xp`: reads have no side effect on QEMU's SHPC. The `probe`
// scenario runs no guest at all (-S): the host drives config space itself through
// CF8/CFC with HMP `o`/`i`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, stripK, ktime, qmpTsMs, runScenario, fixtureArgv, writeFixture, recorderMain } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const QEMU_BIN = process.env.QEMU || 'qemu-system-x86_64';
const APPEND = 'console=ttyS0 loglevel=8 printk.devkmsg=on panic=-1 shpchp.shpchp_debug=1';
const NIC = 'e1000';
/** SHPC working register set: 0x24 + 31 * 4 bytes = 40 dwords (hw/pci/shpc.c). */
const SHPC_DWORDS = 40;
const Q35_ACPI_OFF = 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off';
const PIIX4_ACPI_OFF = 'PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off';

/**
 * kind `cycle`: device_add e1000 at bus/addr -> bound -> device_del -> DEVICE_DELETED.
 * kind `pc`: nic1 cold-plugged in slot 1; hot-add nic2 in slot 2 (nobody acknowledges),
 * device_del nic1 twice (a button press nobody answers), device_del nic2 (slot still
 * disabled and off: removed at once), system_reset, the guest reboots.
 * kind `probe`: no guest, see runProbe.
 */
const SCENARIOS = {
  'q35-pcie-pci-bridge': {
    about: 'q35, ACPI bridge hotplug off (_OSC grants SHPC): pcie-root-port rp1 -> pcie-pci-bridge br1; e1000 hot-added at br1 slot 1 and removed; shpchp_debug on',
    machine: 'q35', globals: [Q35_ACPI_OFF], noReboot: true,
    devices: ['pcie-root-port,id=rp1,chassis=1,slot=1', 'pcie-pci-bridge,id=br1,bus=rp1'], kind: 'cycle', bus: 'br1', addr: '1',
  },
  'q35-pci-bridge': {
    about: 'q35, ACPI bridge hotplug off: pci-bridge br1 (chassis_nr 1, shpc=on) on pcie.0; device_add without addr (slot 0 refused), then e1000 at slot 1 added and removed; shpchp_debug on',
    machine: 'q35', globals: [Q35_ACPI_OFF], noReboot: true,
    devices: ['pci-bridge,id=br1,chassis_nr=1,shpc=on'], kind: 'cycle', bus: 'br1', addr: '1', slotZeroProbe: true,
  },
  pc: {
    about: 'pc, ACPI bridge hotplug off: pci-bridge br1 (shpc=on) with e1000 nic1 cold-plugged in slot 1; shpchp cannot get control (no _OSC, no OSHP); hot-add nic2 unanswered, device_del nic1 pending, nic2 removed at once, system_reset',
    machine: 'pc', globals: [PIIX4_ACPI_OFF], noReboot: false,
    devices: ['pci-bridge,id=br1,chassis_nr=1,shpc=on', 'e1000,id=nic1,bus=br1,addr=1'], kind: 'pc', bus: 'br1',
  },
  probe: {
    about: 'q35 (ACPI bridge hotplug off) in -S prelaunch, no guest: config space through CF8/CFC (HMP o/i), BAR0 read with xp: reset values, the DWORD SELECT/DATA window (stale reads, the DATA-write quirk), hot-add into empty slots, multifunction, slot 0 and shpc=off errors, device_del of a cold-plugged device, system_reset',
    machine: 'q35', globals: [Q35_ACPI_OFF], noGuest: true,
    devices: ['pci-bridge,id=br1,chassis_nr=1,shpc=on,addr=1', 'pci-bridge,id=br0,chassis_nr=2,shpc=off,addr=2', 'e1000,id=n3,bus=br1,addr=3'], kind: 'probe',
  },
};

const hex8 = (v) => '0x' + (v >>> 0).toString(16).padStart(8, '0');

/** Every device of query-pci, depth first (devices behind bridges included). */
function pciDevices(buses) {
  const out = [];
  const walk = (devs) => devs.forEach((d) => { out.push(d); if (d.pci_bridge?.devices) walk(d.pci_bridge.devices); });
  for (const bus of buses) walk(bus.devices);
  return out;
}

/** ids of the SHPC bridges among the -device options. */
const bridgeIds = (sc) => sc.devices.filter((d) => /^(pci-bridge|pcie-pci-bridge),/.test(d) && !/shpc=off/.test(d)).map((d) => d.match(/id=([^,]+)/)[1]);

/** The init script: guest-init.sh with its bind watcher following e1000. */
function writeInit(tmp) {
  const file = path.join(tmp, 'init.sh');
  fs.writeFileSync(file, fs.readFileSync(path.join(HERE, 'guest-init.sh'), 'utf8').replaceAll('e1000e', NIC));
  return file;
}

const hmp = async (qmp, line) => String((await qmp.execute('human-monitor-command', { 'command-line': line })).reply.return ?? '');

/** `xp /Nwx ADDR` as an array of dwords. */
async function xpWords(qmp, addr, n = SHPC_DWORDS) {
  const words = [];
  for (const line of (await hmp(qmp, `xp /${n}wx 0x${addr.toString(16)}`)).split(/\r?\n/)) {
    const m = line.match(/^[0-9a-f]+:\s*(.*)$/);
    if (m) for (const w of m[1].trim().split(/\s+/)) words.push(hex8(parseInt(w, 16)));
  }
  return words;
}

/** SHPC working registers of every SHPC bridge, read by the host (BAR0 from query-pci). */
async function shpcRegs(qmp, sc) {
  const out = {};
  for (const d of pciDevices((await qmp.execute('query-pci')).reply.return)) {
    if (!bridgeIds(sc).includes(d.qdev_id)) continue;
    const bar = (d.regions || []).find((r) => r.bar === 0 && r.type === 'memory');
    if (!bar || bar.address < 0 || bar.address >= 2 ** 52) { out[d.qdev_id] = { bar: bar?.address ?? null, words: null }; continue; }
    const words = await xpWords(qmp, bar.address);
    out[d.qdev_id] = { bus: d.bus, slot: d.slot, bar: '0x' + bar.address.toString(16), slot1: words[9], slot2: words[10], serrInt: words[8], intLocator: words[6], words };
  }
  return out;
}

/** Config access to 00:SLOT.0 through CF8/CFC from the monitor (HMP sizes: b 8, h 16, w 32 bits). */
const cfgAddr = (slot, off) => '0x' + ((0x80000000 | (slot << 11) | (off & 0xfc)) >>> 0).toString(16);
const cfgWrite = async (qmp, slot, off, val, size) => {
  await hmp(qmp, `o /w 0xcf8 ${cfgAddr(slot, off)}`);
  await hmp(qmp, `o /${{ 1: 'b', 2: 'h', 4: 'w' }[size]} 0x${(0xcfc + (off & 3)).toString(16)} 0x${val.toString(16)}`);
};
const cfgRead = async (qmp, slot, off) => {
  await hmp(qmp, `o /w 0xcf8 ${cfgAddr(slot, off)}`);
  return hex8(parseInt((await hmp(qmp, 'i /w 0xcfc')).split('=')[1], 16)); // "portl[0x0cfc] = 0x..."

};

/**
 * The guest-less probe. br1 = pci-bridge at 00:01.0, SHPC capability at 0x40 (DWORD SELECT
 * 0x42, DWORD DATA 0x44), BAR0 put at 0xfe000000 by hand.
 */
async function runProbe(qmp, sc, log) {
  const BR = 1, BAR = 0xfe000000, SEL = 0x42, DATA = 0x44;
  const steps = [];
  const step = async (what, extra = {}) => {
    const words = await xpWords(qmp, BAR);
    steps.push({ what, ...extra, cmd: words[5], serrInt: words[8], intLocator: words[6], slots: words.slice(9, 14) });
  };
  const qmpStep = async (what, cmd, args) => {
    const { reply } = await qmp.execute(cmd, args);
    await sleep(200).then(() => step(what, { sent: { execute: cmd, arguments: args }, reply }));
  };
  const windowRead = async (what, select) => {
    if (select !== undefined) await cfgWrite(qmp, BR, SEL, select, 1);
    steps.push({ what, select, data: await cfgRead(qmp, BR, DATA) });
  };
  const mapBar = async () => { for (const [off, v, n] of [[0x10, BAR, 4], [0x14, 0, 4], [0x04, 0x2, 2]]) await cfgWrite(qmp, BR, off, v, n); };
  await mapBar();
  steps.push({ what: 'capability header dword', data: await cfgRead(qmp, BR, 0x40) });
  await step('after first reset (n3 cold-plugged in slot 3)', { all: await xpWords(qmp, BAR) });
  await windowRead('window: DWORD 3 (slot configuration)', 3);
  await windowRead('window: DWORD 10 (slot 2)', 10);
  await qmpStep('device_add e1000 into empty slot 2', 'device_add', { driver: NIC, bus: 'br1', addr: '2', id: 'n2' });
  await windowRead('window: DATA read again without a new SELECT');
  await windowRead('window: SELECT 10 rewritten', 10);
  await qmpStep('device_add without addr (slot 0)', 'device_add', { driver: NIC, bus: 'br1', id: 'n0' });
  await qmpStep('device_add addr=0', 'device_add', { driver: NIC, bus: 'br1', addr: '0', id: 'n0' });
  await qmpStep('device_add on the shpc=off bridge', 'device_add', { driver: NIC, bus: 'br0', addr: '1', id: 'nx' });
  await qmpStep('device_add function 1 of slot 4 first', 'device_add', { driver: NIC, bus: 'br1', addr: '4.1', id: 'f1' });
  await qmpStep('device_add function 0 of slot 4', 'device_add', { driver: NIC, bus: 'br1', addr: '4.0', multifunction: 'on', id: 'f0' });
  await qmpStep('device_del function 1 (slot 4 disabled and off: everything in it goes)', 'device_del', { id: 'f1' });
  await qmpStep('device_del n3 (cold-plugged: enabled, power LED on)', 'device_del', { id: 'n3' });
  await qmpStep('device_del n3 again', 'device_del', { id: 'n3' });
  await qmpStep('device_del n2 (hot-added, never enabled)', 'device_del', { id: 'n2' });
  await qmpStep('device_del n2 again', 'device_del', { id: 'n2' });
  await cfgWrite(qmp, BR, SEL, 5, 1);
  await cfgWrite(qmp, BR, DATA, 0x12345678, 4);
  await step('DWORD DATA written (SELECT 5 = command): QEMU writes working register 0x44 (slot 9) into 0x14');
  await windowRead('window: DATA after the write (SELECT still 5)');
  const reset = await qmp.execute('system_reset');
  steps.push({ what: 'system_reset (n3 still pending): config', reply: reset.reply, command: await cfgRead(qmp, BR, 0x04), capHeader: await cfgRead(qmp, BR, 0x40), data: await cfgRead(qmp, BR, DATA) });
  await mapBar();
  await step('after system_reset, BAR0 mapped again');
  const events = qmp.log.filter((e) => e.dir === 'recv' && e.raw.includes('"event"')).map((e) => JSON.parse(e.raw)).map(({ event, data }) => ({ event, data }));
  return { steps, events };
}

async function runGuest(qmp, sc, ser0, con, opts, log) {
  const { clock, sync, dump, marker: serialMarker } = con;
  const registers = {}, shpc = {}, steps = {}, marks = {};
  const mark = (k) => { marks[k] = { qmp: qmp.log.length, serial: ser0.all.length }; };
  const snapshot = async (tag) => {
    await sync(tag);
    const d = await dump(tag);
    d.slots = d.slots.filter((s) => /^[123](-\d+)?$/.test(s.name)); // QEMU's SHPC has 31; the first three do
    registers[tag] = d;
    shpc[tag] = await shpcRegs(qmp, sc);
  };
  const ready = await serialMarker(/^@@PB READY$/, opts.bootTimeoutS * 1000);
  if (!ready) throw new Error(`guest not ready after ${opts.bootTimeoutS}s`);
  log(`guest ready (guest time ${ktime(ready.text)} s)`);
  await snapshot('boot');
  const event = (name, id, ms, from) => qmp.event(name, (e) => e.data?.device === id, ms, from);
  if (sc.kind === 'cycle') {
    if (sc.slotZeroProbe) steps.slot0 = { reply: (await qmp.execute('device_add', { driver: NIC, bus: sc.bus, id: 'nic0' })).reply };
    mark('add');
    const add = await qmp.execute('device_add', { driver: NIC, bus: sc.bus, addr: sc.addr, id: 'nic1' });
    log(`device_add -> ${add.raw}`);
    if (add.reply.error) throw new Error(`device_add failed: ${add.raw}`);
    const bound = await serialMarker(new RegExp(`^@@PB BOUND \\S+ ${NIC}$`), 60000);
    if (!bound) throw new Error(`${NIC} never bound`);
    await sleep(1500); // the final "power indicator on" command
    await snapshot('added');
    steps.add = { sentMs: add.sentMs, replyHostMs: add.hostMs, reply: add.reply };
    mark('del');
    const del = await qmp.execute('device_del', { id: 'nic1' });
    const deleted = await event('DEVICE_DELETED', 'nic1', 60000, marks.del.qmp);
    if (!deleted) throw new Error('no DEVICE_DELETED');
    log(`DEVICE_DELETED ${deleted.hostMs - del.hostMs} ms after the device_del reply`);
    await sleep(2000); // MRL/presence interrupt after the removal, attention-off command
    await snapshot('deleted');
    steps.del = { sentMs: del.sentMs, replyHostMs: del.hostMs, reply: del.reply, deletedQmpMs: qmpTsMs(deleted.event), deletedHostMs: deleted.hostMs };
    return { clock, registers, shpc, steps, marks, readyIndex: ser0.all.indexOf(ready), phases: [['add', 'added'], ['del', 'deleted']] };
  }
  mark('add');
  const add = await qmp.execute('device_add', { driver: NIC, bus: sc.bus, addr: '2', id: 'nic2' });
  await sleep(7000); // longer than shpchp's 5 s + 1 s, were it bound
  await snapshot('added');
  steps.add = { reply: add.reply, sentMs: add.sentMs, replyHostMs: add.hostMs };
  mark('del');
  const del = await qmp.execute('device_del', { id: 'nic1' });
  await sleep(7000);
  const del2 = await qmp.execute('device_del', { id: 'nic1' });
  await sleep(1000);
  await snapshot('pending');
  steps.del = { reply: del.reply, again: del2.reply, deletedBeforeReset: !!(await event('DEVICE_DELETED', 'nic1', 1, marks.del.qmp)) };
  mark('delNic2');
  const del3 = await qmp.execute('device_del', { id: 'nic2' });
  const gone = await event('DEVICE_DELETED', 'nic2', 5000, marks.delNic2.qmp);
  await sleep(500);
  shpc.nic2Deleted = await shpcRegs(qmp, sc);
  steps.delNic2 = { reply: del3.reply, deleted: !!gone, replyToEventMs: gone ? qmpTsMs(gone.event) - del3.hostMs : null };
  mark('reset');
  const reset = await qmp.execute('system_reset');
  const reboot = await ser0.waitFor((t) => /^@@PB READY$/.test(stripK(t)), opts.bootTimeoutS * 1000);
  if (!reboot) throw new Error('guest did not come back after system_reset');
  marks.rebooted = { qmp: qmp.log.length, serial: ser0.all.indexOf(reboot) };
  await sleep(1000);
  const after = await event('DEVICE_DELETED', 'nic1', 1, marks.reset.qmp);
  log(`DEVICE_DELETED nic1 after system_reset: ${after ? 'yes' : 'no'}`);
  await snapshot('reset');
  steps.reset = { reply: reset.reply, sentMs: reset.sentMs, deletedNic1: !!after, deletedQmpMs: after ? qmpTsMs(after.event) : null };
  return { clock, registers, shpc, steps, marks, readyIndex: ser0.all.indexOf(ready), phases: [['add', 'added'], ['del', 'pending'], ['reset', 'reset']] };
}

/** Serial lines for the fixture: boot chatter filtered, dump artifacts left out; per-phase timelines. */
function serialRecord(ser0, g) {
  const lines = ser0.all.map((r) => r.text), hostMs = ser0.all.map((r) => r.hostMs);
  const portBdfs = Object.keys(g.registers.boot.config);
  const bootKeep = (s) => {
    if (/shpchp|SHPC|_OSC|OSHP|[Hh]ot-?[Pp]lug|acpiphp: ACPI|e1000|Linux version|Command line|@@PB|PCI host bridge/.test(s)) return true;
    const m = s.match(/^pci (\w{4}:(\w\w):\w\w\.\w)/);
    return !!m && (m[2] !== '00' || portBdfs.includes(m[1]));
  };
  // Boot chatter: before the first READY, and between system_reset and the reboot's READY.
  const booting = (i) => i < g.readyIndex || (g.marks.reset && i >= g.marks.reset.serial && i < g.marks.rebooted.serial);
  // The dumps read every slot's sysfs files, which shpchp answers with get_*_status debug lines.
  const skip = new Array(lines.length).fill(false);
  for (let i = 0, open = false; i < lines.length; i++) {
    const s = stripK(lines[i]);
    if (/^@@PB DUMP-BEGIN /.test(s)) open = true;
    skip[i] = /^@@PB (DEV|CFG|SLOT) /.test(s) || (open && /: get_\w+_status: physical_slot = /.test(s)) || (booting(i) && !bootKeep(s));
    if (/^@@PB DUMP-END /.test(s)) open = false;
  }
  const serial = lines.filter((_, i) => !skip[i]);
  const timeline = {};
  for (const [k, tag] of g.phases) {
    const from = g.marks[k].serial;
    const to = lines.findIndex((t, i) => i >= from && stripK(t) === `@@PB DUMP-BEGIN ${tag}`);
    const out = [];
    for (let i = from; i < to; i++) if (!skip[i] && !/^@@PB (DUMP|SYNC)/.test(stripK(lines[i]))) out.push({ guestTime: ktime(lines[i]), hostMs: hostMs[i], line: stripK(lines[i]) });
    const first = out.find((e) => /^shpchp /.test(e.line));
    for (const e of out) e.sinceFirstShpchpMs = first && e.guestTime !== null ? Math.round((e.guestTime - first.guestTime) * 1e6) / 1e3 : null;
    timeline[k] = out;
  }
  return { serial, timeline };
}

/** The QMP log without the recorder's own query-pci / monitor exchanges (results are in `shpc`). */
function qmpRecord(log, marks) {
  const kept = [];
  const remap = new Map();
  for (let i = 0, skipReply = false; i <= log.length; i++) {
    remap.set(i, kept.length);
    const e = log[i];
    if (!e) break;
    if (e.dir === 'send' && /"execute":"(query-pci|human-monitor-command)"/.test(e.raw)) { skipReply = true; continue; }
    if (skipReply && e.dir === 'recv' && /^\{"return"/.test(e.raw)) { skipReply = false; continue; }
    kept.push(e);
  }
  for (const m of Object.values(marks ?? {})) m.qmp = remap.get(m.qmp);
  return kept;
}

function recordScenario(name, sc, env, opts) {
  const argv = ({ sock }) => [
    '-M', sc.machine, '-accel', 'tcg', '-m', '512', '-nodefaults', '-display', 'none', ...(sc.noReboot ? ['-no-reboot'] : []),
    ...(sc.noGuest ? ['-S'] : ['-kernel', env.kernel, '-initrd', env.initrd, '-append', APPEND]),
    ...sc.globals.flatMap((g) => ['-global', g]),
    ...sc.devices.flatMap((d) => ['-device', d]),
    ...(sc.noGuest ? [] : ['ser0', 'ser1'].flatMap((s) => ['-chardev', `socket,id=${s},path=${sock(s)},server=on,wait=off`, '-serial', `chardev:${s}`])),
    '-qmp', `unix:${sock('qmp')},server=on,wait=off`,
  ];
  return runScenario({ name, tmpPrefix: 'pb-shpc', bin: QEMU_BIN, argv, serial: !sc.noGuest, opts }, async ({ tmp, argv, log, qemu, qmp, qmpLog, greeting, ser0, con }) => {
    let body;
    if (sc.noGuest) body = await runProbe(qmp, sc, log);
    else {
      const g = await runGuest(qmp, sc, ser0, con, opts, log);
      const uname = ser0.all.map((r) => stripK(r.text)).find((t) => t.startsWith('@@PB INIT uname='))?.slice('@@PB INIT uname='.length);
      body = { kernel: uname || env.kernelVersion, kernelPackage: env.kernelPackage, append: APPEND, ...serialRecord(ser0, g), clock: g.clock, marks: g.marks, steps: g.steps, registers: g.registers, shpc: g.shpc };
    }
    const quit = await qmp.execute('quit').catch((e) => ({ raw: String(e) })).finally(() => qemu.stop(5000));
    const { marks, ...rest } = body;
    const fixture = {
      scenario: name, about: sc.about, recordedWith: 'scripts/record-guest/record-shpchp.mjs', qemu: env.qemuVersion,
      argv: fixtureArgv(QEMU_BIN, argv, tmp, env),
      greeting, qmp: qmpRecord(qmpLog, marks), ...(marks ? { marks } : {}), ...rest,
      notes: 'serial: boot chatter filtered (kept: shpchp/SHPC/_OSC/OSHP/hotplug/e1000 and pci lines of bridges and non-zero buses); DEV/CFG/SLOT dump lines are decoded in registers; shpchp get_*_status lines caused by the dumps left out. shpc.TAG.BRIDGE.words: the 40 working-register dwords read through HMP xp on BAR0. qmp: the recorder\'s own query-pci and human-monitor-command exchanges left out.',
      qemuStderr: qemu.stderr, quit: quit.raw, exit: qemu.exit,
    };
    return writeFixture(opts.out, `shpchp-${name}`, fixture, log);
  });
}

const main = () => recorderMain({
  script: import.meta.url, scenarios: SCENARIOS, bin: QEMU_BIN, modules: [NIC], init: writeInit, record: recordScenario,
});

main().catch((e) => { console.error(e); process.exit(1); });
