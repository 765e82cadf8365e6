/**
 * One machine behind QMP: its plugin set, its run state, the event stream every monitor
 * receives, and the hooks a guest or a backend attaches to.
 */
import type { MachineEvent, PluginSet } from '@plugboard/qdev';
import type { PlugboardMachine } from '@plugboard/machines';
import { pluginHmpCommand, type HmpCommand } from './hmp.js';
import type { AttachedGuest, AttachedPseriesGuest } from '@plugboard/guest';

export type ShutdownReason = 'host-qmp-quit' | 'host-signal' | 'host-qmp-system-reset' | 'guest-shutdown' | 'guest-reset';

export class MachineHost {
  readonly hmpExtensions = new Map<string, HmpCommand>();
  /** What query-version and `info version` report. */
  version = { qemu: { major: 7, minor: 2, micro: 22 }, package: 'Plugboard 0.1.0' };
  private readonly eventListeners = new Set<(ev: MachineEvent, ts: { seconds: number; microseconds: number }) => void>();
  private shutdownHandler: ((reason: ShutdownReason) => void) | undefined;
  shuttingDown = false;
  /** The simulated guest, when the machine has one (x86 for now). */
  guest: AttachedGuest | AttachedPseriesGuest | undefined;

  /** `-no-shutdown` (shutdown action "pause"): a guest shutdown stops the VM instead of exiting. */
  noShutdown = false;

  /** The QEMU binary this machine stands for (`x86_64`, `ppc64`). */
  readonly arch: string;

  constructor(
    readonly machine: PlugboardMachine,
    readonly plugins: PluginSet,
  ) {
    for (const c of plugins.hmpCommands) this.hmpExtensions.set(c.name, pluginHmpCommand(c));
    this.arch = plugins.machineTypes.find((t) => `${t.name}-machine` === machine.typeName)?.arch ?? 'x86_64';
    // qemu_system_shutdown_request from the guest (RTAS power-off): main_loop_should_exit.
    machine.onShutdownRequest((cause) => this.requestedShutdown(cause.reason as ShutdownReason));
    machine.events.on((ev) => {
      const ts = machine.clock.timestamp();
      for (const l of this.eventListeners) l(ev, ts);
    });
  }

  onEvent(fn: (ev: MachineEvent, ts: { seconds: number; microseconds: number }) => void): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  /** Called after QMP/HMP changed the device set (lets a clock-driven guest react). */
  afterHotplug(): void {}

  /**
   * system_reset is a reset request like a guest's (qemu_system_reset_request): with -no-reboot
   * (reboot action shutdown) it is a shutdown with reason host-qmp-system-reset, for a VM that
   * never ran too — checked against QEMU 7.2. `later` as for shutdown(): QEMU's reply to
   * system_reset still reaches the client (SHUTDOWN first, then the return, then the exit).
   */
  systemReset(later?: (fn: () => void) => void): void {
    if (this.machine.rebootAction === 'shutdown') return this.requestedShutdown('host-qmp-system-reset', later);
    this.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
  }

  /**
   * Who ends the process (or fleet slot) at a shutdown. A shutdown decided before anyone was
   * set (a client can `quit` while the CLI is still finishing its start-up) is handed over now.
   */
  setShutdownHandler(fn: (reason: ShutdownReason) => void): void {
    this.shutdownHandler = fn;
    const pending = this.unhandledShutdown;
    this.unhandledShutdown = undefined;
    if (pending) fn(pending);
  }

  private unhandledShutdown: ShutdownReason | undefined;

  /**
   * SHUTDOWN event, then the process (or fleet slot) decides what to do. `later` defers that
   * decision (quit: until its reply is on the wire, as QEMU sends SHUTDOWN, then the return).
   */
  shutdown(reason: ShutdownReason, later?: (fn: () => void) => void): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.machine.runState = 'shutdown';
    this.machine.events.emit('SHUTDOWN', { guest: reason.startsWith('guest-'), reason });
    const go = () => {
      if (this.shutdownHandler) this.shutdownHandler(reason);
      else this.unhandledShutdown = reason;
    };
    if (later) later(go);
    else go();
  }

  /**
   * A shutdown request (qemu_system_shutdown_request: the guest, or a reset with -no-reboot):
   * SHUTDOWN, then the process exits, or with -no-shutdown a running VM stops in `shutdown`
   * (STOP) and stays until system_reset (main_loop_should_exit).
   */
  requestedShutdown(reason: ShutdownReason, later?: (fn: () => void) => void): void {
    if (this.shuttingDown) return;
    if (!this.noShutdown) return this.shutdown(reason, later);
    this.machine.events.emit('SHUTDOWN', { guest: reason.startsWith('guest-'), reason });
    this.machine.stopWith('shutdown');
  }
}
