#!/usr/bin/env node
// Records what real QEMU 7.2 (qemu-system-x86_64, TCG) and a real Debian Linux 6.1 guest
// do in ACPI PCI hotplug cycles (device_add -> acpiphp rescan -> driver bound ->
// device_del -> _EJ0 -> DEVICE_DELETED) and writes fixtures/qemu-7.2-linux/acpiphp-NAME.json.
//
//   node scripts/record-guest/record-acpiphp.mjs [--only NAME[,NAME]] [--list] [--out DIR] [--keep-tmp]
//
// Needs (Debian 12): qemu-system-x86 (7.2), linux-image-amd64, busybox-static, cpio,
// acpica-tools (iasl, for the DSDT excerpt). Each scenario boots its own guest (~10-30 s TCG).
// Besides QMP and the console, QEMU's own trace events record every access to the ACPI
// blocks during each phase (`memory_region_ops_read/write` switched on over QMP only
// around the phase), so the fixture holds the real I/O-port order of one cycle.
import fs from 'node:fs';
import path from 'node:path';
import { sleep, stripK, ktime, qmpTsMs, round, runScenario, fixtureArgv, writeFixture, recorderMain } from './lib.mjs';
import { dsdtExcerpt } from './acpiphp-dsdt.mjs';

const QEMU_BIN = process.env.QEMU || 'qemu-system-x86_64';
const BASE_APPEND = 'console=ttyS0 loglevel=8 printk.devkmsg=on panic=-1';
/** acpiphp's pr_debug lines (acpiphp_glue.c / acpiphp_core.c are built in: boot-time dyndbg). */
const DYNDBG = 'dyndbg="file acpiphp_glue.c +p; file acpiphp_core.c +p"';

/**
 * Scenarios: `steps` run in order; an `add` waits for every listed BDF to be bound, a `del`
 * for DEVICE_DELETED of every listed id.
 */
const SCENARIOS = {
  pc: {
    about: '-M pc: e1000 hot-added at pci.0 addr=5 (BSEL 0, S28), then device_del',
    machine: 'pc', devices: [], dsdt: true,
    steps: [
      { op: 'add', args: { driver: 'e1000', bus: 'pci.0', addr: '5', id: 'nic1' }, bound: ['0000:00:05.0'] },
      { op: 'del', id: 'nic1', deleted: ['nic1'] },
    ],
  },
  q35: {
    about: '-M q35 (ACPI hotplug, the 7.2 default): e1000e hot-added into a cold-plugged pcie-root-port, then device_del',
    machine: 'q35', devices: ['pcie-root-port,id=rp1,chassis=1,slot=1'], dsdt: true,
    steps: [
      { op: 'add', args: { driver: 'e1000e', bus: 'rp1', id: 'nic1' }, bound: ['0000:01:00.0'] },
      { op: 'del', id: 'nic1', deleted: ['nic1'] },
    ],
  },
  'pc-bridge': {
    about: '-M pc with a cold-plugged pci-bridge (BSEL 1): e1000 hot-added at br1 addr=1, then device_del',
    machine: 'pc', devices: ['pci-bridge,id=br1,chassis_nr=1,addr=3'], dsdt: true,
    steps: [
      { op: 'add', args: { driver: 'e1000', bus: 'br1', addr: '1', id: 'nic1' }, bound: ['0000:01:01.0'] },
      { op: 'del', id: 'nic1', deleted: ['nic1'] },
    ],
  },
  multifunction: {
    about: '-M pc: e1000 at 6.1 first (the slot scan finds no function 0), then e1000 multifunction=on at 6.0; device_del of 6.0 ejects the slot',
    machine: 'pc', devices: [],
    steps: [
      { op: 'add', args: { driver: 'e1000', bus: 'pci.0', addr: '6.1', id: 'nic1f1' }, bound: [], settleMs: 1500 },
      { op: 'add', args: { driver: 'e1000', bus: 'pci.0', addr: '6.0', multifunction: 'on', id: 'nic1' }, bound: ['0000:00:06.0', '0000:00:06.1'] },
      { op: 'del', id: 'nic1', deleted: ['nic1', 'nic1f1'] },
    ],
  },
};

