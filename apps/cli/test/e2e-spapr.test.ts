/**
 * sPAPR dynamic reconfiguration end to end (issue 6): the built `plugboard -M pseries` with its
 * simulated Linux 6.1 guest (rtas_errd/drmgr in user space, in-kernel CPU/LMB DLPAR), driven
 * over a real QMP socket. Each flow is checked on three sides:
 * - QMP: replies, events and their order, compared with QEMU 7.2's (fixtures/qemu-7.2-ppc,
 *   recorded from qemu-system-ppc64 by packages/hotplug-spapr/scripts/record-qemu-ppc.mjs);
 * - the guest's RTAS calls, read back from `--trace FILE`, in the order guest-spapr.md gives
 *   (no ppc64 guest can be booted here, so that side comes from the spec);
 * - virtual time: drmgr's 3 s sleep before the isolate, the PHB's 5 s per child.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawQmp, startPlugboard, type Running } from './harness.js';

interface Fixture {
  exchanges: Array<{ send?: { execute: string; arguments?: Record<string, unknown> }; note?: string; raw?: string[]; eventsRaw: string[] }>;
}
const fixture = (name: string): Fixture =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../../../fixtures/qemu-7.2-ppc/${name}.json`, import.meta.url)), 'utf8')) as Fixture;
/** QEMU's exchange for a request (matched on the whole request, or on its note). */
const exchange = (f: Fixture, send: object, note?: string) => {
  const ex = f.exchanges.find((e) => JSON.stringify(e.send) === JSON.stringify(send) && (note === undefined || e.note === note));
  if (!ex) throw new Error(`no exchange ${JSON.stringify(send)} in the fixture`);
  return ex;
};
/** The events of an exchange, without timestamps (and without RESET, see qdev-hotplug.md §6). */
const qemuEvents = (ex: Fixture['exchanges'][number]) =>
  ex.eventsRaw.map((l) => JSON.parse(l) as QmpEvent).filter((e) => e.event !== 'RESET').map(({ event, data }) => ({ event, ...(data ? { data } : {}) }));

interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}
interface Rtas {
  t: number;
  op: 'rtas';
  name: string;
  args: number[];
  rets: number[];
}

const ISOLATION_STATE = 9001;
const DR_INDICATOR = 9002;
const ALLOCATION_STATE = 9003;
const DR_ENTITY_SENSE = 9003;
/** ibm,drc-power-domains of every QEMU PCI DRC: -1 (the live-insertion domain), as a 32-bit word. */
const DOMAIN = 0xffffffff;
const HOTPLUG_IRQ = 0x1001;
const EPOW_IRQ = 0x1000;
const RAS_BUF = 0x0100_0000;
const CHECK_EXCEPTION_HP = ['check-exception', 0x500, HOTPLUG_IRQ, 0x10000000, 0, RAS_BUF, 2048];
const S = 1_000_000_000;

const running: Running[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.child.kill('SIGKILL');
});

/** One QMP connection that keeps every event it reads. */
class Session {
  readonly events: QmpEvent[] = [];
  private seen = 0;

  private constructor(
    readonly pb: Running,
    readonly q: RawQmp,
    readonly traceFile: string,
  ) {}

  static async start(args: string[]): Promise<Session> {
    const traceFile = join(mkdtempSync(join(tmpdir(), 'pb-spapr-')), 'trace.jsonl');
    const pb = await startPlugboard(['-M', 'pseries', '-nodefaults', '-display', 'none', '--trace', traceFile, ...args]);
    running.push(pb);
    const q = await RawQmp.connect(pb.sock);
    await q.line();
    const s = new Session(pb, q, traceFile);
    expect(await s.cmd('qmp_capabilities')).toEqual({ return: {} });
    return s;
  }

  private take(line: string): unknown {
    const msg = JSON.parse(line) as { event?: string };
    if (msg.event) this.events.push(msg as QmpEvent);
    return msg;
  }

