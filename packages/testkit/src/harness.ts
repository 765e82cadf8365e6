/**
 * HotplugHarness: one machine, its simulated guest, every machine event and every
 * guest-visible access, on a clock only the harness moves. Device management goes through
 * qdev's monitor functions, the same ones QMP `device_add` / `device_del` call.
 */
import { NS_PER_MS, QemuError, deviceAdd, deviceDel, type Clock, type Device, type MachineEvent } from '@plugboard/qdev';
import { PCIDevice, type PCIBus, type TraceRecord } from '@plugboard/pci-core';
import { attachGuest, type AttachOptions, type AttachedGuest, type FirmwareOptions, type HotplugDriver, type LinuxGuest, type PciDev, type PciDriver } from '@plugboard/guest';
import { ContractViolation } from './check.js';
import { manualClock, type GuestMachine, type MachineFactory } from './machine.js';

/** Guest time a boot may take: the kernel starts 1 s after the firmware, drivers load by 2.5 s. */
export const BOOT_TIMEOUT_MS = 10_000;

export interface HarnessOptions {
  createMachine: MachineFactory;
  /** Guest policy: `linux` (default), `none`, `no-hotplug-driver`, `ignore-unplug`, `slow=N`, combinable. */
  policy?: string;
  /**
   * Guest drivers to add to the built-in ones: what a plugin lists as `guestDrivers`
   * (HotplugDriver objects; endpoint drivers, which have `ids`, are accepted too).
   */
  guestDrivers?: readonly unknown[];
  /** `false`: no simulated guest at all. A function: attach a guest of your own (another arch). */
  guest?: false | ((machine: GuestMachine, opts: AttachOptions) => AttachedGuest);
  firmware?: FirmwareOptions;
}

export type AddResult = { ok: true; device: Device } | { ok: false; error: QemuError };

/** Hands a plugin's guest driver to a running LinuxGuest, as the server should do for `Plugin.guestDrivers`. */
export function registerGuestDriver(guest: LinuxGuest, d: unknown): void {
  if (typeof d !== 'object' || d === null || typeof (d as { name?: unknown }).name !== 'string') {
    throw new TypeError('a guest driver is an object with a name (HotplugDriver or PciDriver of @plugboard/guest)');
  }
  if (Array.isArray((d as PciDriver).ids)) guest.registerPciDriver(d as PciDriver);
  else guest.registerHotplugDriver(d as HotplugDriver);
}

export class HotplugHarness {
  readonly events: MachineEvent[] = [];
  readonly trace: TraceRecord[] = [];
  readonly attached: AttachedGuest | undefined;

  private constructor(
    readonly machine: GuestMachine,
    readonly clock: Clock,
    opts: HarnessOptions,
  ) {
    machine.events.on((ev) => this.events.push(ev));
    machine.guestView.onTrace((rec) => this.trace.push(rec));
    if (opts.guest !== false) {
      const attachOpts: AttachOptions = { ...(opts.policy ? { policy: opts.policy } : {}), ...(opts.firmware ? { firmware: opts.firmware } : {}) };
      this.attached = opts.guest ? opts.guest(machine, attachOpts) : attachGuest(machine, attachOpts);
      for (const d of opts.guestDrivers ?? []) registerGuestDriver(this.attached.guest, d);
    }
  }

  static create(opts: HarnessOptions): HotplugHarness {
    const clock = manualClock();
    const machine = opts.createMachine({ clock });
    // A machine on another clock would run timers from the event loop, between and after
    // the test's statements: runs would stop being repeatable.
    if (machine.clock !== clock) throw new Error('createMachine must build the machine on ctx.clock (MachineCreateContext.clock)');
    if (!machine.guestView) throw new Error('createMachine must return a machine with a guestView');
    return new HotplugHarness(machine, clock, opts);
  }

  get guest(): LinuxGuest | undefined {
    return this.attached?.guest;
  }

  // ---- time -------------------------------------------------------------------------------------

  /** Runs guest time forward by `ms`, every timer in between firing at its deadline. */
  run(ms: number): void {
    this.clock.advance(ms * NS_PER_MS);
  }

