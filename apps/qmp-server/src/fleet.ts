/**
 * A fleet: many independent machines in one process, each behind its own QMP socket, for
 * orchestrator tests that need hundreds of "QEMU processes" without paying for hundreds of
 * Node processes. Nothing is shared between machines but the event loop: each has its own
 * PluginSet (type registry), clock, guest and QMP server, so one machine's state, timers or
 * plugin registrations can never leak into another's. A fleet larger than one host is run as
 * one process per shard (each with its own socket directory); fleets never talk to each other.
 */
import { EventEmitter } from 'node:events';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ClockHost, Plugin } from '@plugboard/qdev';
import { createPluginSet } from '@plugboard/machines';
import { DEFAULT_UNIX_SOCKET_MODE } from '@plugboard/qmp';
import { PlugboardServer, type PlugboardServerOptions } from './server.js';
import type { ShutdownReason } from './host.js';
import { builtinPlugins } from './plugins.js';

export type FleetAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export interface FleetOptions {
  /** Directory for the unix sockets `vmNNNN.sock` (created, mode 0700, if absent). */
  socketDir?: string;
  /** Serve TCP instead: host (default loopback) and the first port (`0`: any free port per machine). */
  tcp?: { host?: string; basePort?: number };
  /** Mode of each unix socket file (default 0600: only the owner may connect). */
  socketMode?: number;
  /** What every machine is built from; `create()` may override any of it per machine. */
  defaults?: PlugboardServerOptions;
  /** Extra plugins loaded into every machine's own plugin set, after the built-ins. */
  plugins?: Plugin[];
  /**
   * How long a retiring machine waits for its clients to take their last output (SHUTDOWN)
   * before they are cut off. QEMU's process just exits; a client that stopped reading must
   * not keep a machine (or the whole fleet's shutdown) alive. Default 2000 ms.
   */
  shutdownGraceMs?: number;
}

export interface FleetMachineOptions extends PlugboardServerOptions {
  /** Socket base name (default `vmNNNN`, numbered in creation order and never reused). */
  name?: string;
}

/** Why a machine left the fleet: QEMU's SHUTDOWN reasons, or a crash of its emulation. */
export type FleetExitReason = ShutdownReason | 'internal-error';

export interface FleetMachine {
  readonly name: string;
  readonly server: PlugboardServer;
  readonly address: FleetAddress;
}

interface Slot extends FleetMachine {
  /** Creation order (sockets open concurrently, so map order is completion order). */
  readonly index: number;
  readonly transports: Set<net.Socket>;
  /** Set once the machine is on its way out; destroy() and `quit` share it. */
  retiring?: Promise<void>;
}

/** A machine name becomes a file name: keep it a plain, single path component. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const DEFAULT_TCP_HOST = '127.0.0.1';
const SOCKET_DIR_MODE = 0o700;
const NAME_DIGITS = 4;
const DEFAULT_SHUTDOWN_GRACE_MS = 2000;
/** Machines whose sockets are being opened at once (more gains nothing on 2 cores). */
const DEFAULT_CREATE_CONCURRENCY = 16;

/**
 * Events: `exit` (machine, reason) when a machine has gone away — a client's `quit`, the guest,
 * or destroy() — after its clients were sent SHUTDOWN and its socket was removed; `crash`
 * (machine, error) when its emulation threw from a clock timer (see guardClock()), followed by
 * `exit` with reason `internal-error`.
 */
export class Fleet extends EventEmitter {
  private readonly slots = new Map<string, Slot>();
  /** create() calls under way: shutdown() waits for them. */
  private readonly opening = new Set<Promise<unknown>>();
  private nextIndex = 0;
  private closing = false;

  constructor(readonly options: FleetOptions) {
    super();
    if (!options.socketDir === !options.tcp) throw new TypeError('Fleet: give exactly one of socketDir or tcp');
  }

  /** A fleet of `count` machines built from `options.defaults` (see createMany()). */
  static async start(count: number, options: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(options);
    try {
      await fleet.createMany(count);
    } catch (e) {
      await fleet.shutdown();
      throw e;
    }
    return fleet;
  }