/** /init for this recorder: guest-init.sh's protocol, watching e1000 and e1000e, plus `dsdt` (`$_{` stands for `${`). */
const INIT = String.raw`#!/bin/sh
export PATH=/bin; /bin/busybox --install -s /bin; mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
K() { echo "$*" > /dev/kmsg; }
K "@@PB INIT uname=$(uname -r)"
for m in $(cat /lib/modules/load.list 2>/dev/null); do insmod "/lib/modules/$m"; K "@@PB INSMOD $m rc=$?"; done
dump() {
  tag="$1"
  K "@@PB DUMP-BEGIN $tag"
  for d in /sys/bus/pci/devices/*; do
    b="$_{d##*/}"
    read -r ven < "$d/vendor"; read -r dev < "$d/device"; read -r cls < "$d/class"
    drv=-; [ -e "$d/driver" ] && drv="$(basename "$(readlink "$d/driver")")"
    K "@@PB DEV $b $ven:$dev $cls $drv"
    case "$cls" in 0x0604*|0x0200*) K "@@PB CFG $b $(od -An -v -tx1 -N256 "$d/config" | tr -d ' \n')" ;; esac
  done
  for s in /sys/bus/pci/slots/*; do
    [ -d "$s" ] || continue
    a=-; p=-; ad=-; at=-; read -r a < "$s/address"; read -r p < "$s/power"; read -r ad < "$s/adapter"; [ -r "$s/attention" ] && read -r at < "$s/attention"
    K "@@PB SLOT $_{s##*/} address=$a power=$p adapter=$ad attention=$at"
  done
  K "@@PB DUMP-END $tag"
}
dsdt() {
  K "@@PB DSDT-BEGIN"
  od -An -v -tx1 /sys/firmware/acpi/tables/DSDT | tr -d ' ' | while read -r l; do K "@@PB HEX $l"; done
  K "@@PB DSDT-END"
}
bound_list() { for d in /sys/bus/pci/drivers/e1000/0000:* /sys/bus/pci/drivers/e1000e/0000:*; do [ -e "$d" ] && echo "$_{d##*/}"; done; }
watch() {
  prev_devs="$(echo /sys/bus/pci/devices/*)"; prev_bound="$(bound_list)"
  while :; do
    devs="$(echo /sys/bus/pci/devices/*)"
    if [ "$devs" != "$prev_devs" ]; then
      for d in $devs; do case " $prev_devs " in *" $d "*) ;; *) K "@@PB PCI+ $_{d##*/}" ;; esac; done
      for d in $prev_devs; do case " $devs " in *" $d "*) ;; *) K "@@PB PCI- $_{d##*/}" ;; esac; done
      prev_devs="$devs"
    fi
    bound="$(bound_list)"
    if [ "$bound" != "$prev_bound" ]; then
      for d in $bound; do case " $(echo $prev_bound) " in *" $d "*) ;; *) K "@@PB BOUND $d" ;; esac; done
      for d in $prev_bound; do case " $(echo $bound) " in *" $d "*) ;; *) K "@@PB UNBOUND $d" ;; esac; done
      prev_bound="$bound"
    fi
    sleep 0.1
  done
}
watch &
exec 3< /dev/ttyS1
stty -echo -icrnl -onlcr icanon < /dev/ttyS1
K "@@PB READY"
while :; do
  if read -r cmd arg <&3; then
    case "$cmd" in
      dump) dump "$arg" ;; dsdt) dsdt ;; sync) K "@@PB SYNC $arg" ;; quit) K "@@PB QUIT"; poweroff -f ;;
      "") ;; *) K "@@PB UNKNOWN $cmd" ;;
    esac
  else sleep 0.2; fi
done
`.replaceAll('$_{', '$' + '{');

/** Memory regions whose accesses are kept from QEMU's trace (ACPI blocks and config cycles). */
const TRACE_KEEP = /^(acpi-|piix4-|pci-conf-|pcie-mmcfg|apm-)/;
/** ACPI-only view of the same trace (what the spec's port sequence talks about). */
const ACPI_REGION = /^(acpi-)/;

/**
 * `memory_region_ops_read cpu 0 mr 0x.. addr 0xafe0 value 0x2 size 1 name 'acpi-gpe0'`
 * (log backend, `pid@sec.usec:` prefix) -> {hostMs, op, region, addr, val, size}.
 */