  /** The raw reply line (QEMU's text is compared byte for byte where the fixture has it). */
  async raw(execute: string, args?: Record<string, unknown>): Promise<string> {
    this.q.send(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
    for (;;) {
      const l = await this.q.line(10_000);
      const msg = this.take(l) as { event?: string };
      if (!msg.event) return l;
    }
  }

  async cmd(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    return JSON.parse(await this.raw(execute, args));
  }

  /** Reads until `n` events named `name` arrived since the last call to newEvents(). */
  async waitFor(name: string, n = 1): Promise<void> {
    while (this.events.slice(this.seen).filter((e) => e.event === name).length < n) this.take(await this.q.line(10_000));
  }

  /** Events since the previous call, without timestamps. */
  newEvents(): Array<{ event: string; data?: Record<string, unknown> }> {
    const out = this.events.slice(this.seen).map(({ event, data }) => ({ event, ...(data ? { data } : {}) }));
    this.seen = this.events.length;
    return out;
  }

  /**
   * Virtual time once the guest has nothing left to do (booted, no timer pending). Also a
   * barrier: an event can reach the socket before the server wrote the trace record of the
   * RTAS call that caused it, and this round trip orders the two.
   */
  async idle(guest = true): Promise<number> {
    for (let i = 0; i < 500; i++) {
      const c = (await this.cmd('__org.plugboard_query-clock')) as { return: { 'virtual-ns': number; 'pending-timers': unknown[] } };
      const g = (await this.cmd('__org.plugboard_query-guest')) as { return: { state?: string; policy?: string } };
      const booted = !guest || g.return.state === 'running' || g.return.policy === 'none';
      if (c.return['pending-timers'].length === 0 && booted) return c.return['virtual-ns'];
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('the guest never went idle');
  }

  /** Trace records so far (the server writes them synchronously). */
  trace(): Array<Record<string, unknown>> {
    return readFileSync(this.traceFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Position in the trace, to look at what a step did. */
  mark(): number {
    return this.trace().length;
  }

  /** RTAS calls since `from` as [name, ...args] (config-space calls left out; configure-connector counted apart). */
  rtasSince(from: number): { calls: Array<Array<string | number>>; cc: number[]; all: Rtas[] } {
    const all = this.trace().slice(from).filter((r): r is Rtas & Record<string, unknown> => r.op === 'rtas') as Rtas[];
    const calls = all.filter((r) => !/pci-config|configure-connector/.test(r.name)).map((r) => [r.name, ...r.args]);
    const cc = all.filter((r) => r.name === 'ibm,configure-connector').map((r) => r.rets[0]!);
    return { calls, cc, all };
  }

  /** Virtual time (ns) of the first RTAS call named `name` with `args` since `from`. */
  timeOf(from: number, name: string, ...args: number[]): number {
    const r = this.rtasSince(from).all.find((x) => x.name === name && args.every((a, i) => x.args[i] === a));
    if (!r) throw new Error(`no ${name}(${args.join(', ')}) in the trace`);
    return r.t;
  }
}

/** A configure-connector sequence: children/properties, then 0 (done) last and only last. */
function expectConfigureConnector(cc: number[]): void {
  expect(cc.length).toBeGreaterThan(2);
  expect(cc[0]).toBe(2); // NEXT_CHILD: the device's node
  expect(cc.at(-1)).toBe(0);
  expect(cc.slice(0, -1).every((rc) => rc >= 1 && rc <= 4)).toBe(true);
}

describe('pseries PCI hotplug over QMP with the guest (rtas_errd + drmgr -V)', () => {
  it('e1000 on the default PHB: drmgr add sequence, bound; remove with the 3 s sleep, DEVICE_DELETED at the isolate', async () => {
    const s = await Session.start(['-serial', 'stdio']);
    await s.idle();
    s.newEvents();
    const IDX = 0x40000020; // PHB 0, chassis 0, devfn 0x20 (slot 4)
    const qemu = fixture('pci-errors');

    let m = s.mark();
    const add = { driver: 'e1000', id: 'n4', addr: '4' };
    expect(await s.raw('device_add', add)).toBe(exchange(qemu, { execute: 'device_add', arguments: add }).raw![0]);
    await s.idle();
    // guest-spapr.md §3 "PCI add": isolate + power off ("insert card"), indicator on, sense,
    // power on, unisolate, configure-connector (the kernel gets pci_dns), rescan.
    let r = s.rtasSince(m);
    expect(r.calls).toEqual([
      CHECK_EXCEPTION_HP,
      ['set-indicator', ISOLATION_STATE, IDX, 0], ['set-power-level', DOMAIN, 0], ['set-indicator', DR_INDICATOR, IDX, 1],
      ['get-sensor-state', DR_ENTITY_SENSE, IDX], ['set-power-level', DOMAIN, 100], ['set-indicator', ISOLATION_STATE, IDX, 1],
    ]);
    expect(r.all.find((x) => x.name === 'get-sensor-state')!.rets).toEqual([0, 1]); // present
    expectConfigureConnector(r.cc);
    // The rescan reads the new function's IDs through ibm,read-pci-config at config address 0x2000 (devfn 0x20).
    const ids = r.all.find((x) => x.name === 'ibm,read-pci-config' && x.args[0] === 0x2000 && x.args[3] === 4);
    expect(ids?.rets).toEqual([0, 0x100e8086]);
    expect(s.newEvents()).toEqual([]);

    m = s.mark();
    const before = await s.idle();
    expect(await s.raw('device_del', { id: 'n4' })).toBe('{"return": {}}');
    await s.waitFor('DEVICE_DELETED');
    const after = await s.idle();
    expect(s.newEvents()).toEqual([{ event: 'DEVICE_DELETED', data: { device: 'n4', path: '/machine/peripheral/n4' } }]);
    // §3 "PCI remove": indicator on, sysfs remove, 3 s, isolate (QEMU releases the device), power off.
    r = s.rtasSince(m);
    expect(r.calls).toEqual([
      CHECK_EXCEPTION_HP,
      ['set-indicator', DR_INDICATOR, IDX, 1], ['set-indicator', ISOLATION_STATE, IDX, 0], ['set-power-level', DOMAIN, 0],
    ]);
    expect(s.timeOf(m, 'set-indicator', ISOLATION_STATE, IDX) - s.timeOf(m, 'check-exception')).toBe(3 * S);
    expect(after - before).toBe(3 * S);
    // The function is gone from the guest too: no config call after the isolate.
    const iso = r.all.findIndex((x) => x.name === 'set-indicator' && x.args[0] === ISOLATION_STATE);
    expect(r.all.slice(iso).filter((x) => x.name.includes('pci-config'))).toEqual([]);

    // A second cycle on the same slot (drmgr finds the slot empty again).
    expect(await s.raw('device_add', add)).toBe('{"return": {}}');
    await s.idle();
    expect(await s.raw('device_del', { id: 'n4' })).toBe('{"return": {}}');
    await s.waitFor('DEVICE_DELETED');
    expect(s.newEvents()).toEqual([{ event: 'DEVICE_DELETED', data: { device: 'n4', path: '/machine/peripheral/n4' } }]);
    expect(s.pb.stdout()).not.toMatch(/BUG|Oops|crashed/);
  });

  it('behind a pci-bridge: the DRC index carries chassis_nr, drmgr finds the slot in the bridge node', async () => {
    const s = await Session.start(['-device', 'pci-bridge,id=br1,chassis_nr=3,addr=4']);
    await s.idle();
    s.newEvents();
    const IDX = 0x40000310; // chassis 3, devfn 0x10 (slot 2): QEMU's /dr-connector/40000310
    const qemu = fixture('pci-errors');
    const add = { driver: 'e1000', id: 'nb', bus: 'br1', addr: '2' };
    let m = s.mark();
    expect(await s.raw('device_add', add)).toBe(exchange(qemu, { execute: 'device_add', arguments: add }).raw![0]);
    await s.idle();
    expect(await s.cmd('qom-get', { path: '/dr-connector/40000310', property: 'device' })).toEqual({ return: '/machine/peripheral/nb' });
    let r = s.rtasSince(m);
    expect(r.calls.slice(0, 2)).toEqual([CHECK_EXCEPTION_HP, ['set-indicator', ISOLATION_STATE, IDX, 0]]);
    expect(r.calls.at(-1)).toEqual(['set-indicator', ISOLATION_STATE, IDX, 1]);
    expectConfigureConnector(r.cc);

    m = s.mark();
    expect(await s.raw('device_del', { id: 'nb' })).toBe('{"return": {}}');
    await s.waitFor('DEVICE_DELETED');
    await s.idle();
    // The same event QEMU sends for nb.
    expect(s.newEvents()).toEqual(qemuEvents(exchange(qemu, { execute: 'device_del', arguments: { id: 'nb' } })));
    r = s.rtasSince(m);
    expect(r.calls.slice(1)).toEqual([['set-indicator', DR_INDICATOR, IDX, 1], ['set-indicator', ISOLATION_STATE, IDX, 0], ['set-power-level', DOMAIN, 0]]);
    expect(s.timeOf(m, 'set-indicator', ISOLATION_STATE, IDX) - s.timeOf(m, 'check-exception')).toBe(3 * S);
    // Bridges themselves are not hot-unpluggable on pseries (QEMU's text).
    expect(await s.raw('device_del', { id: 'br1' })).toBe(exchange(qemu, { execute: 'device_del', arguments: { id: 'br1' } }).raw![0]);
  });

  it('no guest: with -S and with --guest none, device_del completes at once, as in QEMU', async () => {
    const qemu = fixture('drc-qom');
    const want = qemuEvents(exchange(qemu, { execute: 'device_del', arguments: { id: 'n1' } }, 'hot-added, never configured: released at once'));
    for (const args of [['-S'], ['--guest', 'none']]) {
      const s = await Session.start(args);
      await s.idle(false);
      s.newEvents();
      const m = s.mark();
      expect(await s.raw('device_add', { driver: 'e1000', id: 'n1', addr: '4' })).toBe('{"return": {}}');
      const t0 = await s.idle(false);
      expect(await s.raw('device_del', { id: 'n1' })).toBe('{"return": {}}');
      await s.waitFor('DEVICE_DELETED');
      expect([args, s.newEvents()]).toEqual([args, want]);
      expect(await s.idle(false)).toBe(t0); // no guest time passed
      expect(await s.raw('device_del', { id: 'n1' })).toBe(exchange(qemu, { execute: 'device_del', arguments: { id: 'n1' } }, 'repeat').raw![0]);
      // Nobody called RTAS (the interrupt may be raised, nobody takes it).
      expect(s.rtasSince(m).all).toEqual([]);
    }
  });
});

describe('pseries PHB hotplug over QMP (drmgr -c phb)', () => {
  it('spapr-pci-host-bridge add, a card on it, remove: 5 s per child, then the connectors, the card, TCE tables, the PHB', async () => {
    const s = await Session.start([]);
    await s.idle();
    s.newEvents();
    const PHB = 0x20000002;
    const qemu = fixture('phb-cold');
    let m = s.mark();
    expect(await s.raw('device_add', { driver: 'spapr-pci-host-bridge', index: 2, id: 'phb2' })).toBe('{"return": {}}');
    await s.idle();
    let r = s.rtasSince(m);
    // drmgr -c phb -a: sense (unusable), allocate, unisolate, configure-connector, add_slot.
    expect(r.calls).toEqual([CHECK_EXCEPTION_HP, ['get-sensor-state', DR_ENTITY_SENSE, PHB], ['set-indicator', ALLOCATION_STATE, PHB, 1], ['set-indicator', ISOLATION_STATE, PHB, 1]]);
    expect(r.all.find((x) => x.name === 'get-sensor-state')!.rets).toEqual([0, 2]);
    expectConfigureConnector(r.cc);

    // A card on the new PHB goes through drmgr -c pci like one on PHB 0 (index 0x40020018).
    m = s.mark();
    expect(await s.raw('device_add', { driver: 'e1000', id: 'n2', bus: 'phb2.0', addr: '3' })).toBe('{"return": {}}');
    await s.idle();
    r = s.rtasSince(m);
    expect(r.calls.at(-1)).toEqual(['set-indicator', ISOLATION_STATE, 0x40020018, 1]);
    expect(r.all.some((x) => x.name === 'ibm,read-pci-config' && x.args[1] === 0x08000000 && x.args[2] === 0x20000002 && x.rets[1] === 0x100e8086)).toBe(true);
    s.newEvents();

    m = s.mark();
    const before = await s.idle();
    expect(await s.raw('device_del', { id: 'phb2' })).toBe('{"return": {}}');
    await s.waitFor('DEVICE_DELETED', 260);
    const after = await s.idle();
    // The DEVICE_DELETED QEMU sends when it releases this PHB (recorded at system_reset,
    // where a configured PHB with a pending unplug is released): same events, same order.
    const want = qemuEvents(exchange(qemu, { execute: 'system_reset' }));
    expect(want.length).toBe(260);
    expect(s.newEvents()).toEqual(want);
    r = s.rtasSince(m);
    // drmgr -c phb -r: child removed, 5 s, remove_slot, DT remove; sense, isolate, unusable, sense.
    expect(r.calls).toEqual([
      CHECK_EXCEPTION_HP,
      ['get-sensor-state', DR_ENTITY_SENSE, PHB], ['set-indicator', ISOLATION_STATE, PHB, 0], ['set-indicator', ALLOCATION_STATE, PHB, 0],
      ['get-sensor-state', DR_ENTITY_SENSE, PHB],
    ]);
    expect(r.all.at(-1)!.rets).toEqual([0, 2]); // the machine's PHB connector stays, unusable again
    expect(after - before).toBe(5 * S);
    expect(await s.cmd('qom-list', { path: '/machine/peripheral' })).toEqual({ return: [{ name: 'type', type: 'string' }] });
  });
});

describe('pseries CPU core and memory hotplug over QMP (in-kernel DLPAR)', () => {
  it('power9_v2.0-spapr-cpu-core,core-id=1: acquire, configure-connector, start-cpu; remove: stop-self, release', async () => {
    const s = await Session.start(['-smp', '1,maxcpus=4']);
    await s.idle();
    s.newEvents();
    const IDX = 0x10000001;
    const qemu = fixture('cpu');
    const add = { driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1' };
    let m = s.mark();
    expect(await s.raw('device_add', add)).toBe(exchange(qemu, { execute: 'device_add', arguments: add }).raw![0]);
    await s.idle();
    let r = s.rtasSince(m);
    // guest-spapr.md §5: acquire (sense unusable, allocate, unisolate), configure-connector under
    // /cpus, then query-cpu-stopped-state and start-cpu for the core's thread (hw id 1).
    expect(r.calls).toEqual([
      CHECK_EXCEPTION_HP,
      ['get-sensor-state', DR_ENTITY_SENSE, IDX], ['set-indicator', ALLOCATION_STATE, IDX, 1], ['set-indicator', ISOLATION_STATE, IDX, 1],
      ['query-cpu-stopped-state', 1], ['start-cpu', 1, 0x60, 1],
    ]);
    expectConfigureConnector(r.cc);
    expect(r.all.find((x) => x.name === 'query-cpu-stopped-state')!.rets).toEqual([0, 0]);
    expect(s.newEvents()).toEqual([]);
    const hp = (await s.cmd('query-hotpluggable-cpus')) as { return: Array<{ props: { 'core-id': number }; 'qom-path'?: string }> };
    expect(hp.return.find((c) => c.props['core-id'] === 1)?.['qom-path']).toBe('/machine/peripheral/core1');

    m = s.mark();
    const before = await s.idle();
    expect(await s.raw('device_del', { id: 'core1' })).toBe('{"return": {}}');
    await s.waitFor('DEVICE_DELETED', 4);
    expect(await s.idle()).toBe(before); // the kernel path has no sleep of its own
    // The core's threads and their interrupt presenters go first, as QEMU sends them.
    expect(s.newEvents()).toEqual(qemuEvents(exchange(qemu, { execute: 'device_del', arguments: { id: 'core1' } }, 'hot-added, never acquired: released at once')));
    r = s.rtasSince(m);
    expect(r.calls).toEqual([
      CHECK_EXCEPTION_HP,
      ['stop-self'], ['query-cpu-stopped-state', 1],
      ['get-sensor-state', DR_ENTITY_SENSE, IDX], ['set-indicator', ISOLATION_STATE, IDX, 0], ['set-indicator', ALLOCATION_STATE, IDX, 0],
    ]);
    expect(r.all.find((x) => x.name === 'stop-self')).toMatchObject({ cpu: 1 });
    // The boot core stays, with QEMU's refusal.
    expect(await s.raw('device_del', { id: '/machine/unattached/device[1]' })).toBe(exchange(qemu, { execute: 'device_del', arguments: { id: '/machine/unattached/device[1]' } }).raw![0]);
  });

  it('pc-dimm with memory-backend-ram: two LMBs acquired and configured; remove offlines, releases both', async () => {
    const s = await Session.start(['-m', '1G,slots=4,maxmem=2G', '-serial', 'stdio']);
    await s.idle();
    s.newEvents();
    const qemu = fixture('mem');
    const obj = { 'qom-type': 'memory-backend-ram', id: 'mem2', size: 536870912 };
    expect(await s.raw('object-add', obj)).toBe(exchange(qemu, { execute: 'object-add', arguments: obj }).raw![0]);
    let m = s.mark();
    expect(await s.raw('device_add', { driver: 'pc-dimm', id: 'dimm2', memdev: 'mem2' })).toBe('{"return": {}}');
    await s.idle();
    // The first free address after 1 GiB of RAM: LMBs 4 and 5 (QEMU gives dimm1 that place in mem.json).
    expect(await s.cmd('qom-get', { path: '/machine/peripheral/dimm2', property: 'addr' })).toEqual({ return: 1073741824 });
    const [L4, L5] = [0x80000004, 0x80000005];
    let r = s.rtasSince(m);
    // guest-spapr.md §6: indexed-count add; per LMB acquire then configure-connector (associativity).
    expect(r.calls).toEqual([
      CHECK_EXCEPTION_HP,
      ['get-sensor-state', DR_ENTITY_SENSE, L4], ['set-indicator', ALLOCATION_STATE, L4, 1], ['set-indicator', ISOLATION_STATE, L4, 1],
      ['get-sensor-state', DR_ENTITY_SENSE, L5], ['set-indicator', ALLOCATION_STATE, L5, 1], ['set-indicator', ISOLATION_STATE, L5, 1],
    ]);
    expect(r.cc.filter((rc) => rc === 0).length).toBe(2);
    expect(s.pb.stdout()).toContain('pseries-hotplug-mem: Memory at 40000000 (drc index 80000004) was hot-added');

    m = s.mark();
    expect(await s.raw('device_del', { id: 'dimm2' })).toBe('{"return": {}}');
    await s.waitFor('DEVICE_DELETED');
    expect(s.newEvents()).toEqual(qemuEvents(exchange(qemu, { execute: 'device_del', arguments: { id: 'dimm2' } })));
    await s.idle(); // barrier (see idle()): the trace record of the releasing call may land after its event
    r = s.rtasSince(m);
    expect(r.calls).toEqual([
      CHECK_EXCEPTION_HP,
      ['get-sensor-state', DR_ENTITY_SENSE, L4], ['set-indicator', ISOLATION_STATE, L4, 0], ['set-indicator', ALLOCATION_STATE, L4, 0],
      ['get-sensor-state', DR_ENTITY_SENSE, L5], ['set-indicator', ISOLATION_STATE, L5, 0], ['set-indicator', ALLOCATION_STATE, L5, 0],
    ]);
    // The DIMM goes with its last LMB.
    expect(s.rtasSince(m).all.at(-1)).toMatchObject({ name: 'set-indicator', args: [ALLOCATION_STATE, L5, 0], rets: [0] });
    expect(await s.cmd('query-memory-devices')).toEqual({ return: [] });
    expect(await s.raw('object-del', { id: 'mem2' })).toBe('{"return": {}}');
  });

  it('a guest that refuses (--guest refuse-unplug): the unisolate hint -> DEVICE_UNPLUG_GUEST_ERROR, the device stays', async () => {
    const s = await Session.start(['-smp', '1,maxcpus=2', '-m', '1G,slots=2,maxmem=2G', '--guest', 'refuse-unplug', '-serial', 'stdio']);
    await s.idle();
    await s.cmd('object-add', { 'qom-type': 'memory-backend-ram', id: 'mem1', size: 536870912 });
    await s.cmd('object-add', { 'qom-type': 'memory-backend-ram', id: 'mem0', size: 268435456 });
    expect(await s.raw('device_add', { driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1' })).toBe('{"return": {}}');
    expect(await s.raw('device_add', { driver: 'pc-dimm', id: 'dimm1', memdev: 'mem1' })).toBe('{"return": {}}');
    await s.idle();
    s.newEvents();
    const CORE = 0x10000001;

    // CPU: the kernel cannot offline the thread, hands the connector back ("hint" unisolate).
    let m = s.mark();
    expect(await s.raw('device_del', { id: 'core1' })).toBe('{"return": {}}');
    await s.waitFor('DEVICE_UNPLUG_GUEST_ERROR');
    await s.idle();
    expect(s.rtasSince(m).calls).toEqual([CHECK_EXCEPTION_HP, ['get-sensor-state', DR_ENTITY_SENSE, CORE], ['set-indicator', ISOLATION_STATE, CORE, 1]]);
    expect(s.newEvents()).toEqual([{ event: 'DEVICE_UNPLUG_GUEST_ERROR', data: { device: 'core1', path: '/machine/peripheral/core1' } }]);
    expect(s.pb.stdout()).toContain('pseries-hotplug-cpu: Failed to offline CPU');
    // spapr_drc.c error_report, on stderr with the CLI's program-name prefix (QEMU: qemu-system-ppc64:).
    expect(s.pb.stderr().split('\n').filter((l) => l.includes('hotunplug'))).toEqual(['plugboard: Device hotunplug rejected by the guest for device core1']);
    // The request is over (spapr_drc.c clears unplug_requested): a new device_del asks again.
    expect(await s.raw('device_del', { id: 'core1' })).toBe('{"return": {}}');
    await s.waitFor('DEVICE_UNPLUG_GUEST_ERROR');
    expect(s.newEvents()).toEqual([{ event: 'DEVICE_UNPLUG_GUEST_ERROR', data: { device: 'core1', path: '/machine/peripheral/core1' } }]);
    expect(await s.cmd('qom-get', { path: '/machine/peripheral/core1', property: 'realized' })).toEqual({ return: true });
    expect(s.pb.stderr().split('\n').filter((l) => l.includes('hotunplug'))).toEqual(Array(2).fill('plugboard: Device hotunplug rejected by the guest for device core1'));

    // Memory, two LMBs: the first goes offline, the second cannot; the kernel re-adds the first
    // after the unisolate hint: spapr_memory_unplug_rollback's MEM_UNPLUG_ERROR and
    // DEVICE_UNPLUG_GUEST_ERROR, then spapr_drc.c's own DEVICE_UNPLUG_GUEST_ERROR.
    m = s.mark();
    expect(await s.raw('device_del', { id: 'dimm1' })).toBe('{"return": {}}');
    await s.waitFor('DEVICE_UNPLUG_GUEST_ERROR');
    await s.idle();
    const path = '/machine/peripheral/dimm1';
    expect(s.newEvents()).toEqual([
      { event: 'MEM_UNPLUG_ERROR', data: { device: 'dimm1', msg: 'Memory hotunplug rejected by the guest for device dimm1' } },
      { event: 'DEVICE_UNPLUG_GUEST_ERROR', data: { device: 'dimm1', path } },
      { event: 'DEVICE_UNPLUG_GUEST_ERROR', data: { device: 'dimm1', path } },
    ]);
    expect(s.rtasSince(m).calls).toEqual([CHECK_EXCEPTION_HP, ['get-sensor-state', DR_ENTITY_SENSE, 0x80000004], ['set-indicator', ISOLATION_STATE, 0x80000004, 1]]);
    expect(((await s.cmd('query-memory-devices')) as { return: unknown[] }).return).toHaveLength(1);
    // MEM_UNPLUG_ERROR carries its own text; only the connector's refusal is an error_report.
    expect(s.pb.stderr().split('\n').filter((l) => l.includes('hotunplug')).at(-1)).toBe('plugboard: Device hotunplug rejected by the guest for device dimm1');
    expect(s.pb.stderr().split('\n').filter((l) => l.includes('hotunplug'))).toHaveLength(3);
    // One LMB that cannot go offline: nothing was removed, so Linux 6.1 sends no hint
    // (dlpar_memory_remove_by_ic) and QEMU never learns: the unplug stays pending.
    expect(await s.raw('device_add', { driver: 'pc-dimm', id: 'dimm0', memdev: 'mem0' })).toBe('{"return": {}}');
    await s.idle();
    s.newEvents();
    expect(await s.raw('device_del', { id: 'dimm0' })).toBe('{"return": {}}');
    await s.idle();
    expect(s.newEvents()).toEqual([]);
    expect(await s.raw('device_del', { id: 'dimm0' })).toBe(exchange(fixture('mem-cold'), { execute: 'device_del', arguments: { id: 'd0' } }, 'repeat').raw![0].replace('d0', 'dimm0'));
    // PCI removals cannot be refused by Linux: they go ahead.
    expect(await s.raw('device_add', { driver: 'e1000', id: 'n4', addr: '4' })).toBe('{"return": {}}');
    await s.idle();
    expect(await s.raw('device_del', { id: 'n4' })).toBe('{"return": {}}');
    await s.waitFor('DEVICE_DELETED');
    expect(s.newEvents()).toEqual([{ event: 'DEVICE_DELETED', data: { device: 'n4', path: '/machine/peripheral/n4' } }]);
  });
});

describe('system_powerdown on pseries: POWERDOWN, then the EPOW log', () => {
  it('prelaunch and running as QEMU 7.2 answers; the running guest takes the EPOW interrupt', async () => {
    const qemu = fixture('powerdown');
    // -no-shutdown keeps the process once the guest has powered off (see the power-off tests below).
    const s = await Session.start(['-S', '-no-shutdown', '-serial', 'stdio']);
    await s.idle(false);
    const m0 = s.mark();
    expect(await s.raw('system_powerdown')).toBe(exchange(qemu, { execute: 'system_powerdown' }, 'prelaunch (-S)').raw![0]);
    await s.waitFor('POWERDOWN');
    expect(s.newEvents()).toEqual(qemuEvents(exchange(qemu, { execute: 'system_powerdown' }, 'prelaunch (-S)')));
    expect(await s.raw('query-status')).toBe(qemu.exchanges.find((e) => e.send?.execute === 'query-status')!.raw![0]);
    // Queued and pulsed on the EPOW source, but no OS runs to take it.
    expect(s.trace().slice(m0)).toEqual([{ t: 0, op: 'irq', kind: 'spapr', line: EPOW_IRQ }]);

    expect(await s.raw('cont')).toBe('{"return": {}}');
    await s.idle();
    s.newEvents();
    const m = s.mark();
    expect(await s.raw('system_powerdown')).toBe(exchange(qemu, { execute: 'system_powerdown' }, 'running, SLOF only').raw![0]);
    await s.waitFor('STOP');
    await s.idle();
    // SLOF alone (QEMU's recording) leaves it at POWERDOWN; Linux powers off (SHUTDOWN, then STOP with -no-shutdown).
    expect(s.newEvents()).toEqual([{ event: 'POWERDOWN' }, { event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' } }, { event: 'STOP' }]);
    // ras_epow_interrupt: EPOW sensor (QEMU has none: -3), then check-exception for the EPOW class.
    const r = s.rtasSince(m);
    expect(r.calls).toEqual([['get-sensor-state', 9, 0], ['check-exception', 0x500, EPOW_IRQ, 0x40000000, 0, RAS_BUF, 2048], ['power-off', 0xffffffff, 0xffffffff]]);
    expect(r.all.map((x) => x.rets[0])).toEqual([-3, 0, 0]);
    expect(s.trace().slice(m)[0]).toMatchObject({ op: 'irq', kind: 'spapr', line: EPOW_IRQ });
    expect(s.pb.stdout()).toContain('Power off requested');
  });
});

/** QEMU's transcript of a qtest-driven RTAS power-off (record-qemu-ppc.mjs, qtestScenarios). */
interface PowerOffFixture {
  exchanges: Array<{ action?: string; send?: unknown; note?: string; raw?: string[]; eventsRaw?: string[]; rets?: string[]; exit?: unknown }>;
  exit: unknown;
}
const powerOffFixture = (name: string) => fixture(name) as unknown as PowerOffFixture;
const stripTs = (raw: string[]) => raw.map((l) => JSON.parse(l) as QmpEvent).map(({ event, data }) => ({ event, ...(data ? { data } : {}) }));

describe('system_powerdown on a running pseries guest: orderly power-off through RTAS power-off', () => {
  it('the guest calls power-off(-1, -1): SHUTDOWN {guest: true, reason: guest-shutdown}, the process exits 0', async () => {
    const qemu = powerOffFixture('power-off');
    // QEMU: the call with the counts Linux uses succeeds; other counts store -3 (0xfffffffd).
    expect(qemu.exchanges.filter((e) => e.action === 'qtest' && e.rets?.length).map((e) => e.rets![0])).toEqual(['OK 0x00000000fffffffd', 'OK 0x00000000fffffffd']);
    const qemuShutdown = stripTs(qemu.exchanges.find((e) => e.action === 'wait')!.eventsRaw!);
    expect(qemu.exit).toEqual({ code: 0, signal: null });

    const s = await Session.start(['-serial', 'stdio']);
    await s.idle();
    s.newEvents();
    const m = s.mark();
    expect(await s.raw('system_powerdown')).toBe('{"return": {}}');
    await s.waitFor('SHUTDOWN');
    const exit = await s.pb.exited;
    expect(s.newEvents()).toEqual([{ event: 'POWERDOWN' }, ...qemuShutdown]);
    expect(qemuShutdown).toEqual([{ event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' } }]);
    expect(exit).toEqual({ code: 0, signal: null });
    // ras_epow_interrupt, then (user space shut down) pseries_power_off's RTAS call.
    const r = s.rtasSince(m);
    expect(r.calls).toEqual([
      ['get-sensor-state', 9, 0], ['check-exception', 0x500, EPOW_IRQ, 0x40000000, 0, RAS_BUF, 2048],
      ['power-off', 0xffffffff, 0xffffffff],
    ]);
    expect(r.all.at(-1)!.rets).toEqual([0]);
    expect(r.all.at(-1)!.t - r.all[1]!.t).toBeGreaterThan(0);
    const out = s.pb.stdout();
    expect(out.indexOf('Power off requested')).toBeLessThan(out.indexOf('reboot: Power down'));
    expect(out).not.toContain('RTAS power-off returned');
  });

  it('-no-shutdown: SHUTDOWN, STOP, status "shutdown", the process stays; cont refused until system_reset', async () => {
    const qemu = powerOffFixture('power-off-no-shutdown');
    const ex = (execute: string, nth = 0) => qemu.exchanges.filter((e) => (e.send as { execute?: string } | undefined)?.execute === execute)[nth]!;
    const s = await Session.start(['-no-shutdown', '-serial', 'stdio']);
    await s.idle();
    s.newEvents();
    expect(await s.raw('system_powerdown')).toBe('{"return": {}}');
    await s.waitFor('STOP');
    expect(s.newEvents()).toEqual([{ event: 'POWERDOWN' }, ...stripTs(qemu.exchanges.find((e) => e.action === 'wait')!.eventsRaw!)]);
    expect(await s.raw('query-status')).toBe(ex('query-status', 0).raw![0]);
    expect(await s.raw('cont')).toBe(ex('cont', 1).raw![0]);
    expect(s.pb.child.exitCode).toBeNull();
    expect(await s.raw('system_reset')).toBe(ex('system_reset').raw![0]);
    expect(s.newEvents()).toEqual(stripTs(ex('system_reset').eventsRaw!));
    expect(await s.raw('query-status')).toBe(ex('query-status', 1).raw![0]);
    expect(await s.raw('cont')).toBe(ex('cont', 2).raw![0]);
    expect(await s.raw('query-status')).toBe(ex('query-status', 2).raw![0]);
    // The guest boots again after the reset (CAS, then the kernel): a second power-off works too.
    await s.idle();
    s.newEvents();
    expect(await s.raw('system_powerdown')).toBe('{"return": {}}');
    await s.waitFor('STOP');
    expect(s.newEvents().map((e) => e.event)).toEqual(['POWERDOWN', 'SHUTDOWN', 'STOP']);
  });
});
