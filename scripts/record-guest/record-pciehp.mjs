#!/usr/bin/env node
// Records what real QEMU 7.2 (qemu-system-x86_64, TCG) and a real Debian Linux 6.1 guest
// do in one PCIe native hotplug cycle (device_add e1000e -> driver bound -> device_del ->
// DEVICE_DELETED), and writes the transcript to fixtures/qemu-7.2-linux/pciehp-NAME.json.
//
//   node scripts/record-guest/record-pciehp.mjs [--only NAME[,NAME]] [--list] [--out DIR] [--keep-tmp]
//
// Needs (Debian 12): qemu-system-x86 (7.2), linux-image-amd64, busybox-static, cpio.
// The kernel comes from /boot (newest vmlinuz-*, or $PLUGBOARD_KERNEL); the initramfs is
// built at run time into a temp dir and deleted afterwards; nothing binary is written
// into the repository. Scenarios run one after another; each boots its own guest
// (30-90 s under TCG).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  sleep, stripK, ktime, qmpTsMs, round, runScenario, fixtureArgv, writeFixture, recorderMain,
} from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const QEMU_BIN = process.env.QEMU || 'qemu-system-x86_64';

const BASE_APPEND = 'console=ttyS0 loglevel=8 printk.devkmsg=on panic=-1';
const NIC = { driver: 'e1000e', id: 'nic1' };

/** Each scenario boots one guest and runs one add/del cycle of NIC on `bus`. */
const SCENARIOS = {
  'root-port': {
    about: 'pcie-root-port (chassis 1, slot 1) on pcie.0; e1000e hot-added below it',
    devices: ['pcie-root-port,id=rp1,chassis=1,slot=1'],
    bus: 'rp1',
  },
  'root-port-dyndbg': {
    about: 'same as root-port, with pciehp dynamic debug on (register-level ctrl_dbg lines)',
    devices: ['pcie-root-port,id=rp1,chassis=1,slot=1'],
    bus: 'rp1',
    append: 'dyndbg="module pciehp +p"',
  },
  switch: {
    about: 'pcie-root-port rp1 -> x3130-upstream up1 -> xio3130-downstream dp1 (chassis 2, slot 2); e1000e hot-added below dp1',
    devices: [
      'pcie-root-port,id=rp1,chassis=1,slot=1',
      'x3130-upstream,id=up1,bus=rp1',
      'xio3130-downstream,id=dp1,bus=up1,chassis=2,slot=2',
    ],
    bus: 'dp1',
  },
  multifunction: {
    about: 'two ioh3420 root ports as functions 0 and 1 of slot 9 (chassis 0/1, slot 0 both); e1000e hot-added below function 1',
    devices: [
      'ioh3420,multifunction=on,bus=pcie.0,id=port9-0,addr=9.0,chassis=0',
      'ioh3420,bus=pcie.0,id=port9-1,addr=9.1,chassis=1',
    ],
    bus: 'port9-1',
  },
  'multifunction-fn0': {
    about: 'same two ioh3420 root ports as multifunction; e1000e hot-added below function 0',
    devices: [
      'ioh3420,multifunction=on,bus=pcie.0,id=port9-0,addr=9.0,chassis=0',
      'ioh3420,bus=pcie.0,id=port9-1,addr=9.1,chassis=1',
    ],
    bus: 'port9-0',
  },
};

