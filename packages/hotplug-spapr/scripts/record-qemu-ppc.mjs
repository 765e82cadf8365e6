#!/usr/bin/env node
// Records what QEMU 7.2's qemu-system-ppc64 (Debian 12) does for sPAPR hotplug, for the tests
// of @plugboard/hotplug-spapr, into fixtures/qemu-7.2-ppc/:
//   NAME.json      QMP transcripts (same format as scripts/record-qemu-fixtures.mjs, whose
//                  Session class is reused): DRCs in the QOM tree, device_add/device_del on
//                  the PHB, bridges, PHB / CPU core / DIMM hotplug, with no guest OS running.
//   dtb-NAME.json  `-machine dumpdtb=FILE` for a command line: {argv, dts, dtb (base64)},
//                  dts as `dtc -I dtb -O dts` prints it.
//
//   node packages/hotplug-spapr/scripts/record-qemu-ppc.mjs [--only NAME[,NAME...]] [--list]
//
// Needs qemu-system-ppc64 and dtc on PATH. The guest side of the flows (rtas_errd, drmgr,
// the kernel's DLPAR code) cannot be recorded here: there is no pseries guest image; those
// sequences come from shared/spec/guest-spapr.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from '../../../scripts/qemu-record/session.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const OUT_DIR = path.resolve(here, '..', '..', '..', 'fixtures', 'qemu-7.2-ppc');
const PPC = 'qemu-system-ppc64';
const SETTLE = { settle: 300 };

function versionLine() {
  return execFileSync(PPC, ['-version'], { encoding: 'utf8' }).split('\n')[0];
}

/** qom-get of every listed property of `path`. */
async function getAll(s, p, props) {
  for (const property of props) await s.x('qom-get', { path: p, property });
}

const DRC_PROPS = ['type', 'id', 'index', 'fdt', 'realized', 'hotplugged', 'hotpluggable', 'parent_bus'];

