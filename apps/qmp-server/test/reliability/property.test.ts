/**
 * Property tests: random sequences of device_add / device_del / system_reset / guest policy
 * changes / clock steps / stop / cont / attention button presses on every machine type, driven
 * through QMP (an in-memory stream, the same session code as a socket). Invariants, checked
 * against a model fed only by replies and events:
 * - no device lost or duplicated: the QOM tree's /machine/peripheral is exactly the model's set,
 *   no qdev id appears twice in query-pci, and every device on a root bus appears there;
 * - exactly one DEVICE_DELETED per removal, only for a device whose removal was requested;
 * - config space answers for every present device, and matches query-pci's ids (or reads all
 *   ones: slot powered off);
 * - no timer leak: once everything is removed and the guest has settled, no timer is left armed
 *   beyond those armed after boot;
 * - every error is one of QEMU's (a QmpError, no JavaScript text).
 * pseries has no hotplug handler yet (the sPAPR backend has not landed): its device_add is refused
 * with QEMU's "does not support hotplugging", which the model treats like any other refusal.
 */
import { describe, expect } from 'vitest';
import { fc, it } from '@fast-check/vitest';
import type { QmpClient, QmpEventMessage } from '@plugboard/qmp';
import { PlugboardServer, type PlugboardServerOptions } from '../../src/index.js';
import { badMessage, memoryClient, sleep, watchLeaks } from './helpers.js';

const RUNS = Number(process.env.PLUGBOARD_PROPERTY_RUNS ?? 50);
const IDS = ['d0', 'd1', 'd2', 'd3', 'd4'];
const POLICIES = ['linux', 'none', 'no-hotplug-driver', 'ignore-unplug', 'slow=2'];

interface MachineCase {
  opts: PlugboardServerOptions;
  /** `bus=` values to try; undefined = the default bus. */
  buses: Array<string | undefined>;
  drivers: string[];
}

const MACHINES: Record<string, MachineCase> = {
  pc: {
    opts: { type: 'pc', nodefaults: true, devices: [{ opts: { driver: 'pci-bridge', id: 'br1', chassis_nr: '1' } }] },
    buses: [undefined, 'pci.0', 'br1', 'nope'],
    drivers: ['e1000', 'virtio-net-pci', 'e1000e', 'nvme'],
  },
  q35: {
    opts: {
      type: 'q35', nodefaults: true,
      devices: [1, 2, 3].map((i) => ({ opts: { driver: 'pcie-root-port', id: `rp${i}`, chassis: String(i), slot: String(i) } })),
    },
    buses: ['rp1', 'rp2', 'rp3', 'pcie.0', undefined],
    drivers: ['e1000e', 'virtio-net-pci', 'e1000', 'nvme'],
  },
  pseries: { opts: { type: 'pseries', nodefaults: true }, buses: [undefined, 'pci.0'], drivers: ['e1000', 'virtio-net-pci'] },
};

type Op =
  | { op: 'add'; id: string; driver: string; bus: string | undefined; addr: number | undefined }
  | { op: 'del'; id: string }
  | { op: 'reset' | 'stop' | 'cont' | 'settle' }
  | { op: 'policy'; policy: string }
  | { op: 'step'; ns: number }
  | { op: 'button'; target: string };

function opArb(mc: MachineCase): fc.Arbitrary<Op> {
  const id = fc.constantFrom(...IDS);
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('add' as const), id, driver: fc.constantFrom(...mc.drivers), bus: fc.constantFrom(...mc.buses), addr: fc.option(fc.nat(31), { nil: undefined, freq: 3 }) }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('del' as const), id }) },
    { weight: 2, arbitrary: fc.constantFrom('reset', 'stop', 'cont', 'settle').map((op) => ({ op }) as Op) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('policy' as const), policy: fc.constantFrom(...POLICIES) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('step' as const), ns: fc.constantFrom(0, 1e6, 1e8, 1e9, 5e9, 3e10) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('button' as const), target: fc.constantFrom(...IDS, 'rp1', 'rp2') }) },
  );
}

