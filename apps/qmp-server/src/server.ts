/**
 * A machine behind one or more QMP monitors (unix, TCP, or an attached stream).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { ghashKeyOrder, type Plugin, type PluginSet } from '@plugboard/qdev';
import { createMachine, createPluginSet, type CreateMachineOptions } from '@plugboard/machines';
import { DEFAULT_CLOSE_GRACE_MS, QmpDispatcher, QmpServer } from '@plugboard/qmp';
import { attachGuest, attachPseriesGuest, parseGuestPolicy, provideAcpiTables, type HotplugDriver, type PciDriver } from '@plugboard/guest';
import { dsdtForController } from '@plugboard/hotplug-acpi';
import type { X86Machine } from '@plugboard/machines';
import { registerCommands } from './commands.js';
import { QEMU_VERSION, listenMonitor, type EarlyMonitors, type MonitorSpec } from './monitors.js';
import { MachineHost } from './host.js';
import { builtinPlugins } from './plugins.js';

export type { MonitorSpec };

export interface PlugboardServerOptions extends CreateMachineOptions {
  /** Extra plugins after the built-ins. */
  plugins?: Plugin[];
  /** Start the VM (like QEMU without -S). */
  start?: boolean;
  /** `-no-shutdown`: a guest shutdown leaves the VM stopped in `shutdown` instead of ending it. */
  noShutdown?: boolean;
  /** `-no-reboot`: a guest reboot is a shutdown with reason guest-reset (reboot_action shutdown). */
  noReboot?: boolean;
  /** `--trace FILE`: every guest-visible access and interrupt as one JSON line. */
  traceFile?: string;
  /** `--guest POLICY`: the simulated guest's behaviour (default `linux`). */
  guest?: string;
  /** Where the guest's console (kernel log) goes: `-serial stdio` / `-serial file:PATH`. */
  serial?: (line: string) => void;
  /**
   * Monitors opened before the machine (EarlyMonitors): this server takes them over once the
   * machine is built, and the requests that waited in their sockets run then.
   */
  monitors?: EarlyMonitors;
}

export class PlugboardServer {
  readonly host: MachineHost;
  /** QEMU's QAPI visitor keeps unvisited argument names in a GHashTable: name the unexpected one it names. */
  readonly dispatcher = new QmpDispatcher({ unvisitedOrder: ghashKeyOrder });
  readonly qmp: QmpServer;

  private constructor(host: MachineHost) {
    this.host = host;
    registerCommands(this.dispatcher, host);
    this.qmp = new QmpServer({ dispatcher: this.dispatcher, version: QEMU_VERSION, now: () => host.machine.clock.timestamp() });
    host.onEvent((ev) => this.qmp.emitEvent(ev.name, ev.data));
  }

  /** Builds the machine (board + `-device` list) and its QMP side. Throws QemuError on bad devices. */
  static create(opts: PlugboardServerOptions = {}, pluginSet?: PluginSet): PlugboardServer {
    const plugins = pluginSet ?? createPluginSet([...builtinPlugins(), ...(opts.plugins ?? [])]);
    const machine = createMachine(plugins, opts);
    const server = new PlugboardServer(new MachineHost(machine, plugins));
    server.host.noShutdown = opts.noShutdown ?? false;
    if (opts.noReboot) machine.rebootAction = 'shutdown';
    if (opts.traceFile) server.traceTo(opts.traceFile);
    // The simulated guest (SeaBIOS + Linux) boots at the first `cont`, as QEMU's would.
    if (server.host.arch === 'x86_64') {
      // The DSDT the firmware hands the OS describes the ACPI hotplug slots (QEMU builds it
      // at every firmware read); without the controller (q35, bridge support off) there is none.
      const acpi = (machine as X86Machine).acpiHotplug;
      if (acpi) provideAcpiTables(machine.guestView, () => ({ dsdt: dsdtForController(acpi) }));
      const attached = attachGuest(machine, {
        policy: parseGuestPolicy(opts.guest ?? 'linux'),
        ...(opts.serial ? { log: opts.serial } : {}),
        // pc and q35 have the 0xcf9 reset control register SeaBIOS reboots them with.
        firmware: { ramSize: opts.ramSize ?? 128 * 1024 * 1024, resetControl: true },
        cpus: opts.cpus ?? 1,
      });
      server.host.guest = attached;
      // Guest drivers contributed by plugins join the simulated OS like built-in ones.
      for (const d of plugins.guestDrivers as Array<HotplugDriver | PciDriver>) {
        if ('ids' in d) attached.guest.registerPciDriver(d);
        else attached.guest.registerHotplugDriver(d);
      }
    } else if (server.host.arch === 'ppc64') {
      // pseries: SLOF's job is done by the platform; the guest does CAS, then rtas_errd/drmgr.
      server.host.guest = attachPseriesGuest(machine as never, {
        policy: parseGuestPolicy(opts.guest ?? 'linux'),
        ...(opts.serial ? { log: opts.serial } : {}),
      });
    }
    if (opts.start) machine.cont();
    // Monitors opened before the machine serve it from now on; their waiting requests run next.
    if (opts.monitors) {
      server.qmp.adopt(opts.monitors);
      for (let i = 0; i < opts.monitors.stdio; i++) void server.listen({ kind: 'stdio' });
    }
    return server;
  }

  /** Appends trace records as JSON lines; the file is written synchronously so a crash keeps them. */
  traceTo(file: string): void {
    const fd = openSync(file, 'w');
    this.machine.guestView.onTrace((rec) => writeSync(fd, JSON.stringify(rec, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n'));
    this.closers.push(() => closeSync(fd));
  }

  private readonly closers: Array<() => void> = [];

  get machine() {
    return this.host.machine;
  }

  /** Opens a monitor; with `spec.wait`, `onWaiting` runs when the wait for a first client begins. */
  listen(spec: MonitorSpec, onWaiting?: () => void): Promise<{ port?: number }> {
    return listenMonitor(this.qmp, spec, onWaiting);
  }

  /**
   * Ends every session gracefully (queued output flushed), then stops listening. A client that
   * has not taken its output within `graceMs` (default DEFAULT_CLOSE_GRACE_MS of
   * @plugboard/qmp) is cut off, so a client that stopped reading cannot keep this pending.
   */
  async close(opts: { graceMs?: number } = {}): Promise<void> {
    const graceMs = opts.graceMs ?? DEFAULT_CLOSE_GRACE_MS;
    await Promise.all(this.qmp.sessions().map((s) => s.close(graceMs)));
    await this.qmp.close({ graceMs });
    for (const c of this.closers.splice(0)) c();
  }
}