function recordScenario(name, sc, env, opts) {
  const append = [BASE_APPEND, sc.append].filter(Boolean).join(' ');
  const argv = ({ sock }) => [
    '-M', 'q35', '-accel', 'tcg', '-m', '512', '-nodefaults', '-display', 'none', '-no-reboot',
    '-kernel', env.kernel, '-initrd', env.initrd, '-append', append,
    '-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off',
    ...sc.devices.flatMap((d) => ['-device', d]),
    '-chardev', `socket,id=ser0,path=${sock('ser0')},server=on,wait=off`, '-serial', 'chardev:ser0',
    '-chardev', `socket,id=ser1,path=${sock('ser1')},server=on,wait=off`, '-serial', 'chardev:ser1',
    '-qmp', `unix:${sock('qmp')},server=on,wait=off`,
  ];
  return runScenario({ name, tmpPrefix: 'pb-guest', bin: QEMU_BIN, argv, opts }, async ({ tmp, argv, log, qemu, qmp, qmpLog, greeting, ser0, con }) => {
    const { clock, sync, dump, marker: serialMarker } = con;
    const ready = await serialMarker(/^@@PB READY$/, opts.bootTimeoutS * 1000);
    if (!ready) throw new Error(`guest not ready after ${opts.bootTimeoutS}s; qemu ${JSON.stringify(qemu.exit)} stderr=${qemu.stderr}`);
    log(`guest ready (guest time ${ktime(ready.text)} s)`);
    const readyIndex = ser0.all.indexOf(ready);

    await sync('boot');
    const regBoot = await dump('boot');
    log('boot registers dumped');

    // ---- device_add ----
    const qmpAddIndex = qmpLog.length;
    const serAddIndex = ser0.all.length;
    const add = await qmp.execute('device_add', { driver: NIC.driver, bus: sc.bus, id: NIC.id });
    log(`device_add -> ${add.raw}`);
    if (add.reply.error) throw new Error(`device_add failed: ${add.raw}`);
    const bound = await serialMarker(/^@@PB BOUND \S+ e1000e$/, 60000);
    if (!bound) throw new Error('e1000e never bound');
    log(`e1000e bound: ${stripK(bound.text)}`);
    await sleep(1500); // let pciehp's final "power indicator on" command land
    await sync('added');
    const regAdded = await dump('added');
    log('added registers dumped');

    // ---- device_del ----
    const qmpDelIndex = qmpLog.length;
    const serDelIndex = ser0.all.length;
    const del = await qmp.execute('device_del', { id: NIC.id });
    log(`device_del -> ${del.raw}`);
    if (del.reply.error) throw new Error(`device_del failed: ${del.raw}`);
    const deleted = await qmp.event('DEVICE_DELETED', (e) => e.data && e.data.device === NIC.id, 60000, qmpDelIndex);
    if (!deleted) throw new Error('no DEVICE_DELETED');
    log(`DEVICE_DELETED after ${deleted.hostMs - del.hostMs} ms (host)`);
    await sleep(2000); // PDC/CC interrupt after the removal, guest device-list watcher
    await sync('deleted');
    const regDeleted = await dump('deleted');
    log('deleted registers dumped');

    const uname = (ser0.all.map((r) => stripK(r.text)).find((t) => t.startsWith('@@PB INIT uname=')) || '').slice('@@PB INIT uname='.length);
    const quit = await qmp.execute('quit').catch((e) => ({ error: String(e) }));
    await qemu.stop(5000);
    await sleep(100);

    // ---- assemble ----
    const allLines = ser0.all.map((r) => r.text);
    const allHostMs = ser0.all.map((r) => r.hostMs);
    const portBdfs = Object.keys(regBoot.config);
    const isDumpLine = (t) => /^@@PB (DEV|CFG|SLOT) /.test(stripK(t));
    const bootKeep = (t) => {
      const s = stripK(t);
      if (/pciehp|pcieport|e1000e|_OSC|[Hh]ot-?[Pp]lug|acpiphp|shpchp|Linux version|Command line|@@PB INIT|@@PB INSMOD|PCI host bridge/.test(s)) return true;
      const m = s.match(/^pci (\w{4}:(\w\w):\w\w\.\w)/);
      if (m) return m[2] !== '00' || portBdfs.includes(m[1]);
      return false;
    };
    const serial = [];
    const serialHostMs = [];
    allLines.forEach((t, i) => {
      if ((i < readyIndex && bootKeep(t)) || (i >= readyIndex && !isDumpLine(t))) {
        serial.push(t); serialHostMs.push(allHostMs[i]);
      }
    });

    // guest-side timeline of each phase, relative to the first pciehp line of the phase
    const phase = (from, to) => {
      const out = [];
      for (let i = from; i < to; i++) {
        const t = allLines[i];
        const s = stripK(t);
        if (isDumpLine(t) || /^@@PB (DUMP|SYNC)/.test(s)) continue;
        out.push({ guestTime: ktime(t), hostMs: allHostMs[i], line: s });
      }
      const first = out.find((e) => /pciehp/.test(e.line));
      for (const e of out) e.sinceFirstPciehpMs = first ? round((e.guestTime - first.guestTime) * 1000) : null;
      return out;
    };
    const addEnd = allLines.findIndex((t, i) => i >= serAddIndex && /^@@PB DUMP-BEGIN added$/.test(stripK(t)));
    const delEnd = allLines.findIndex((t, i) => i >= serDelIndex && /^@@PB DUMP-BEGIN deleted$/.test(stripK(t)));
    const addTimeline = phase(serAddIndex, addEnd);
    const delTimeline = phase(serDelIndex, delEnd);

    // guest clock -> host clock: offset from the sync round trips (midpoint)
    const offsets = clock.map((c) => (c.hostSendMs + c.hostRecvMs) / 2 - c.guestTime * 1000);
    const guestToHost = (g) => (g === null ? null : g * 1000 + offsets[offsets.length - 1]);
    const at = (tl, re) => { const e = tl.find((x) => re.test(x.line)); return e ? e.guestTime : null; };
    const ms = (a, b) => (a === null || b === null ? null : round((b - a) * 1000));

    const delEv = deleted.event;
    const gAbpDel = at(delTimeline, /pciehp: Slot\(.*\): Attention button pressed/);
    const gPowerOffMsg = at(delTimeline, /Powering off due to button press/);
    const gUnbound = at(delTimeline, /^@@PB UNBOUND/);
    const gPciMinus = at(delTimeline, /^@@PB PCI- /);
    const gPccWrite = at(delTimeline, /SLOTCTRL \w+ write cmd 400\b/);
    const gPicOffWrite = at(delTimeline, /SLOTCTRL \w+ write cmd 300\b/);
    const gUnconfigure = at(delTimeline, /pciehp_unconfigure_device/);
    const gRemovedPhc = at(delTimeline, /^e1000e .*removed PHC/);
    const gAbpAdd = at(addTimeline, /pciehp: Slot\(.*\): Attention button pressed/);
    const gLinkUp = at(addTimeline, /Link Up/);
    const gPowerOnWrite = at(addTimeline, /pciehp_power_on_slot: SLOTCTRL \w+ write cmd 0\b/);
    const gCheckLink = at(addTimeline, /pciehp_check_link_status/);
    const gPicOnWrite = at(addTimeline, /SLOTCTRL \w+ write cmd 1c0\b/);
    const spacing = {
      // host wall clock and QMP timestamps are the same clock (gettimeofday) on this host
      device_add_sent_to_reply_hostMs: add.hostMs - add.sentMs,
      device_del_sent_to_reply_hostMs: del.hostMs - del.sentMs,
      device_del_to_DEVICE_DELETED_ms_by_qmp_timestamps: round(qmpTsMs(delEv) - del.hostMs),
      device_del_sent_to_DEVICE_DELETED_qmp_timestamp_ms: round(qmpTsMs(delEv) - del.sentMs),
      device_del_reply_to_DEVICE_DELETED_hostMs: deleted.hostMs - del.hostMs,
      guest: {
        add: {
          attention_button_to_powering_on_ms: ms(gAbpAdd, at(addTimeline, /Powering on due to button press/)),
          attention_button_to_card_present_ms: ms(gAbpAdd, at(addTimeline, /Card present/)),
          attention_button_to_link_up_ms: ms(gAbpAdd, at(addTimeline, /Link Up/)),
          attention_button_to_first_pci_scan_line_ms: ms(gAbpAdd, at(addTimeline, /^pci \w{4}:\w\w:00\.0: \[/)),
          attention_button_to_first_e1000e_line_ms: ms(gAbpAdd, at(addTimeline, /^e1000e /)),
          attention_button_to_bound_marker_ms: ms(gAbpAdd, at(addTimeline, /^@@PB BOUND/)),
          power_on_write_to_link_check_ms: ms(gPowerOnWrite, gCheckLink),
          link_up_to_first_pci_scan_line_ms: ms(gLinkUp, at(addTimeline, /^pci \w{4}:\w\w:00\.0: \[/)),
          attention_button_to_pic_on_write_ms: ms(gAbpAdd, gPicOnWrite),
          device_add_reply_to_attention_button_ms_est: gAbpAdd === null ? null : round(guestToHost(gAbpAdd) - add.hostMs),
        },
        del: {
          device_del_reply_to_attention_button_ms_est: gAbpDel === null ? null : round(guestToHost(gAbpDel) - del.hostMs),
          attention_button_to_powering_off_ms: ms(gAbpDel, gPowerOffMsg),
          attention_button_to_unconfigure_ms: ms(gAbpDel, gUnconfigure),
          attention_button_to_e1000e_removed_ms: ms(gAbpDel, gRemovedPhc),
          attention_button_to_unbound_marker_ms: ms(gAbpDel, gUnbound),
          attention_button_to_pci_removed_marker_ms: ms(gAbpDel, gPciMinus),
          attention_button_to_pcc_off_write_ms: ms(gAbpDel, gPccWrite),
          attention_button_to_pic_off_write_ms: ms(gAbpDel, gPicOffWrite),
          pcc_off_write_to_pic_off_write_ms: ms(gPccWrite, gPicOffWrite),
          pic_off_write_to_DEVICE_DELETED_ms_est: gPicOffWrite === null ? null : round(qmpTsMs(delEv) - guestToHost(gPicOffWrite)),
          attention_button_to_DEVICE_DELETED_ms_est: gAbpDel === null ? null : round(qmpTsMs(delEv) - guestToHost(gAbpDel)),
        },
      },
    };
    const spacingNotes = {
      device_del_to_DEVICE_DELETED_ms_by_qmp_timestamps: 'QMP replies carry no timestamp: DEVICE_DELETED.timestamp minus the host wall-clock time the device_del reply was received (same clock).',
      guest: 'from the kernel printk timestamps on the serial console; *_est values map guest time to host time with the offset measured by the last sync marker round trip (+-few ms). @@PB BOUND/UNBOUND/PCI-/PCI+ markers come from a 100 ms sysfs poll.',
      pcc_off_write: 'only in dyndbg recordings: the "SLOTCTRL .. write cmd 400" debug line (PCC=1) and "write cmd 300" (PIC=off); the same for unconfigure, power_on_write (cmd 0), link_check (pciehp_check_link_status) and pic_on_write (cmd 1c0). pciehp prints these lines after the write (after the completion wait for power on/off).',
    };

    const fixture = {
      scenario: name,
      about: sc.about,
      recordedWith: 'scripts/record-guest/record-pciehp.mjs',
      qemu: env.qemuVersion,
      kernel: uname || env.kernelVersion,
      kernelPackage: env.kernelPackage,
      argv: fixtureArgv(QEMU_BIN, argv, tmp, env),
      append,
      bus: sc.bus,
      device: { driver: NIC.driver, id: NIC.id },
      greeting,
      qmp: qmpLog,
      phases: {
        add: { qmpFrom: qmpAddIndex, sentMs: add.sentMs, replyHostMs: add.hostMs },
        del: { qmpFrom: qmpDelIndex, sentMs: del.sentMs, replyHostMs: del.hostMs, deletedHostMs: deleted.hostMs, deletedQmpMs: qmpTsMs(delEv) },
      },
      clock,
      spacing,
      spacingNotes,
      timeline: { add: addTimeline, del: delTimeline },
      registers: { boot: regBoot, added: regAdded, deleted: regDeleted },
      serial,
      serialHostMs,
      serialNote: 'boot lines before the @@PB READY marker are filtered (pciehp/pcieport/e1000e/_OSC/hotplug, and pci lines of the ports and non-zero buses); every line after it is kept except the DEV/CFG/SLOT dump lines (decoded in registers).',
      qemuStderr: qemu.stderr,
      quit: quit.raw || quit.error,
      exit: qemu.exit,
    };
    return writeFixture(opts.out, `pciehp-${name}`, fixture, log);
  });
}

const main = () => recorderMain({
  script: import.meta.url, scenarios: SCENARIOS, bin: QEMU_BIN, modules: ['e1000e'],
  init: () => path.join(HERE, 'guest-init.sh'), record: recordScenario,
});

main().catch((e) => { console.error(e); process.exit(1); });