/** Everything a run learned; `violations` are invariant failures (events arrive outside any await). */
class Model {
  readonly present = new Map<string, string>();
  readonly pending = new Set<string>();
  readonly deletedCount = new Map<string, number>();
  readonly violations: string[] = [];

  onEvent(e: QmpEventMessage): void {
    if (e.event !== 'DEVICE_DELETED') return;
    const id = e.data?.device as string | undefined;
    if (id === undefined || !IDS.includes(id)) return; // a board device (none is removable here)
    if (e.data?.path !== `/machine/peripheral/${id}`) this.violations.push(`DEVICE_DELETED path ${String(e.data?.path)} for ${id}`);
    if (!this.present.has(id)) this.violations.push(`DEVICE_DELETED for ${id}, which is not present (duplicate or ghost)`);
    else if (!this.pending.has(id)) this.violations.push(`DEVICE_DELETED for ${id}, whose removal nobody requested`);
    this.present.delete(id);
    this.pending.delete(id);
    this.deletedCount.set(id, (this.deletedCount.get(id) ?? 0) + 1);
  }
}

interface PciEntry { qdev_id: string; bus: number; slot: number; function: number; id: { vendor: number; device: number }; pci_bridge?: { devices?: PciEntry[] } }

function flatten(devs: PciEntry[], out: PciEntry[] = []): PciEntry[] {
  for (const d of devs) {
    out.push(d);
    if (d.pci_bridge?.devices) flatten(d.pci_bridge.devices, out);
  }
  return out;
}

const ALL_ONES = 0xffffffff;

async function checkConsistency(c: QmpClient, m: Model, where: string): Promise<void> {
  const qom = (await c.execute<Array<{ name: string }>>('qom-list', { path: '/machine/peripheral' })).map((p) => p.name).filter((n) => IDS.includes(n));
  expect(qom.sort(), `${where}: QOM /machine/peripheral vs devices added and not deleted`).toEqual([...m.present.keys()].sort());
  const roots = await c.execute<Array<{ bus: number; devices: PciEntry[] }>>('query-pci');
  const listed = roots.flatMap((r) => flatten(r.devices));
  const ours = listed.filter((d) => IDS.includes(d.qdev_id));
  expect(new Set(ours.map((d) => d.qdev_id)).size, `${where}: a qdev id twice in query-pci`).toBe(ours.length);
  for (const d of ours) expect(m.present.has(d.qdev_id), `${where}: ${d.qdev_id} in query-pci but deleted`).toBe(true);
  const onRoot = new Set(roots.flatMap((r) => r.devices.map((d) => d.qdev_id)));
  const addrs = new Set<string>();
  for (const d of listed) {
    const a = `${d.bus}:${d.slot}.${d.function}`;
    // Behind a bridge whose bus number is not set yet, devices are not listed at all (QEMU too).
    if (d.bus !== 0 || onRoot.has(d.qdev_id)) expect(addrs.has(a), `${where}: two functions at ${a}`).toBe(false);
    addrs.add(a);
  }
  for (const id of m.present.keys()) {
    const v = await c.execute<number>('__org.plugboard_config-read', { id, offset: 0, size: 4 });
    const q = ours.find((d) => d.qdev_id === id);
    if (q && v !== ALL_ONES) expect(v >>> 0, `${where}: ${id} config space ids vs query-pci`).toBe(((q.id.device << 16) | q.id.vendor) >>> 0);
    const parent = await c.execute<string>('qom-get', { path: `/machine/peripheral/${id}`, property: 'parent_bus' });
    if (/\/pci\.0$|\/pcie\.0$/.test(parent)) expect(onRoot.has(id), `${where}: ${id} on a root bus but not in query-pci`).toBe(true);
  }
}

/** Lets the guest run: until no timer is armed (virtual time jumps), or a short wall-clock bound. */
async function settle(s: PlugboardServer): Promise<void> {
  await Promise.race([s.machine.clock.whenIdle(), sleep(300)]);
  await sleep(0);
}

