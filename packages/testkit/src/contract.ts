/**
 * The hotplug contract: what every hotplug controller (built-in backend or third-party
 * plugin) must do, checked in a fresh machine per case. The rules are QEMU 7.2's as seen
 * from a management stack (spec/qdev-hotplug.md): device_add returns with the device
 * realized and the guest notified; device_del only asks; DEVICE_DELETED comes once, after
 * the guest let go; refusals leave nothing behind; the same inputs give the same trace.
 * Where QEMU's controllers differ (a repeated device_del, device_del with no OS, a reset
 * with a removal pending) the target declares its rule and the contract holds it to it.
 */
import type { Device } from '@plugboard/qdev';
import { PCIDevice } from '@plugboard/pci-core';
import { check, checkEqual, checkMessage, stableJson } from './check.js';
import { HotplugHarness, type HarnessOptions } from './harness.js';
import { checkTrace, interruptsIn } from './trace.js';

export interface ContractErrorCase {
  name: string;
  /** device_add arguments that must be refused (run while the `plug` device is in place). */
  opts: Record<string, unknown>;
  /** QEMU's error text, exactly, or a pattern. */
  message: string | RegExp;
}

export interface HotplugContractTarget extends Omit<HarnessOptions, 'policy'> {
  /** Shown in case names, e.g. `hotplug-pcie (q35, pcie-root-port)`. */
  name: string;
  /** device_add arguments of the device the cycles plug; `id` is required. */
  plug: Record<string, unknown> & { id: string };
  /** Endpoint driver the guest must bind to it (e.g. `e1000e`); default: enumerated is enough. */
  boundDriver?: string;
  /**
   * What a repeated device_del gets while the first waits for the guest (qdev's
   * pending_deleted_event and its expiry; spec/qdev-hotplug.md §5):
   * - `'refused'`: the device is marked pending for good: `Device ID is already in the
   *   process of unplug` until it is gone;
   * - `{ expiresMs: N }`: marked pending for N ms of guest time, refused meanwhile, accepted
   *   (re-signalled) after: QEMU 7.2's PCIe native (5000) and ACPI (0: accepted at once);
   * - `'unmarked'`: never marked, every repeat reaches the controller again (SHPC);
   * - `{ controllerRefuses: TEXT }`: never marked, but the controller itself refuses a repeat
   *   with TEXT until the device is gone (sPAPR: `PCI device unplug already in progress for
   *   device ID`, hw/ppc/spapr_pci.c).
   */
  repeatedUnplug: 'refused' | 'unmarked' | { expiresMs: number } | { controllerRefuses: string };
  /**
   * device_del when no OS runs (guest policy `none`): `'pending'` (the request waits for a
   * guest forever, like ACPI) or `'immediate'` (the controller removes a device the guest
   * never powered at once, like PCIe native and SHPC slots that are off).
   */
  unplugWithoutGuest: 'pending' | 'immediate';
  /**
   * What system_reset does to a device whose unplug is pending: QEMU's ACPI hotplug ejects it
   * at reset (`unplugs`), native PCIe keeps it in the slot (`keeps`).
   */
  resetWhilePending: 'unplugs' | 'keeps';
  /**
   * With `unplugs`: where DEVICE_DELETED comes relative to RESET. Default `'before'`; sPAPR
   * releases its connectors in the machine reset but QEMU finalizes PCI functions after an RCU
   * grace period, so theirs follow RESET (`'after'`, fixtures/qemu-7.2-ppc/reset-order.json).
   */
  resetDeletedOrder?: 'before' | 'after';
  /** The controller's own refusals, with QEMU's (or the plugin's documented) text. */
  errors?: ContractErrorCase[];
  /** Guest time allowed for each guest reaction, ms (default 30 000: pciehp's 5 s wait fits). */
  timeoutMs?: number;
  /**
   * Skips the cases that need the guest's hotplug driver, with this reason (for a backend
   * whose guest driver is not written yet). Everything else still runs.
   */
  skipGuest?: string | false;
  /** The controller interrupts the guest on plug and on unplug request (default true). */
  interrupts?: boolean;
}