function parseTrace(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^(?:\d+@(\d+\.\d+):)?memory_region_ops_(read|write) .*addr (0x[0-9a-f]+) value (0x[0-9a-f]+) size (\d+)(?: name '([^']*)')?/);
    if (!m || !TRACE_KEEP.test(m[6] || '')) continue;
    out.push({ hostMs: m[1] ? round(Number(m[1]) * 1000) : null, op: m[2], region: m[6], addr: Number(m[3]), val: Number(m[4]), size: Number(m[5]) });
  }
  return out;
}

/** `pci-conf-idx` write + `pci-conf-data` access pairs as `R|W BB:DD.F OFF SIZE VAL` (type 1 config cycles). */
function configCycles(io) {
  const out = [];
  let addr = 0;
  for (const r of io) {
    if (r.region === 'pci-conf-idx') { if (r.op === 'write' && r.size === 4) addr = r.val; continue; }
    if (r.region !== 'pci-conf-data' || !(addr & 0x80000000)) continue;
    const bus = (addr >> 16) & 0xff; const devfn = (addr >> 8) & 0xff;
    const off = (addr & 0xfc) + (r.addr & 3);
    const bdf = `${bus.toString(16).padStart(2, '0')}:${(devfn >> 3).toString(16).padStart(2, '0')}.${devfn & 7}`;
    out.push(`${r.op === 'read' ? 'R' : 'W'} ${bdf} 0x${off.toString(16).padStart(2, '0')} ${r.size} 0x${r.val.toString(16)}`);
  }
  return out;
}