const scenarios = [
  {
    name: 'drc-qom', args: ['-M', 'pseries', '-nodefaults'],
    async run(s) {
      await s.x('qom-list', { path: '/dr-connector' });
      for (const a of ['40000020', '2000000a', '10000000', '400000ff']) {
        await s.x('qom-list', { path: `/dr-connector/${a}` });
        await getAll(s, `/dr-connector/${a}`, DRC_PROPS);
      }
      await s.x('qom-get', { path: '/dr-connector', property: '40000020' });
      await s.x('qom-list', { path: '/machine/dr-connector[536870912]' });
      await s.x('qom-list', { path: '/machine/dr-connector[268435456]' });
      await s.x('qom-list', { path: '/machine/unattached/device[4]/dr-connector[1073741856]' });
      await s.x('qom-list-types', { implements: 'spapr-dr-connector', abstract: true });
      await s.x('device_add', { driver: 'e1000', id: 'n1', addr: '4' }, SETTLE);
      await s.x('qom-list', { path: '/dr-connector/40000020' });
      await getAll(s, '/dr-connector/40000020', ['device', 'fdt']);
      await s.x('device_del', { id: 'n1' }, { ...SETTLE, note: 'hot-added, never configured: released at once' });
      await s.x('device_del', { id: 'n1' }, { note: 'repeat' });
      await s.x('qom-list', { path: '/dr-connector/40000020' });
    },
  },
  {
    name: 'pci-errors', args: ['-M', 'pseries', '-nodefaults', '-device', 'e1000,id=c3,addr=3'],
    async run(s) {
      const add = (args, note) => s.x('device_add', args, { ...SETTLE, note });
      await add({ driver: 'e1000', id: 'n4', addr: '4' }, 'free slot');
      await add({ driver: 'e1000', id: 'dup', addr: '4' }, 'DRC already has a device');
      await add({ driver: 'e1000', id: 'f41', addr: '4.1' }, 'function > 0 after function 0');
      await add({ driver: 'e1000', id: 'f81', addr: '8.1' }, 'function 1 before function 0');
      await add({ driver: 'e1000', id: 'f80', addr: '8.0', multifunction: 'on' }, 'function 0 of a multifunction slot');
      await add({ driver: 'pci-bridge', id: 'nochassis' }, 'bridge without chassis_nr');
      await add({ driver: 'pci-bridge', id: 'br1', chassis_nr: 3, addr: '6' }, 'bridge');
      await add({ driver: 'pci-bridge', id: 'br2', chassis_nr: 3, addr: '7' }, 'duplicate chassis_nr');
      await add({ driver: 'e1000', id: 'nb', bus: 'br1', addr: '2' }, 'behind the bridge');
      await s.x('qom-list', { path: '/machine/peripheral/br1' });
      await getAll(s, '/dr-connector/40000310', ['id', 'index', 'device']);
      await s.x('qom-list', { path: '/dr-connector/40000310' });
      await s.x('device_del', { id: 'br1' }, { ...SETTLE, note: 'bridge unplug' });
      await s.x('device_del', { id: 'c3' }, { ...SETTLE, note: 'cold-plugged: CONFIGURED, waits for the guest' });
      await s.x('device_del', { id: 'c3' }, { ...SETTLE, note: 'repeat while pending' });
      await s.x('device_del', { id: 'f81' }, { ...SETTLE, note: 'function 1 only' });
      await s.x('device_del', { id: 'f80' }, { ...SETTLE, note: 'function 0' });
      await s.x('device_del', { id: 'nb' }, SETTLE);
      await s.x('qom-list', { path: '/machine/peripheral' });
      await s.x('system_reset', undefined, { settle: 1000, note: 'completes pending unplugs' });
      await s.x('qom-list', { path: '/machine/peripheral' });
    },
  },
  {
    name: 'reset-order', args: ['-M', 'pseries', '-nodefaults',
      '-device', 'e1000,id=c1,addr=1', '-device', 'e1000,id=c2,addr=2', '-device', 'virtio-net-pci,id=c3,addr=3',
      '-device', 'e1000,id=c9,addr=9', '-device', 'e1000,id=c17,addr=0x11', '-device', 'e1000,id=c30,addr=0x1e'],
    async run(s) {
      for (const id of ['c30', 'c1', 'c17', 'c3', 'c2', 'c9']) await s.x('device_del', { id }, SETTLE);
      await s.x('system_reset', undefined, { settle: 1500, note: 'DEVICE_DELETED in /dr-connector hash order' });
    },
  },
  {
    name: 'dr-off', args: ['-M', 'pseries', '-nodefaults', '-global', 'spapr-pci-host-bridge.dynamic-reconfiguration=off', '-device', 'e1000,id=c3,addr=3'],
    async run(s) {
      await s.x('device_add', { driver: 'e1000', id: 'n4', addr: '4' }, SETTLE);
      await s.x('device_del', { id: 'c3' }, SETTLE);
      await s.x('qom-list', { path: '/dr-connector' });
    },
  },
  {
    name: 'phb', args: ['-M', 'pseries', '-nodefaults'],
    async run(s) {
      await s.x('device_add', { driver: 'spapr-pci-host-bridge', index: 1, id: 'phb1' }, SETTLE);
      await s.x('device_add', { driver: 'spapr-pci-host-bridge', index: 1, id: 'phb1b' }, { ...SETTLE, note: 'duplicate index' });
      await s.x('device_add', { driver: 'spapr-pci-host-bridge', id: 'phbx' }, { ...SETTLE, note: 'no index' });
      await s.x('device_add', { driver: 'spapr-pci-host-bridge', index: 31, id: 'phb31' }, { ...SETTLE, note: 'index too large' });
      await s.x('qom-list', { path: '/machine/peripheral/phb1' });
      await getAll(s, '/dr-connector/20000001', ['id', 'index', 'device', 'fdt']);
      await s.x('query-pci');
      await s.x('device_add', { driver: 'e1000', id: 'p1n', bus: 'phb1.0', addr: '2' }, SETTLE);
      await s.x('qom-get', { path: '/machine/peripheral/p1n', property: 'parent_bus' });
      await s.x('device_del', { id: 'p1n' }, SETTLE);
      await s.x('device_del', { id: 'phb1' }, { settle: 1500, note: 'hot-added PHB, DRC still unusable: released at once' });
      await s.x('device_del', { id: 'phb1' }, { note: 'repeat' });
      await s.x('qom-list', { path: '/machine/peripheral' });
    },
  },
  {
    name: 'phb-cold', args: ['-M', 'pseries', '-nodefaults', '-device', 'spapr-pci-host-bridge,index=2,id=phb2', '-device', 'e1000,id=n2,bus=phb2.0,addr=3'],
    async run(s) {
      await s.x('device_del', { id: 'phb2' }, { ...SETTLE, note: 'configured PHB: waits for the guest' });
      await s.x('device_del', { id: 'phb2' }, { ...SETTLE, note: 'repeat' });
      await s.x('system_reset', undefined, { settle: 1500, note: 'releases the PHB' });
      await s.x('qom-list', { path: '/machine/peripheral' });
    },
  },
  {
    name: 'cpu', args: ['-M', 'pseries', '-nodefaults', '-smp', '1,maxcpus=4'],
    async run(s) {
      await s.x('query-hotpluggable-cpus');
      await s.x('device-list-properties', { typename: 'power9_v2.0-spapr-cpu-core' });
      await s.x('device_add', { driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1' }, SETTLE);
      await s.x('device_add', { driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1b' }, { ...SETTLE, note: 'core-id in use' });
      await s.x('device_add', { driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 5, id: 'core5' }, { ...SETTLE, note: 'core-id beyond maxcpus' });
      await s.x('device_add', { driver: 'power9_v2.0-spapr-cpu-core', id: 'corex' }, { ...SETTLE, note: 'no core-id' });
      await s.x('device_add', { driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 2, id: 'core2' }, SETTLE);
      await s.x('query-hotpluggable-cpus');
      await s.x('qom-list', { path: '/machine/peripheral/core1' });
      await getAll(s, '/dr-connector/10000001', ['id', 'index', 'device', 'fdt']);
      await s.x('qom-list', { path: '/dr-connector/10000001' });
      await s.x('device_del', { id: 'core1' }, { ...SETTLE, note: 'hot-added, never acquired: released at once' });
      await s.x('device_del', { id: 'core1' }, { note: 'repeat' });
      await s.x('device_del', { id: '/machine/unattached/device[1]' }, { ...SETTLE, note: 'boot core' });
      await s.x('query-hotpluggable-cpus');
    },
  },
  {
    name: 'cpu-cold', args: ['-M', 'pseries', '-nodefaults', '-smp', '1,maxcpus=4', '-device', 'power9_v2.0-spapr-cpu-core,core-id=3,id=core3'],
    async run(s) {
      await s.x('device_del', { id: 'core3' }, { ...SETTLE, note: 'configured core: waits for the guest' });
      await s.x('device_del', { id: 'core3' }, { ...SETTLE, note: 'repeat' });
      await s.x('system_reset', undefined, { settle: 1500 });
      await s.x('qom-list', { path: '/machine/peripheral' });
    },
  },
  {
    name: 'mem', args: ['-M', 'pseries', '-nodefaults', '-m', '1G,slots=4,maxmem=2G'],
    async run(s) {
      await s.x('object-add', { 'qom-type': 'memory-backend-ram', id: 'mem1', size: 268435456 });
      await s.x('object-add', { 'qom-type': 'memory-backend-ram', id: 'mem2', size: 536870912 });
      await s.x('object-add', { 'qom-type': 'memory-backend-ram', id: 'odd', size: 134217728 });
      await s.x('device-list-properties', { typename: 'pc-dimm' });
      await s.x('device_add', { driver: 'pc-dimm', id: 'dimm1', memdev: 'mem1' }, SETTLE);
      await s.x('device_add', { driver: 'pc-dimm', id: 'dimmodd', memdev: 'odd' }, { ...SETTLE, note: 'not a multiple of the LMB size' });
      await s.x('device_add', { driver: 'pc-dimm', id: 'dimmx' }, { ...SETTLE, note: 'no memdev' });
      await s.x('device_add', { driver: 'pc-dimm', id: 'dimm2', memdev: 'mem2' }, SETTLE);
      await s.x('device_add', { driver: 'pc-dimm', id: 'dimm1b', memdev: 'mem1' }, { ...SETTLE, note: 'backend in use' });
      await s.x('query-memory-devices');
      await inspect(s, '/machine/peripheral/dimm1', ['addr', 'slot', 'node', 'size', 'memdev']);
      await getAll(s, '/dr-connector/80000004', ['id', 'index', 'device', 'fdt']);
      await s.x('device_del', { id: 'dimm1' }, { ...SETTLE, note: 'hot-added, never acquired: released at once' });
      await s.x('device_del', { id: 'dimm1' }, { note: 'repeat' });
      await s.x('device_del', { id: 'dimm2' }, SETTLE);
      await s.x('query-memory-devices');
      await s.x('object-del', { id: 'mem1' });
    },
  },
  {
    name: 'mem-cold', args: ['-M', 'pseries', '-nodefaults', '-m', '1G,slots=4,maxmem=2G', '-object', 'memory-backend-ram,id=m0,size=512M', '-device', 'pc-dimm,id=d0,memdev=m0'],
    async run(s) {
      await s.x('query-memory-devices');
      await s.x('device_del', { id: 'd0' }, { ...SETTLE, note: 'configured LMBs: waits for the guest' });
      await s.x('device_del', { id: 'd0' }, { ...SETTLE, note: 'repeat' });
      await s.x('system_reset', undefined, { settle: 1500 });
      await s.x('query-memory-devices');
    },
  },
  {
    // A PHB carrying a pci-bridge with a function behind it, all hot-added in prelaunch: the
    // PHB's DRC is still unusable, so device_del releases the whole tree at once. The order of
    // DEVICE_DELETED (the bridge's slot connectors, the bridge's own connector, the PHB's other
    // connectors, functions, TCE tables, the PHB) is what Plugboard must reproduce.
    name: 'phb-bridge', args: ['-M', 'pseries', '-nodefaults'],
    async run(s) {
      await s.x('device_add', { driver: 'spapr-pci-host-bridge', index: 1, id: 'phb1' }, SETTLE);
      await s.x('device_add', { driver: 'pci-bridge', id: 'br1', chassis_nr: 5, bus: 'phb1.0', addr: '2' }, SETTLE);
      await s.x('device_add', { driver: 'e1000', id: 'nb', bus: 'br1', addr: '3' }, SETTLE);
      await s.x('device_del', { id: 'phb1' }, { settle: 1500, note: 'hot-added PHB with a bridge: released at once' });
      await s.x('qom-list', { path: '/machine/peripheral' });
    },
  },
  {
    // The same tree cold-plugged: the PHB's DRC is configured, device_del waits for the guest;
    // system_reset releases it.
    name: 'phb-bridge-cold', args: ['-M', 'pseries', '-nodefaults', '-device', 'spapr-pci-host-bridge,index=1,id=phb1',
      '-device', 'pci-bridge,id=br1,chassis_nr=5,bus=phb1.0,addr=2', '-device', 'e1000,id=nb,bus=br1,addr=3'],
    async run(s) {
      await s.x('device_del', { id: 'phb1' }, { ...SETTLE, note: 'configured PHB: waits for the guest' });
      await s.x('system_reset', undefined, { settle: 1500, note: 'releases the PHB and everything under it' });
      await s.x('qom-list', { path: '/machine/peripheral' });
    },
  },
  {
    // Running (cont, no OS: SLOF only). Cold-plugged tree: pending until a reset; then a tree
    // hot-added while running: released at once (SLOF never touches the DRC).
    name: 'phb-bridge-cont', args: ['-M', 'pseries', '-nodefaults', '-device', 'spapr-pci-host-bridge,index=1,id=phb1',
      '-device', 'pci-bridge,id=br1,chassis_nr=5,bus=phb1.0,addr=2', '-device', 'e1000,id=nb,bus=br1,addr=3'],
    async run(s) {
      await s.x('cont', undefined, SETTLE);
      await s.x('device_del', { id: 'phb1' }, { settle: 1500, note: 'configured PHB, running without an OS: waits' });
      await s.x('qom-list', { path: '/machine/peripheral' });
      await s.x('device_add', { driver: 'spapr-pci-host-bridge', index: 2, id: 'phb2' }, SETTLE);
      await s.x('device_add', { driver: 'pci-bridge', id: 'br2', chassis_nr: 6, bus: 'phb2.0', addr: '4' }, SETTLE);
      await s.x('device_add', { driver: 'e1000', id: 'nb2', bus: 'br2', addr: '1' }, SETTLE);
      await s.x('device_del', { id: 'phb2' }, { settle: 1500, note: 'hot-added while running: released at once' });
      await s.x('system_reset', undefined, { settle: 1500, note: 'releases phb1' });
      await s.x('qom-list', { path: '/machine/peripheral' });
    },
  },
  {
    // system_powerdown: POWERDOWN at once, in prelaunch and running alike (the EPOW log the
    // notifier queues is for the guest; without one nothing more happens).
    name: 'powerdown', args: ['-M', 'pseries', '-nodefaults'],
    async run(s) {
      await s.x('system_powerdown', undefined, { ...SETTLE, note: 'prelaunch (-S)' });
      await s.x('query-status');
      await s.x('cont', undefined, SETTLE);
      await s.x('system_powerdown', undefined, { ...SETTLE, note: 'running, SLOF only' });
      await s.x('system_powerdown', undefined, { ...SETTLE, note: 'again' });
      await s.x('query-status');
    },
  },
  {
    // The contract's refusals on PHB 0 (apps/qmp-server/test/contract/spapr.test.ts), with the
    // plugged device at slot 0 as the contract plugs it (no addr: the first free devfn).
    name: 'contract-errors', args: ['-M', 'pseries', '-nodefaults'],
    async run(s) {
      await s.x('device_add', { driver: 'e1000', id: 'hp0' }, SETTLE);
      await s.x('qom-get', { path: '/machine/peripheral/hp0', property: 'addr' });
      await s.x('device_add', { driver: 'e1000', id: 'hp0' }, { note: 'duplicate id' });
      await s.x('device_add', { driver: 'e1000', id: 'x1', addr: '0' }, { note: 'slot taken' });
      await s.x('device_add', { driver: 'e1000', id: 'x2', addr: '0.1' }, { note: 'function 1 after function 0' });
      await s.x('device_add', { driver: 'pci-bridge', id: 'x3', addr: '5' }, { note: 'bridge without chassis_nr' });
      await s.x('device_del', { id: 'contract-no-such-device' });
      await s.x('qom-list', { path: '/machine/peripheral' });
    },
  },
];

/**
 * The guest's RTAS calls without a guest: QEMU's qtest protocol has an `rtas NAME NARGS ARGS
 * NRET RETS` command (hw/ppc/spapr_rtas.c, spapr_qtest_callback) that runs the call as a vCPU
 * would. `-qtest unix:QTSOCK,...` is added to the scenario's argv; each exchange is recorded as
 * {action: 'qtest', send, reply} (every line as sent and as answered).
 */
class Qtest {
  constructor(sock) {
    this.lines = [];
    this.waiters = [];
    this.buf = '';
    this.sock = net.connect(sock);
    this.sock.setEncoding('utf8');
    this.sock.on('data', (d) => {
      this.buf += d;
      for (let i; (i = this.buf.indexOf('\n')) >= 0; ) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const w = this.waiters.shift();
        if (w) w(l); else this.lines.push(l);
      }
    });
    this.sock.on('close', () => { for (const w of this.waiters.splice(0)) w(null); });
    this.opened = new Promise((r, j) => { this.sock.once('connect', r); this.sock.once('error', j); });
  }

  /** One command, its reply line (null when QEMU went away first). */
  async cmd(line) {
    this.sock.write(line + '\n');
    return this.lines.length ? this.lines.shift() : new Promise((r) => this.waiters.push(r));
  }

  close() { this.sock.destroy(); }
}

/** RTAS call through qtest: args at 0x100000, rets at 0x100100 (filled with 0xdeadbeef first). */
async function rtas(s, qt, name, args, nret, { readRets = true, note } = {}) {
  const A = 0x100000, R = 0x100100, hex = (v) => `0x${(v >>> 0).toString(16)}`;
  for (const [i, a] of args.entries()) await qt.cmd(`writel ${hex(A + 4 * i)} ${hex(a)}`);
  for (let i = 0; i < nret; i++) await qt.cmd(`writel ${hex(R + 4 * i)} 0xdeadbeef`);
  const send = `rtas ${name} ${args.length} ${hex(A)} ${nret} ${hex(R)}`;
  const reply = await qt.cmd(send);
  const rets = [];
  if (readRets) for (let i = 0; i < nret; i++) rets.push(await qt.cmd(`readl ${hex(R + 4 * i)}`));
  s.exchanges.push({ action: 'qtest', send, reply, rtas: { name, args, nret }, rets, ...(note ? { note } : {}) });
}

const qtestSock = (name) => path.join(os.tmpdir(), `plugboard-qtest-${process.pid}-${name}.sock`);

/** Scenarios that also drive QEMU through qtest (the RTAS calls a guest would make). */
const qtestScenarios = [
  {
    // rtas_power_off (hw/ppc/spapr_rtas.c): nargs 2 / nret 1 or -3; then the guest shutdown
    // request: SHUTDOWN {guest: true, reason: guest-shutdown} and the process exits.
    name: 'power-off', args: ['-M', 'pseries', '-nodefaults'],
    async run(s, qt) {
      await s.x('cont', undefined, SETTLE);
      await rtas(s, qt, 'power-off', [-1], 1, { note: 'nargs 1' });
      await rtas(s, qt, 'power-off', [-1, -1], 2, { note: 'nret 2' });
      await s.x('query-status');
      await rtas(s, qt, 'power-off', [-1, -1], 1, { readRets: false, note: 'as Linux calls it' });
      await s.wait(2000, 'after power-off');
      s.exchanges.push({ action: 'exit', exit: (await s.qemu.waitExit(5000)) ?? 'running' });
    },
  },
  {
    // -no-shutdown (shutdown action "pause"): SHUTDOWN, then STOP; status "shutdown", the
    // process stays; cont is refused until a system_reset (which leaves it in prelaunch).
    name: 'power-off-no-shutdown', args: ['-M', 'pseries', '-nodefaults', '-no-shutdown'],
    async run(s, qt) {
      await s.x('cont', undefined, SETTLE);
      await rtas(s, qt, 'power-off', [-1, -1], 1, { note: 'as Linux calls it' });
      await s.wait(1000, 'after power-off');
      await s.x('query-status');
      await s.x('cont', undefined, SETTLE);
      await s.x('system_reset', undefined, SETTLE);
      await s.x('query-status');
      await s.x('cont', undefined, SETTLE);
      await s.x('query-status');
    },
  },
  {
    // rtas_system_reboot (hw/ppc/spapr_rtas.c): nargs 0 / nret 1 or -3; then a guest reset
    // request: RESET {guest: true, reason: guest-reset}, pending unplugs complete, and the VM
    // keeps its run state (prelaunch stays prelaunch, running stays running).
    name: 'system-reboot', args: ['-M', 'pseries', '-nodefaults', '-device', 'e1000,id=c3,addr=3'],
    async run(s, qt) {
      await rtas(s, qt, 'system-reboot', [], 1, { note: 'prelaunch' });
      await s.wait(1000, 'after system-reboot in prelaunch');
      await s.x('query-status');
      await s.x('cont', undefined, SETTLE);
      await rtas(s, qt, 'system-reboot', [0], 1, { note: 'nargs 1' });
      await rtas(s, qt, 'system-reboot', [], 2, { note: 'nret 2' });
      await rtas(s, qt, 'system-reboot', [], 0, { note: 'nret 0' });
      await s.wait(500, 'after the refused calls');
      await s.x('device_del', { id: 'c3' }, { ...SETTLE, note: 'configured: waits for the guest' });
      await rtas(s, qt, 'system-reboot', [], 1, { note: 'as Linux calls it (rtas_restart)' });
      await s.wait(1500, 'after system-reboot');
      await s.x('query-status');
    },
  },
  {
    // What became of an unplug pending at the guest's reboot (running, SLOF only), against
    // QMP system_reset afterwards.
    name: 'system-reboot-pending', args: ['-M', 'pseries', '-nodefaults', '-device', 'e1000,id=c3,addr=3', '-device', 'e1000,id=c4,addr=4'],
    async run(s, qt) {
      await s.x('cont', undefined, SETTLE);
      await s.x('device_del', { id: 'c3' }, { ...SETTLE, note: 'configured: waits for the guest' });
      await rtas(s, qt, 'system-reboot', [], 1, { note: 'as Linux calls it (rtas_restart)' });
      await s.wait(3000, 'after system-reboot');
      await s.x('qom-list', { path: '/machine/peripheral' });
      await s.x('device_del', { id: 'c4' }, { ...SETTLE, note: 'configured: waits for the guest' });
      await s.x('system_reset', undefined, { settle: 3000 });
      await s.x('qom-list', { path: '/machine/peripheral' });
    },
  },
  {
    // -no-reboot (reboot action "shutdown"): the guest's reboot is a SHUTDOWN {guest: true,
    // reason: guest-reset} and the process exits.
    name: 'system-reboot-no-reboot', args: ['-M', 'pseries', '-nodefaults', '-no-reboot'],
    async run(s, qt) {
      await s.x('cont', undefined, SETTLE);
      await rtas(s, qt, 'system-reboot', [], 1, { readRets: false, note: 'as Linux calls it' });
      await s.wait(2000, 'after system-reboot');
      s.exchanges.push({ action: 'exit', exit: (await s.qemu.waitExit(5000)) ?? 'running' });
    },
  },
];

async function inspect(s, p, props) {
  await s.x('qom-list', { path: p });
  await getAll(s, p, props);
}

/** dumpdtb command lines (after `-M pseries...`). */
const dtbs = [
  { name: 'nodefaults', args: ['-nodefaults'] },
  { name: 'phb2', args: ['-nodefaults', '-device', 'spapr-pci-host-bridge,index=1,id=phb1'] },
  { name: 'bridge', args: ['-nodefaults', '-device', 'pci-bridge,id=br1,chassis_nr=3,addr=4', '-device', 'e1000,id=nb,bus=br1,addr=2'] },
  // An empty bridge with chassis 1 at the first free slot (its 256 DRCs 0x400001xx), and one on a second PHB.
  { name: 'bridge1', args: ['-nodefaults', '-device', 'pci-bridge,id=br1,chassis_nr=1'] },
  { name: 'phb2-bridge', args: ['-nodefaults', '-device', 'spapr-pci-host-bridge,index=1,id=phb1', '-device', 'pci-bridge,id=br1,chassis_nr=1,bus=phb1.0,addr=2'] },
  { name: 'devices', args: ['-nodefaults', '-device', 'e1000,addr=3', '-device', 'virtio-net-pci,addr=5', '-device', 'e1000e,addr=6', '-device', 'virtio-scsi-pci,addr=7'] },
  { name: 'mem', args: ['-nodefaults', '-m', '1G,slots=4,maxmem=2G'] },
  { name: 'smp', args: ['-nodefaults', '-smp', '1,maxcpus=4'] },
  { name: 'dr-off', args: ['-nodefaults', '-global', 'spapr-pci-host-bridge.dynamic-reconfiguration=off', '-device', 'e1000,addr=3'] },
];

function dumpDtb({ name, args }) {
  const file = path.join(os.tmpdir(), `plugboard-dtb-${process.pid}-${name}.dtb`);
  const argv = [PPC, '-M', `pseries,dumpdtb=${file}`, '-display', 'none', ...args];
  let stderr = '';
  try {
    execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
  } catch (e) {
    stderr = String(e.stderr ?? e);
  }
  const dtb = fs.readFileSync(file);
  const dts = execFileSync('dtc', ['-I', 'dtb', '-O', 'dts', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  fs.unlinkSync(file);
  return { argv: argv.map((a) => a.replace(file, 'FILE')), dts, dtb: dtb.toString('base64'), ...(stderr ? { stderr } : {}) };
}

async function main() {
  const argv = process.argv.slice(2);
  const names = [...scenarios.map((s) => s.name), ...qtestScenarios.map((s) => s.name), ...dtbs.map((d) => `dtb-${d.name}`)];
  if (argv.includes('--list')) return void console.log(names.join('\n'));
  const i = argv.indexOf('--only');
  const only = i >= 0 ? new Set(argv[i + 1].split(',')) : undefined;
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const version = versionLine();
  for (const sc of scenarios) {
    if (only && !only.has(sc.name)) continue;
    const s = new Session(sc.name, PPC, sc.args);
    try {
      await s.start();
      await s.x('qmp_capabilities');
      await sc.run(s);
    } catch (e) {
      s.problem(`exception: ${e.stack || e}`);
    } finally {
      await s.stop();
    }
    const file = path.join(OUT_DIR, `${sc.name}.json`);
    fs.writeFileSync(file, JSON.stringify(s.toFixture(version), null, 1) + '\n');
    process.stderr.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  }
  for (const sc of qtestScenarios) {
    if (only && !only.has(sc.name)) continue;
    const qsock = qtestSock(sc.name);
    const s = new Session(sc.name, PPC, [...sc.args, '-qtest', `unix:${qsock},server=on,wait=off`]);
    let qt;
    try {
      await s.start();
      await s.x('qmp_capabilities');
      qt = new Qtest(qsock);
      await qt.opened;
      await sc.run(s, qt);
    } catch (e) {
      s.problem(`exception: ${e.stack || e}`);
    } finally {
      qt?.close();
      await s.stop();
      try { fs.unlinkSync(qsock); } catch { /* gone */ }
    }
    const fx = s.toFixture(version);
    fx.argv = fx.argv.map((a) => a.replace(qsock, 'QTSOCK'));
    const file = path.join(OUT_DIR, `${sc.name}.json`);
    fs.writeFileSync(file, JSON.stringify(fx, null, 1) + '\n');
    process.stderr.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  }
  for (const d of dtbs) {
    if (only && !only.has(`dtb-${d.name}`)) continue;
    const file = path.join(OUT_DIR, `dtb-${d.name}.json`);
    fs.writeFileSync(file, JSON.stringify({ qemu: version, ...dumpDtb(d) }, null, 1) + '\n');
    process.stderr.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  }
}

await main();