export interface ContractCase {
  name: string;
  /** Why the case does not apply, when it is skipped. */
  skip?: string;
  run(): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Guest time watched after DEVICE_DELETED for a second one. */
const SETTLE_MS = 2_000;

export function hotplugContract(target: HotplugContractTarget): ContractCase[] {
  const id = target.plug.id;
  const timeout = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const path = `/machine/peripheral/${id}`;
  const harness = (policy = 'linux') => HotplugHarness.create({ ...target, policy });
  const guestSkip = target.skipGuest || undefined;
  const interrupts = target.interrupts !== false;

  /** Plugs the target device in a running machine and checks what device_add promises. */
  const plug = (h: HotplugHarness) => {
    const dev = h.add(target.plug);
    check(dev.realized && dev.hotplugged, 'device_add returns a realized device marked hotplugged');
    check(dev.canonicalPath() === path, `device_add puts the device at ${path} (got ${dev.canonicalPath()})`);
    check(dev instanceof PCIDevice, 'the contract plugs a PCI device');
    return dev;
  };

  const online = (h: HotplugHarness, what: string) =>
    h.waitFor(() => h.isOnline(id, target.boundDriver), timeout, `${what}: the guest enumerates ${id}${target.boundDriver ? ` and binds ${target.boundDriver}` : ''}`);

  /** device_del through DEVICE_DELETED, with every check on the way. */
  const unplug = (h: HotplugHarness, cycle: number) => {
    const dev = h.device(id)!;
    const addr = h.address(dev);
    const before = h.deleted(id).length;
    const m = h.mark();
    const err = h.tryDel(id);
    check(err === undefined, `device_del ${id} is accepted (got "${err?.message}")`);
    check(h.deleted(id).length === before, 'device_del returns before DEVICE_DELETED (the guest has not answered yet)');
    checkPendingMark(dev);
    // Only a refusal can be checked in the middle of a live cycle: an accepted repeat
    // re-signals the guest, which is the next case's business.
    if (refusesRepeatNow) {
      const again = h.tryDel(id);
      checkMessage(again?.message ?? 'accepted', repeatRefusal, 'a second device_del while pending');
    }
    h.waitFor(() => h.deleted(id).length > before, timeout, `DEVICE_DELETED for ${id} once the guest ejects it (cycle ${cycle})`);
    h.run(SETTLE_MS);
    checkEqual(h.deleted(id).slice(before).map((e) => e.data), [{ device: id, path }], 'DEVICE_DELETED (exactly one)');
    check(h.device(id) === undefined && !h.machine.peripheral.childObjects.has(id), `${path} is gone after DEVICE_DELETED`);
    check(!dev.realized && dev.parentBus === undefined, 'the device is unrealized and off its bus');
    check(!h.guestHas(addr), 'the guest no longer lists the function');
    if (interrupts) check(interruptsIn(h.trace, m.trace).length > 0, 'the controller interrupted the guest for the unplug request');
  };

  const rule = target.repeatedUnplug;
  const byController = typeof rule === 'object' && 'controllerRefuses' in rule ? rule.controllerRefuses : undefined;
  const expiresMs = typeof rule === 'object' && 'expiresMs' in rule ? rule.expiresMs : undefined;
  const refusesRepeatNow = rule === 'refused' || byController !== undefined || (expiresMs ?? 0) > 0;
  /** qdev's refusal (qmp_device_del), or the controller's own. */
  const repeatRefusal = byController ?? `Device ${id} is already in the process of unplug`;
  const checkPendingMark = (dev: Device) => {
    if (rule === 'unmarked' || byController !== undefined) check(!dev.pendingDeletion, 'the unplug request leaves the device unmarked (qdev pending_deleted_event not set)');
    else check(dev.pendingDeletion, 'the unplug request marks the device pending (Device.pendingDeletion)');
  };
  const refusedRepeat = (h: HotplugHarness, what: string) => checkMessage(h.tryDel(id)?.message ?? 'accepted', repeatRefusal, what);
  const acceptedRepeat = (h: HotplugHarness, what: string) => {
    const e = h.tryDel(id);
    check(e === undefined, `${what}: accepted (got "${e?.message}")`);
  };

  /** A running guest that saw the device come online and ignores the unplug request. */
  const ignoredUnplug = () => {
    const h = harness('ignore-unplug').start();
    const dev = plug(h);
    online(h, 'hot-plug');
    check(h.tryDel(id) === undefined, 'device_del is accepted');
    return { h, dev };
  };

  const cases: ContractCase[] = [
    {
      name: 'the machine boots with the controller in place',
      run() {
        const h = harness().start();
        check(h.deleted().length === 0, 'no DEVICE_DELETED at boot');
        checkTrace(h.trace, 'boot trace');
      },
    },
    {
      name: 'device_add: the guest brings the device online',
      skip: guestSkip,
      run() {
        const h = harness().start();
        const m = h.mark();
        plug(h);
        online(h, 'hot-plug');
        check(h.deleted().length === 0, 'no DEVICE_DELETED on plug');
        if (interrupts) check(interruptsIn(h.trace, m.trace).length > 0, 'the controller interrupted the guest for the plug');
        checkTrace(h.trace);
      },
    },
    {
      name: 'device_del: pending until the guest ejects, then exactly one DEVICE_DELETED',
      skip: guestSkip,
      run() {
        const h = harness().start();
        plug(h);
        online(h, 'hot-plug');
        unplug(h, 1);
        checkTrace(h.trace);
      },
    },
    {
      name: 'two plug/unplug cycles in a row with the same id',
      skip: guestSkip,
      run() {
        const h = harness().start();
        for (const cycle of [1, 2]) {
          plug(h);
          online(h, `hot-plug, cycle ${cycle}`);
          unplug(h, cycle);
        }
      },
    },
    {
      name: 'device_add during prelaunch (-S): the booting guest finds the device',
      run() {
        const h = harness();
        check(h.machine.runState === 'prelaunch', 'the factory returns a machine that has not started');
        const dev = plug(h);
        h.start();
        online(h, 'boot after a prelaunch device_add');
        check(dev.realized && h.deleted().length === 0, 'the device stays');
      },
    },
    {
      name: 'an unplug request the guest ignores leaves the device in place (policy ignore-unplug)',
      skip: guestSkip,
      run() {
        const { h, dev } = ignoredUnplug();
        h.run(timeout);
        check(h.deleted(id).length === 0, 'no DEVICE_DELETED while the guest ignores the request');
        check(dev.realized && h.device(id) === dev && h.isOnline(id, target.boundDriver), 'the device stays, in use by the guest');
      },
    },
    {
      name: `a repeated device_del is ${rule === 'refused' ? 'refused while pending' : rule === 'unmarked' ? 'passed to the controller again' : byController !== undefined ? 'refused by the controller while pending' : `refused for ${expiresMs} ms, then accepted`}`,
      skip: guestSkip,
      run() {
        const { h, dev } = ignoredUnplug();
        checkPendingMark(dev);
        if (rule === 'refused' || byController !== undefined) {
          refusedRepeat(h, 'a repeated device_del');
          h.run(timeout);
          refusedRepeat(h, `a repeated device_del ${timeout} ms later`);
        } else if (rule === 'unmarked') {
          acceptedRepeat(h, 'a repeated device_del');
        } else {
          const ms = expiresMs ?? 0;
          if (ms > 0) refusedRepeat(h, 'a repeated device_del before the pending flag expires');
          h.run(ms + 1);
          acceptedRepeat(h, `a repeated device_del ${ms + 1} ms later`);
        }
      },
    },
    {
      name: `device_del with no OS running ${target.unplugWithoutGuest === 'immediate' ? 'removes the device at once' : 'stays pending'} (policy none)`,
      run() {
        const h = harness('none').start();
        const dev = plug(h);
        check(h.tryDel(id) === undefined, 'device_del is accepted');
        if (target.unplugWithoutGuest === 'immediate') {
          checkEqual(h.deleted(id).map((e) => e.data), [{ device: id, path }], 'DEVICE_DELETED before device_del returns (exactly one)');
          check(h.device(id) === undefined && !dev.realized, 'the device is gone');
        } else {
          h.run(timeout);
          check(h.deleted(id).length === 0, 'no DEVICE_DELETED without a guest');
          check(dev.realized && h.device(id) === dev, 'the device stays');
          checkPendingMark(dev);
        }
      },
    },
    {
      name: `system_reset with an unplug pending ${target.resetWhilePending === 'unplugs' ? 'completes it' : 'keeps the device'}`,
      skip: guestSkip,
      run() {
        const { h, dev } = ignoredUnplug();
        h.run(SETTLE_MS);
        const m = h.mark();
        h.reset();
        const names = h.events.slice(m.events).map((e) => e.name);
        if (target.resetWhilePending === 'unplugs') {
          checkEqual(h.deleted(id).map((e) => e.data), [{ device: id, path }], 'DEVICE_DELETED at reset (exactly one)');
          if ((target.resetDeletedOrder ?? 'before') === 'before') {
            check(names.indexOf('DEVICE_DELETED') < names.indexOf('RESET'), `DEVICE_DELETED comes before RESET (got ${names.join(', ')})`);
          } else {
            check(names.indexOf('RESET') >= 0 && names.indexOf('DEVICE_DELETED') > names.indexOf('RESET'), `DEVICE_DELETED comes after RESET (got ${names.join(', ')})`);
          }
          check(h.device(id) === undefined && !dev.realized, 'the device is gone after the reset');
        } else {
          check(h.deleted(id).length === 0, 'no DEVICE_DELETED at reset');
          check(h.device(id) === dev && dev.realized, 'the device stays in place');
        }
        h.waitFor(() => !!h.guest?.booted, timeout, 'the guest reboots');
        h.run(timeout);
        check(h.deleted(id).length === (target.resetWhilePending === 'unplugs' ? 1 : 0), 'nothing more happens after the reset');
        if (target.resetWhilePending === 'keeps') check(h.isOnline(id, target.boundDriver), 'the rebooted guest uses the device');
      },
    },
    {
      name: 'system_reset keeps a hot-plugged device and the rebooted guest finds it',
      run() {
        const h = harness().start();
        const dev = plug(h);
        h.run(SETTLE_MS);
        h.reset();
        check(h.deleted().length === 0, 'no DEVICE_DELETED at reset');
        h.waitFor(() => !!h.guest?.booted && h.isOnline(id, target.boundDriver), timeout, 'the guest reboots and finds the device');
        check(h.device(id) === dev && dev.realized, 'the device stays in place');
      },
    },
    {
      name: 'refused device_add / device_del leave nothing behind',
      run() {
        const h = harness('none').start();
        plug(h);
        const dup = h.tryAdd(target.plug);
        checkMessage(dup.ok ? 'accepted' : dup.error.message, `Duplicate device ID '${id}'`, 'device_add with a used id');
        const missing = h.tryDel('contract-no-such-device');
        checkMessage(missing?.message ?? 'accepted', "Device 'contract-no-such-device' not found", 'device_del of an unknown id');
        check(missing?.errorClass === 'DeviceNotFound', 'device_del of an unknown id is DeviceNotFound');
        for (const e of target.errors ?? []) {
          const m = h.mark();
          const peripherals = [...h.machine.peripheral.childObjects.keys()];
          const r = h.tryAdd(e.opts);
          checkMessage(r.ok ? 'accepted' : r.error.message, e.message, `device_add refused: ${e.name}`);
          checkEqual(h.events.slice(m.events), [], `events after the refused device_add (${e.name})`);
          check(interruptsIn(h.trace, m.trace).length === 0, `no interrupt for a refused device_add (${e.name})`);
          checkEqual([...h.machine.peripheral.childObjects.keys()], peripherals, `/machine/peripheral after the refused device_add (${e.name})`);
        }
        check(h.device(id)?.realized === true && h.deleted().length === 0, 'the plugged device is untouched by the refusals');
      },
    },
    {
      name: 'the trace is sane and the same on every run',
      run() {
        const once = () => {
          const h = harness().start();
          plug(h);
          h.run(timeout);
          h.tryDel(id);
          h.run(timeout);
          return h;
        };
        const a = once();
        const b = once();
        checkTrace(a.trace, 'plug/unplug trace');
        check(a.trace.length > 0, 'the guest accessed the machine');
        checkEqual(a.events, b.events, 'events of two identical runs');
        check(stableJson(a.trace) === stableJson(b.trace), `two identical runs give identical traces (${a.trace.length} vs ${b.trace.length} records; first difference at ${firstDifference(a.trace, b.trace)})`);
      },
    },
  ];
  return cases;
}

function firstDifference(a: readonly unknown[], b: readonly unknown[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (stableJson(a[i]) !== stableJson(b[i])) return i;
  return -1;
}

export interface ContractResult {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  error?: Error;
  skip?: string;
}

/** Runs every case outside a test framework (scripts, other runners). */
export function runHotplugContract(target: HotplugContractTarget): ContractResult[] {
  return hotplugContract(target).map((c) => {
    if (c.skip) return { name: c.name, status: 'skipped', skip: c.skip };
    try {
      c.run();
      return { name: c.name, status: 'passed' };
    } catch (e) {
      return { name: c.name, status: 'failed', error: e as Error };
    }
  });
}