  /**
   * Creates `count` machines alike, a few at a time: building a machine is synchronous, but
   * opening its socket waits on the file system, and those waits overlap. Names still follow
   * creation order. On the first failure no new machine is started; the error is thrown once
   * those under way have finished (they stay in the fleet). `stop` is polled between machines.
   */
  async createMany(count: number, opts: FleetMachineOptions = {}, o: { concurrency?: number; stop?: () => boolean } = {}): Promise<FleetMachine[]> {
    const made: FleetMachine[] = [];
    let started = 0;
    let failure: { e: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (started < count && !failure && !o.stop?.()) {
        const k = started++;
        try {
          made[k] = await this.create(opts); // names were handed out in call order
        } catch (e) {
          failure ??= { e };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency ?? DEFAULT_CREATE_CONCURRENCY, count) }, worker));
    if (failure) throw failure.e;
    return made.filter((m) => m !== undefined);
  }

  get size(): number {
    return this.slots.size;
  }

  /** Running machines, in creation order. */
  machines(): FleetMachine[] {
    return [...this.slots.values()].sort((a, b) => a.index - b.index);
  }

  get(name: string): FleetMachine | undefined {
    return this.slots.get(name);
  }

  /**
   * Builds a machine and opens its socket. A bad device list throws QemuError with QEMU's text,
   * plus a `fleetMachine` member naming the machine.
   */
  create(opts: FleetMachineOptions = {}): Promise<FleetMachine> {
    const p = this.build(opts);
    this.opening.add(p);
    const done = (): void => void this.opening.delete(p);
    p.then(done, done);
    return p;
  }

  private async build(opts: FleetMachineOptions): Promise<FleetMachine> {
    if (this.closing) throw new Error('Fleet: shutting down');
    const index = this.nextIndex++;
    const name = opts.name ?? `vm${String(index).padStart(NAME_DIGITS, '0')}`;
    if (!NAME_RE.test(name)) throw new TypeError(`Fleet: invalid machine name '${name}'`);
    if (this.slots.has(name)) throw new Error(`Fleet: machine '${name}' exists`);
    const { name: _name, ...own } = opts;
    const merged: PlugboardServerOptions = { ...this.options.defaults, ...own };
    // Each machine gets its own copy of the device options, whatever createMachine does with them.
    if (merged.devices) merged.devices = merged.devices.map((d) => ({ ...d, opts: { ...d.opts } }));
    // Its own plugin set: plugins may keep per-registry state, and a plugin type registered
    // for one machine must not appear in another's qom-list-types.
    const plugins = createPluginSet([...builtinPlugins(), ...(this.options.plugins ?? []), ...(merged.plugins ?? [])]);
    let server: PlugboardServer;
    try {
      // Built stopped: the clock must be guarded before it runs anything (see guardClock()).
      server = PlugboardServer.create({ ...merged, start: false }, plugins);
    } catch (e) {
      // Which machine refused (QemuError's text is QEMU's and names no machine).
      if (e instanceof Error) Object.assign(e, { fleetMachine: name });
      throw e;
    }
    let address: FleetAddress;
    try {
      address = await this.open(server, name, index);
      // shutdown() began while the socket was opening: this machine must not outlive it.
      if (this.closing) throw new Error('Fleet: shutting down');
    } catch (e) {
      server.machine.clock.stop();
      server.host.guest?.detach();
      await server.close();
      throw e;
    }
    const slot: Slot = { name, index, server, address, transports: new Set() };
    server.qmp.on('session', (session: object) => {
      // See retire(): the session's socket, so a client that stopped reading can be cut off.
      const out = (session as { output?: unknown }).output;
      if (out instanceof net.Socket) {
        slot.transports.add(out);
        out.once('close', () => slot.transports.delete(out));
      }
    });
    this.slots.set(name, slot);
    server.host.setShutdownHandler((reason) => void this.retire(slot, reason));
    this.guardClock(slot);
    if (merged.start) server.machine.cont();
    return slot;
  }

  /**
   * A bug in a device model or in the guest that throws from a clock timer does so outside any
   * request, where nothing catches it: in one process for N machines it would take all N down.
   * Each machine's timer callbacks are run under a guard instead, and a machine whose emulation
   * threw goes away as if its QEMU process had died (its clients see the connection close, with
   * no SHUTDOWN). The clock's host is its injection point for scheduling (qdev's ClockHost);
   * CreateMachineOptions has no way to pass one, so it is replaced on the built clock.
   */
  private guardClock(slot: Slot): void {
    const clock = slot.server.machine.clock as unknown as { host?: ClockHost };
    const base = clock.host;
    if (!base || typeof base.immediate !== 'function' || typeof base.after !== 'function') return;
    const guard = (fn: () => void) => (): void => {
      try {
        fn();
      } catch (e) {
        this.crash(slot, e);
      }
    };
    clock.host = { immediate: (fn) => base.immediate(guard(fn)), after: (ms, fn) => base.after(ms, guard(fn)), wallNs: () => base.wallNs() };
  }

  private crash(slot: Slot, error: unknown): void {
    if (slot.retiring) return;
    slot.server.machine.runState = 'internal-error';
    this.emit('crash', slot as FleetMachine, error);
    slot.retiring = (async () => {
      slot.server.machine.clock.stop();
      slot.server.host.guest?.detach();
      await slot.server.qmp.close(); // clients are cut off at once, as by a dying process
      await slot.server.close();
      this.slots.delete(slot.name);
      this.emit('exit', slot as FleetMachine, 'internal-error' satisfies FleetExitReason);
    })();
  }

  private async open(server: PlugboardServer, name: string, index: number): Promise<FleetAddress> {
    const { socketDir, tcp } = this.options;
    if (socketDir) {
      await fsp.mkdir(socketDir, { recursive: true, mode: SOCKET_DIR_MODE });
      const p = path.join(socketDir, `${name}.sock`);
      await server.qmp.listenUnix(p, { mode: this.options.socketMode ?? DEFAULT_UNIX_SOCKET_MODE });
      return { kind: 'unix', path: path.resolve(p) };
    }
    const host = tcp!.host ?? DEFAULT_TCP_HOST;
    const base = tcp!.basePort ?? 0;
    const a = await server.qmp.listenTcp(host, base === 0 ? 0 : base + index);
    return { kind: 'tcp', host: a.host, port: a.port };
  }

  /**
   * Takes one machine away as SIGTERM takes a QEMU process: SHUTDOWN (reason `host-signal`)
   * to its clients, their output flushed, socket removed. Resolves when it is gone.
   */
  async destroy(name: string, reason: ShutdownReason = 'host-signal'): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`Fleet: no machine '${name}'`);
    if (!slot.retiring) slot.server.host.shutdown(reason);
    // shutdown() ran the handler synchronously unless the machine was already quitting.
    await (slot.retiring ?? this.retire(slot, reason));
  }

  /**
   * Every machine, as destroy() does, concurrently. New create() calls are refused, and those
   * still opening their socket close it again before this resolves.
   */
  async shutdown(reason: ShutdownReason = 'host-signal'): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.opening]);
    await Promise.all([...this.slots.values()].map((s) => (s.retiring ? s.retiring : this.destroy(s.name, reason))));
  }

  private retire(slot: Slot, reason: ShutdownReason): Promise<void> {
    slot.retiring ??= (async () => {
      const { server } = slot;
      // The clock would otherwise keep host timers (realtime) or turns (virtual) alive.
      server.machine.clock.stop();
      server.host.guest?.detach();
      const closed = server.close({ graceMs: this.options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS });
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), this.options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS)));
      if ((await Promise.race([closed, grace])) === 'late') {
        // A session that is flushing its last output is no longer the server's to destroy, and
        // the listener's close waits for its socket: QmpServer.close() would wait forever for a
        // client that never reads. Cut those sockets off here.
        for (const t of slot.transports) t.destroy();
      }
      clearTimeout(timer);
      await closed;
      this.slots.delete(slot.name);
      this.emit('exit', slot as FleetMachine, reason);
    })();
    return slot.retiring;
  }
}
