/**
 * The one deterministic scheduler (ARCHITECTURE.md "Time"). Time is in nanoseconds of
 * guest (virtual-clock) time. Timers fire in (deadline, creation order) order, so the
 * same inputs always give the same transcript.
 *
 * - `virtual`: when nothing else is runnable, time jumps to the next deadline.
 * - `realtime`: virtual time follows the host clock, multiplied by `scale`.
 *
 * Like QEMU's QEMU_CLOCK_VIRTUAL, the clock only advances while the VM runs
 * (`-S` prelaunch and `stop` freeze it).
 */
export type ClockMode = 'virtual' | 'realtime';

export const NS_PER_MS = 1_000_000;
export const NS_PER_SEC = 1_000_000_000;

export interface Timer {
  readonly deadline: number;
  readonly label: string;
  cancel(): void;
  readonly active: boolean;
}

interface TimerEntry {
  deadline: number;
  seq: number;
  label: string;
  cb: () => void;
  active: boolean;
}

/** How the clock asks its host to run it later; injectable for tests. */
export interface ClockHost {
  immediate(fn: () => void): void;
  after(ms: number, fn: () => void): { clear(): void };
  wallNs(): number;
}

const nodeHost: ClockHost = {
  immediate: (fn) => void setImmediate(fn),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return { clear: () => clearTimeout(t) };
  },
  wallNs: () => Number(process.hrtime.bigint()),
};

/** Timers run per turn of the host loop before yielding, so socket I/O is never starved. */
const TIMERS_PER_TURN = 256;

export class Clock {
  readonly mode: ClockMode;
  readonly scale: number;
  private now = 0;
  private seq = 0;
  private timers: TimerEntry[] = [];
  private running = false;
  private scheduled = false;
  private wakeup: { clear(): void } | undefined;
  /** Host time (ns) that corresponds to `now` while running in realtime mode. */
  private anchorWall = 0;
  private anchorVirtual = 0;
  private readonly host: ClockHost;
  /** Wall-clock epoch (µs since 1970) at virtual time 0: event timestamps are epoch + virtual time. */
  readonly epochMicros: number;
  private idleWaiters: Array<() => void> = [];

  constructor(opts: { mode?: ClockMode; scale?: number; host?: ClockHost; epochMicros?: number } = {}) {
    this.mode = opts.mode ?? 'virtual';
    this.scale = opts.scale ?? 1;
    if (!(this.scale > 0)) throw new RangeError('clock scale must be > 0');
    this.host = opts.host ?? nodeHost;
    this.epochMicros = opts.epochMicros ?? Date.now() * 1000;
  }

  /** Current virtual time in ns. */
  nowNs(): number {
    if (this.mode === 'realtime' && this.running) {
      const t = this.anchorVirtual + (this.host.wallNs() - this.anchorWall) * this.scale;
      if (t > this.now) this.now = Math.floor(t);
    }
    return this.now;
  }

  nowMs(): number {
    return Math.floor(this.nowNs() / NS_PER_MS);
  }

  /** `{seconds, microseconds}` for QMP event timestamps: the guest's spacing, anchored at start-up. */
  timestamp(): { seconds: number; microseconds: number } {
    const us = this.epochMicros + Math.floor(this.nowNs() / 1000);
    return { seconds: Math.floor(us / 1_000_000), microseconds: us % 1_000_000 };
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** VM run state changes (cont / stop). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.anchorWall = this.host.wallNs();
    this.anchorVirtual = this.now;
    this.kick();
  }

  stop(): void {
    if (!this.running) return;
    this.nowNs();
    this.running = false;
    this.wakeup?.clear();
    this.wakeup = undefined;
  }

  setTimer(delayNs: number, cb: () => void, label = 'timer'): Timer {
    const entry: TimerEntry = { deadline: this.nowNs() + Math.max(0, Math.floor(delayNs)), seq: this.seq++, label, cb, active: true };
    this.insert(entry);
    this.kick();
    return {
      get deadline() {
        return entry.deadline;
      },
      label,
      get active() {
        return entry.active;
      },
      cancel: () => {
        if (!entry.active) return;
        entry.active = false;
        const i = this.timers.indexOf(entry);
        if (i >= 0) this.timers.splice(i, 1);
        this.settleIfIdle();
      },
    };
  }

  /** Number of armed timers (used by leak checks). */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** Deadlines and labels of armed timers, soonest first. */
  listTimers(): Array<{ deadline: number; label: string }> {
    return this.timers.map((t) => ({ deadline: t.deadline, label: t.label }));
  }

  /**
   * Run every timer due at or before now + `ns`, then set now to that point. Works whether
   * or not the VM is running (a test or `__org.plugboard_clock-step` moves time by hand).
   */
  advance(ns: number): void {
    const target = this.nowNs() + Math.max(0, ns);
    while (this.timers.length && this.timers[0]!.deadline <= target) this.fireNext();
    if (target > this.now) this.now = target;
    this.anchorWall = this.host.wallNs();
    this.anchorVirtual = this.now;
  }

  /** Resolves when no timer is armed (or the VM is stopped with none due). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** In virtual mode: run everything now (jumping time) until no timer remains. */
  runUntilIdle(limit = 1_000_000): void {
    let n = 0;
    while (this.timers.length && n++ < limit) this.fireNext();
    this.settleIfIdle();
  }

  private isIdle(): boolean {
    return this.timers.length === 0 || !this.running;
  }

  private insert(e: TimerEntry): void {
    // Binary search keeps (deadline, seq) order.
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.timers[mid]!;
      if (m.deadline < e.deadline || (m.deadline === e.deadline && m.seq < e.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, e);
  }

  private fireNext(): void {
    const e = this.timers.shift()!;
    if (e.deadline > this.now) this.now = e.deadline;
    e.active = false;
    e.cb();
  }

  private kick(): void {
    if (!this.running || this.scheduled) return;
    this.scheduled = true;
    this.host.immediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    if (!this.running) return this.settleIfIdle();
    if (this.mode === 'virtual') {
      for (let n = 0; n < TIMERS_PER_TURN && this.timers.length && this.running; n++) this.fireNext();
      if (this.timers.length && this.running) this.kick();
      else this.settleIfIdle();
      return;
    }
    const now = this.nowNs();
    while (this.timers.length && this.timers[0]!.deadline <= now && this.running) this.fireNext();
    this.wakeup?.clear();
    this.wakeup = undefined;
    if (this.timers.length && this.running) {
      const waitMs = Math.max(0, (this.timers[0]!.deadline - this.nowNs()) / this.scale / NS_PER_MS);
      this.wakeup = this.host.after(Math.ceil(waitMs), () => {
        this.wakeup = undefined;
        this.kick();
      });
    } else this.settleIfIdle();
  }

  private settleIfIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