  /**
   * Fires timers one deadline at a time until `cond()` holds or `ms` of guest time passed.
   * Returns whether it holds.
   */
  runUntil(cond: () => boolean, ms: number): boolean {
    const limit = this.clock.nowNs() + ms * NS_PER_MS;
    while (!cond()) {
      const next = this.clock.listTimers()[0];
      const now = this.clock.nowNs();
      if (!next || next.deadline > limit) {
        this.clock.advance(limit - now);
        return cond();
      }
      this.clock.advance(Math.max(0, next.deadline - now));
    }
    return true;
  }

  /** runUntil, or a ContractViolation naming what did not happen. */
  waitFor(cond: () => boolean, ms: number, what: string): void {
    if (!this.runUntil(cond, ms)) throw new ContractViolation(`${what}: not within ${ms} ms of guest time`);
  }

  /** `cont`; with a booting guest policy, runs until the guest finished booting. */
  start(): this {
    this.machine.cont();
    const g = this.guest;
    if (g && g.policy.name !== 'none') this.waitFor(() => g.booted, BOOT_TIMEOUT_MS, 'the guest boots');
    return this;
  }

  /** QMP `system_reset`. */
  reset(): void {
    this.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
  }

  // ---- devices ----------------------------------------------------------------------------------

  add(opts: Record<string, unknown>): Device {
    return deviceAdd(this.machine, opts);
  }

  tryAdd(opts: Record<string, unknown>): AddResult {
    try {
      return { ok: true, device: this.add(opts) };
    } catch (e) {
      if (e instanceof QemuError) return { ok: false, error: e };
      throw e;
    }
  }

  del(id: string): void {
    deviceDel(this.machine, id);
  }

  /** device_del's error, or undefined when it was accepted. */
  tryDel(id: string): QemuError | undefined {
    try {
      this.del(id);
      return undefined;
    } catch (e) {
      if (e instanceof QemuError) return e;
      throw e;
    }
  }

  device(id: string): Device | undefined {
    return this.machine.deviceById(id);
  }

  deleted(id?: string): MachineEvent[] {
    return this.events.filter((e) => e.name === 'DEVICE_DELETED' && (id === undefined || e.data?.device === id));
  }

  /** Positions in the event and trace logs, to look at what happened after this point. */
  mark(): { events: number; trace: number } {
    return { events: this.events.length, trace: this.trace.length };
  }

  // ---- the guest's side -------------------------------------------------------------------------

  /** The guest's pci_dev for a PCI device model, if the guest enumerated one at its address. */
  guestFunction(dev: Device): PciDev | undefined {
    const g = this.guest;
    if (!g || !(dev instanceof PCIDevice) || !dev.realized || !dev.parentBus) return undefined;
    const { domain, bus } = this.address(dev);
    return g.pci.devices().find((d) => d.bus.domain === domain && d.bus.number === bus && d.devfn === dev.devfn);
  }

  /**
   * The device is in use by the guest: enumerated at its address with its own IDs, and bound
   * to `driver` when one is named.
   */
  isOnline(id: string, driver?: string): boolean {
    const dev = this.device(id);
    const f = dev && this.guestFunction(dev);
    if (!f || !(dev instanceof PCIDevice)) return false;
    if (f.vendor !== dev.identity.vendorId || f.device !== dev.identity.deviceId) return false;
    return driver === undefined || f.driver === driver;
  }

  /** Whether the guest still lists a function at the address `dev` had. */
  guestHas(address: { domain: number; bus: number; devfn: number }): boolean {
    return !!this.guest?.pci.devices().some((d) => d.bus.domain === address.domain && d.bus.number === address.bus && d.devfn === address.devfn);
  }

  /** PCI domain (host bridge index), guest bus number and devfn of a PCI device model. */
  address(dev: Device): { domain: number; bus: number; devfn: number } {
    if (!(dev instanceof PCIDevice)) throw new Error(`${dev.describe()} is not a PCI device`);
    let root: PCIBus = dev.pciBus;
    while (!root.isRoot) root = root.bridge!.pciBus;
    const domain = Math.max(0, this.machine.pciRoots?.indexOf(root) ?? 0);
    return { domain, bus: dev.pciBus.number, devfn: dev.devfn };
  }
}
