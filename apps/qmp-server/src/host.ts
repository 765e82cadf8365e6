/**
 * One machine behind QMP: its plugin set, its run state, the event stream every monitor
 * receives, and the hooks a guest or a backend attaches to.
 */
import type { MachineEvent, PluginSet } from '@plugboard/qdev';
import type { PlugboardMachine } from '@plugboard/machines';
import { pluginHmpCommand, type HmpCommand } from './hmp.js';
import type { AttachedGuest, AttachedPseriesGuest } from '@plugboard/guest';

export type ShutdownReason = 'host-qmp-quit' | 'host-signal' | 'guest-shutdown';

export class MachineHost {
  readonly hmpExtensions = new Map<string, HmpCommand>();
  /** What query-version and `info version` report. */
  version = { qemu: { major: 7, minor: 2, micro: 22 }, package: 'Plugboard 0.1.0' };
  private readonly eventListeners = new Set<(ev: MachineEvent, ts: { seconds: number; microseconds: number }) => void>();
  private shutdownHandler: ((reason: ShutdownReason) => void) | undefined;
  shuttingDown = false;
  /** The simulated guest, when the machine has one (x86 for now). */
  guest: AttachedGuest | AttachedPseriesGuest | undefined;

  /** The QEMU binary this machine stands for (`x86_64`, `ppc64`). */
  readonly arch: string;

  constructor(
    readonly machine: PlugboardMachine,
    readonly plugins: PluginSet,
  ) {
    for (const c of plugins.hmpCommands) this.hmpExtensions.set(c.name, pluginHmpCommand(c));
    this.arch = plugins.machineTypes.find((t) => `${t.name}-machine` === machine.typeName)?.arch ?? 'x86_64';
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

  systemReset(): void {
    this.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
  }

  setShutdownHandler(fn: (reason: ShutdownReason) => void): void {
    this.shutdownHandler = fn;
  }

  /**
   * SHUTDOWN event, then the process (or fleet slot) decides what to do. `later` defers that
   * decision (quit: until its reply is on the wire, as QEMU sends SHUTDOWN, then the return).
   */
  shutdown(reason: ShutdownReason, later?: (fn: () => void) => void): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.machine.runState = 'shutdown';
    this.machine.events.emit('SHUTDOWN', { guest: false, reason });
    const go = () => this.shutdownHandler?.(reason);
    if (later) later(go);
    else go();
  }
}