function recordScenario(name, sc, env, opts) {
  const append = [BASE_APPEND, DYNDBG].join(' ');
  const argv = ({ tmp, sock }) => [
    '-M', sc.machine, '-accel', 'tcg', '-m', '512', '-nodefaults', '-display', 'none', '-no-reboot',
    '-kernel', env.kernel, '-initrd', env.initrd, '-append', append,
    ...sc.devices.flatMap((d) => ['-device', d]),
    '-chardev', `socket,id=ser0,path=${sock('ser0')},server=on,wait=off`, '-serial', 'chardev:ser0',
    '-chardev', `socket,id=ser1,path=${sock('ser1')},server=on,wait=off`, '-serial', 'chardev:ser1',
    '-qmp', `unix:${sock('qmp')},server=on,wait=off`,
    '-D', path.join(tmp, 'trace.log'), '-msg', 'timestamp=on',
  ];
  return runScenario({ name, tmpPrefix: 'pb-acpiphp', bin: QEMU_BIN, argv, opts }, async ({ tmp, argv, log, qemu, qmp, qmpLog, greeting, ser0, ser1, con }) => {
    const traceFile = path.join(tmp, 'trace.log');
    const { clock, marker, sync, dump } = con;
    const ready = await marker(/^@@PB READY$/, opts.bootTimeoutS * 1000);
    if (!ready) throw new Error(`guest not ready; qemu ${JSON.stringify(qemu.exit)} stderr=${qemu.stderr}`);
    log(`guest ready (guest time ${ktime(ready.text)} s)`);
    const readyIndex = ser0.all.indexOf(ready);
    const traceOn = (on) => qmp.execute('trace-event-set-state', { name: 'memory_region_ops_*', enable: on });

    await sync('boot');
    const registers = { boot: await dump('boot') };
    let dsdt = null;
    if (sc.dsdt) {
      ser1.write('dsdt\n');
      if (!(await marker(/^@@PB DSDT-END$/, 60000))) throw new Error('no DSDT dump');
      const hex = ser0.all.map((r) => stripK(r.text)).filter((t) => t.startsWith('@@PB HEX ')).map((t) => t.slice(9)).join('');
      dsdt = dsdtExcerpt(hex, tmp);
      log(`DSDT ${hex.length / 2} bytes, excerpt ${dsdt.excerpt?.length} lines`);
    }

    const phases = [];
    for (const [i, st] of sc.steps.entries()) {
      const tag = `${st.op}${i}`;
      const qmpFrom = qmpLog.length;
      const serFrom = ser0.all.length;
      const traceFrom = fs.existsSync(traceFile) ? fs.statSync(traceFile).size : 0;
      await traceOn(true);
      const cmd = st.op === 'add' ? await qmp.execute('device_add', st.args) : await qmp.execute('device_del', { id: st.id });
      log(`${st.op} -> ${cmd.raw}`);
      if (cmd.reply.error) throw new Error(`${st.op} failed: ${cmd.raw}`);
      const events = [];
      if (st.op === 'add') {
        for (const bdf of st.bound) if (!(await marker(new RegExp(`^@@PB BOUND ${bdf.replace(/\./g, '\\.')}$`), 60000))) throw new Error(`${bdf} never bound`);
      } else {
        for (const id of st.deleted) {
          const ev = await qmp.event('DEVICE_DELETED', (e) => e.data && e.data.device === id, 60000, qmpFrom);
          if (!ev) throw new Error(`no DEVICE_DELETED ${id}`);
          events.push({ id, hostMs: ev.hostMs, qmpMs: qmpTsMs(ev.event) });
        }
      }
      await sleep(st.settleMs ?? 1000);
      await traceOn(false);
      await sync(tag);
      registers[tag] = await dump(tag);
      const traceText = fs.readFileSync(traceFile).subarray(traceFrom).toString('utf8');
      const io = parseTrace(traceText);
      const dumpAt = ser0.all.findIndex((r, j) => j >= serFrom && stripK(r.text) === `@@PB DUMP-BEGIN ${tag}`);
      const lines = ser0.all.slice(serFrom, dumpAt).map((r) => ({ guestTime: ktime(r.text), hostMs: r.hostMs, line: stripK(r.text) }))
        .filter((e) => !/^@@PB (DEV|CFG|SLOT|DUMP|SYNC)/.test(e.line));
      phases.push({
        tag, op: st.op, command: st.op === 'add' ? { execute: 'device_add', arguments: st.args } : { execute: 'device_del', arguments: { id: st.id } },
        sentMs: cmd.sentMs, replyHostMs: cmd.hostMs, qmpFrom, events,
        deviceDeletedAfterReplyMs: events.map((e) => round(e.qmpMs - cmd.hostMs)),
        timeline: lines,
        acpiIo: io.filter((r) => ACPI_REGION.test(r.region)),
        config: configCycles(io),
      });
    }
    const uname = (ser0.all.map((r) => stripK(r.text)).find((t) => t.startsWith('@@PB INIT uname=')) || '').slice(16);
    const quit = await qmp.execute('quit').catch((e) => ({ error: String(e) }));
    await qemu.stop(5000);
    const bootKeep = (t) => /acpiphp|ACPI: .*GPE|_OSC|PCI: Using|Linux version|Command line|PCI host bridge|SCI|shpchp|pciehp|@@PB INIT/.test(stripK(t));
    const serial = ser0.all.filter((r, i) => (i < readyIndex ? bootKeep(r.text) : !/^@@PB (DEV|CFG|SLOT|HEX) /.test(stripK(r.text)))).map((r) => r.text);
    const fixture = {
      scenario: name, about: sc.about, recordedWith: 'scripts/record-guest/record-acpiphp.mjs',
      qemu: env.qemuVersion, kernel: uname || env.kernelVersion, kernelPackage: env.kernelPackage,
      argv: fixtureArgv(QEMU_BIN, argv, tmp, env),
      append, devices: sc.devices, greeting, qmp: qmpLog, clock, phases, registers, dsdt, serial,
      notes: {
        config: 'config cycles (0xcf8/0xcfc, both machines use type 1 here) from the same trace, in order.',
        acpiIo: 'QEMU trace memory_region_ops_read/write of the acpi-* regions (pcihp block, GPE0, PM1) from just before the QMP command until ~1 s after the phase completed; hostMs is QEMU\'s log timestamp (wall clock, ms).',
        timeline: 'console lines of the phase with printk time (s) and host receive time; @@PB BOUND/UNBOUND/PCI+/PCI- come from a 100 ms sysfs poll.',
        serial: 'boot lines before @@PB READY are filtered to ACPI/hotplug ones; later lines kept except dump/hex lines.',
      },
      qemuStderr: qemu.stderr, quit: quit.raw || quit.error, exit: qemu.exit,
    };
    return writeFixture(opts.out, `acpiphp-${name}`, fixture, log);
  });
}

function main() {
  const init = (buildTmp) => {
    const file = path.join(buildTmp, 'init.sh');
    fs.writeFileSync(file, INIT);
    return file;
  };
  return recorderMain({ script: import.meta.url, scenarios: SCENARIOS, bin: QEMU_BIN, modules: ['e1000', 'e1000e'], init, record: recordScenario });
}

main().catch((e) => { console.error(e); process.exit(1); });