async function run(mc: MachineCase, start: boolean, ops: Op[]): Promise<void> {
  const s = PlugboardServer.create({ ...mc.opts, start });
  const leaks = watchLeaks(s.dispatcher);
  const c = await memoryClient(s);
  const m = new Model();
  c.on('event', (e: QmpEventMessage) => m.onEvent(e));
  const call = async (command: string, args?: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const r = await c.request({ execute: command, ...(args ? { arguments: args } : {}) });
    const bad = badMessage(r);
    if (bad) m.violations.push(`${command} ${JSON.stringify(args)}: ${bad}`);
    return r;
  };
  try {
    await settle(s);
    const baseline = s.machine.clock.listTimers().map((t) => t.label).sort();
    for (const [k, o] of ops.entries()) {
      const where = `op ${k} ${JSON.stringify(o)}`;
      if (o.op === 'add') {
        const r = await call('device_add', { driver: o.driver, id: o.id, ...(o.bus ? { bus: o.bus } : {}), ...(o.addr !== undefined ? { addr: String(o.addr) } : {}) });
        const wasPresent = m.present.has(o.id);
        if ('return' in r) {
          if (wasPresent) m.violations.push(`${where}: accepted a duplicate id`);
          m.present.set(o.id, o.driver);
        } else if (/^Duplicate device ID/.test(String((r.error as { desc: string }).desc)) && !wasPresent) {
          // (A duplicate may also be refused for a reason QEMU checks first, e.g. the bus.)
          m.violations.push(`${where}: refused as a duplicate, but no such device: ${JSON.stringify(r.error)}`);
        }
      } else if (o.op === 'del') {
        // Marked before the request: a removal may complete within it, and its DEVICE_DELETED
        // then comes before the reply (QEMU's order too).
        const wasPending = m.pending.has(o.id);
        if (m.present.has(o.id)) m.pending.add(o.id);
        const r = await call('device_del', { id: o.id });
        if ('return' in r) {
          if (!m.present.has(o.id) && !m.deletedCount.has(o.id)) m.violations.push(`${where}: removed an unknown device`);
        } else if (!wasPending) m.pending.delete(o.id);
        if ('error' in r && (r.error as { class: string }).class === 'DeviceNotFound' && m.present.has(o.id)) {
          m.violations.push(`${where}: device lost: ${JSON.stringify(r.error)}`);
        }
      } else if (o.op === 'reset') await call('system_reset');
      else if (o.op === 'stop' || o.op === 'cont') await call(o.op);
      else if (o.op === 'policy') await call('__org.plugboard_guest-policy', { policy: o.policy });
      else if (o.op === 'step') await call('__org.plugboard_clock-step', { ns: o.ns });
      else if (o.op === 'button') await call('__org.plugboard_press-attention-button', { id: o.target });
      else await settle(s);
      if (k % 4 === 3) await checkConsistency(c, m, where);
      expect(m.violations, where).toEqual([]);
    }
    // Take everything out and let the guest finish; then nothing may remain armed.
    if (s.host.guest) await call('__org.plugboard_guest-policy', { policy: 'linux' });
    await call('cont');
    for (const id of [...m.present.keys()]) {
      m.pending.add(id);
      await call('device_del', { id });
    }
    await settle(s);
    await call('system_reset');
    await settle(s);
    await checkConsistency(c, m, 'end');
    const left = s.machine.clock.listTimers().map((t) => t.label).sort();
    expect(left.filter((l) => !baseline.includes(l)), 'timers left armed after everything settled').toEqual([]);
    expect(left.length).toBeLessThanOrEqual(baseline.length);
    for (const [id, n] of m.deletedCount) expect(n, `DEVICE_DELETED count for ${id}`).toBeGreaterThanOrEqual(1);
    expect(m.violations).toEqual([]);
    expect(leaks).toEqual([]);
  } finally {
    await c.close();
    s.host.guest?.detach();
    s.machine.clock.stop();
    await s.close();
  }
}

describe('hotplug properties', () => {
  for (const [name, mc] of Object.entries(MACHINES)) {
    it.prop([fc.boolean(), fc.array(opArb(mc), { minLength: 1, maxLength: 30 })], { numRuns: RUNS })(
      `${name}: no device lost or duplicated, one DEVICE_DELETED per removal, consistent tree and config space, no timer leak`,
      (start, ops) => run(mc, start, ops),
      60_000,
    );
  }
});
