/**
 * Guest time and tasks on the machine's virtual clock (ARCHITECTURE.md "Time").
 *
 * A guest task is a generator: it yields `sleep(ms)` or `wait(signal, timeoutMs)` and is
 * resumed from a clock timer. No promises: a promise continuation runs only after the
 * clock's whole timer batch, when virtual time may already have jumped past the wake-up,
 * whereas a timer callback runs at exactly its deadline. So a task's config accesses
 * happen at the virtual time Linux would make them, and two runs give the same trace.
 *
 * Wake-ups (signals, interrupts) never run the woken code inside the caller: they go
 * through a zero-delay timer, like a wake_up() that makes a task runnable.
 */
import { NS_PER_MS, type Clock, type Timer } from '@plugboard/qdev';

export type Wait = { kind: 'sleep'; ns: number } | { kind: 'wait'; signal: Signal; ns: number | undefined };

/** A task body: yields waits, receives `true` when woken (or slept), `false` on a wait timeout. */
export type TaskBody<T = void> = Generator<Wait, T, boolean>;

/** A wait queue: tasks wait on it, interrupt handlers and other tasks wake it. */
export class Signal {
  private waiters: Array<() => void> = [];

  constructor(
    private readonly sched: Scheduler,
    readonly name: string,
  ) {}

  /** wake_up_all: every task waiting now becomes runnable (runs from a 0 ns timer). */
  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) this.sched.defer(`wake:${this.name}`, f);
  }

  /** @internal Registers a one-shot waiter; returns its removal. */
  add(f: () => void): () => void {
    this.waiters.push(f);
    return () => {
      this.waiters = this.waiters.filter((x) => x !== f);
    };
  }

  get waiting(): number {
    return this.waiters.length;
  }
}

export class Task<T = void> {
  done = false;
  result: T | undefined;
  private timer: Timer | undefined;
  private unwait: (() => void) | undefined;
  /** Bumped at every resume: callbacks of an older wait are stale. */
  private epoch = 0;
  private readonly doneHooks: Array<(r: T | undefined) => void> = [];

  constructor(
    private readonly sched: Scheduler,
    readonly name: string,
    private readonly body: TaskBody<T>,
  ) {}

  /** @internal */
  resume(value: boolean): void {
    if (this.done) return;
    this.epoch++;
    this.timer = undefined;
    this.unwait = undefined;
    let r: IteratorResult<Wait, T>;
    try {
      r = this.body.next(value);
    } catch (e) {
      this.finish(undefined);
      this.sched.crashed(this, e);
      return;
    }
    if (r.done) this.finish(r.value);
    else this.arm(r.value);
  }

  private arm(w: Wait): void {
    const epoch = this.epoch;
    const live = (f: (v: boolean) => void, v: boolean) => () => {
      if (this.epoch === epoch) f(v);
    };
    const go = (v: boolean) => this.resume(v);
    if (w.kind === 'sleep') {
      this.timer = this.sched.clock.setTimer(w.ns, live(go, true), `${this.sched.label}:${this.name}`);
      return;
    }
    this.unwait = w.signal.add(live((v) => {
      this.timer?.cancel();
      go(v);
    }, true));
    if (w.ns !== undefined) {
      this.timer = this.sched.clock.setTimer(w.ns, live((v) => {
        this.unwait?.();
        go(v);
      }, false), `${this.sched.label}:${this.name}:timeout`);
    }
  }

  private finish(r: T | undefined): void {
    this.done = true;
    this.result = r;
    for (const h of this.doneHooks.splice(0)) h(r);
  }

  /** Stops the task where it waits (kthread_stop / cancel_work). */
  cancel(): void {
    if (this.done) return;
    this.timer?.cancel();
    this.unwait?.();
    this.epoch++;
    this.body.return(undefined as T);
    this.finish(undefined);
  }

  onDone(h: (r: T | undefined) => void): void {
    if (this.done) h(this.result);
    else this.doneHooks.push(h);
  }
}

export class Scheduler {
  private readonly tasks = new Set<Task<unknown>>();

  /**
   * @param slow the `slow=FACTOR` policy: every guest-chosen duration is multiplied by it.
   * @param onCrash a task threw (a guest "oops"): reported, the machine keeps running.
   */
  constructor(
    readonly clock: Clock,
    readonly slow = 1,
    readonly label = 'guest',
    private readonly onCrash: (task: string, err: unknown) => void = () => {},
  ) {}

  /** A guest duration in clock nanoseconds, scaled by the slow factor. */
  ns(ms: number): number {
    return Math.round(ms * NS_PER_MS * this.slow);
  }

  /** Guest time now, in ns of virtual time. */
  now(): number {
    return this.clock.nowNs();
  }

  /** Runs `fn` after `ms` guest milliseconds (scaled). */
  after(ms: number, label: string, fn: () => void): Timer {
    return this.clock.setTimer(this.ns(ms), fn, `${this.label}:${label}`);
  }

  /** Runs `fn` as soon as the clock runs, never inside the caller. */
  defer(label: string, fn: () => void): Timer {
    return this.clock.setTimer(0, fn, `${this.label}:${label}`);
  }

  sleep(ms: number): Wait {
    return { kind: 'sleep', ns: this.ns(ms) };
  }

  /** Waits until `signal` is woken; with a timeout the task receives false when it expires. */
  wait(signal: Signal, timeoutMs?: number): Wait {
    return { kind: 'wait', signal, ns: timeoutMs === undefined ? undefined : this.ns(timeoutMs) };
  }

  /** wait_event_timeout: true once `cond()` holds, false if `timeoutMs` passes first. */
  *waitEvent(signal: Signal, cond: () => boolean, timeoutMs: number): TaskBody<boolean> {
    const deadline = this.now() + this.ns(timeoutMs);
    while (!cond()) {
      const left = deadline - this.now();
      if (left <= 0) return cond();
      yield { kind: 'wait', signal, ns: left };
    }
    return true;
  }

  signal(name: string): Signal {
    return new Signal(this, name);
  }

  /** Starts a task; its first step runs from a 0 ns timer (queue_work semantics). */
  spawn<T>(name: string, body: TaskBody<T>): Task<T> {
    const t = new Task<T>(this, name, body);
    this.tasks.add(t as Task<unknown>);
    t.onDone(() => this.tasks.delete(t as Task<unknown>));
    this.defer(`start:${name}`, () => t.resume(true));
    return t;
  }

  /** Tasks not yet finished (sleeping, waiting or about to start). */
  get running(): number {
    return this.tasks.size;
  }

  /** Cancels every task (guest shutdown / reset). */
  cancelAll(): void {
    for (const t of [...this.tasks]) t.cancel();
  }

  /** @internal */
  crashed(task: { name: string }, err: unknown): void {
    this.onCrash(task.name, err);
  }
}
