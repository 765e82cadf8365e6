/**
 * Guest kernel ticks and the timer wheel, so that pciehp's sleeps and delayed work land
 * where a Debian 12 kernel's do. Debian builds 6.1 with CONFIG_HZ_250: a jiffy is 4 ms.
 *
 * - msleep(ms) arms a timer msecs_to_jiffies(ms) + 1 jiffies out (kernel/time/timer.c).
 * - Every wheel timer fires at the start of its bucket's jiffy. Level n of the wheel holds
 *   timers 63·8^(n-1) .. 63·8^n - 1 jiffies out with a granularity of 8^n jiffies, and the
 *   expiry is rounded *up* to the next bucket boundary (calc_index: "a timer does not fire
 *   early"; level 0 therefore fires one jiffy after `expires`). A 5 s delayed work (1250
 *   jiffies, level 2) thus fires 5004–5256 ms later, depending on the phase of the jiffies
 *   counter: what the recordings show (the unplug wait is 5.19 s in pciehp-root-port-dyndbg).
 *
 * Deterministic model: jiffies = INITIAL_JIFFIES + floor(uptime / 4 ms), uptime counted from
 * the kernel log's time 0. A real kernel's counter has an arbitrary phase against printk
 * time (the recordings show several), so exact bucket boundaries are ours, the rules are
 * Linux's. Guest durations scale with the `slow` policy: a jiffy lasts 4 ms × slow.
 */
import { NS_PER_MS } from '@plugboard/qdev';
import type { Scheduler, Wait } from '../../os/sched.js';

export const HZ = 250;
export const MS_PER_JIFFY = 1000 / HZ;
/** include/linux/jiffies.h: 64-bit jiffies start 300 s before the 32-bit counter wraps. */
export const INITIAL_JIFFIES = 2 ** 32 - 300 * HZ;

const LVL_CLK_DIV = 8;
const LVL_SIZE = 64;
const LVL_DEPTH = 9;

/** msecs_to_jiffies (HZ divides 1000: rounds up). */
export const msecsToJiffies = (ms: number): number => Math.ceil(ms / MS_PER_JIFFY);
export const jiffiesToMsecs = (j: number): number => j * MS_PER_JIFFY;

/**
 * calc_wheel_index: the jiffy at which a timer armed at `clk` for `expires` runs. Plain
 * arithmetic: jiffies exceed 2^31, where JavaScript's shift operators wrap.
 */
export function wheelExpiry(expires: number, clk: number): number {
  const delta = expires - clk;
  if (delta < 0) return clk; // already due: runs at the next tick
  let lvl = 0;
  while (lvl < LVL_DEPTH - 1 && delta >= (LVL_SIZE - 1) * LVL_CLK_DIV ** lvl) lvl++;
  const gran = LVL_CLK_DIV ** lvl;
  return (Math.floor(expires / gran) + 1) * gran;
}

/** The guest's jiffies counter on the virtual clock. */
export class Jiffies {
  /**
   * @param epochNs virtual time of the kernel log's 0.000000 (the kernel's start)
   */
  constructor(
    private readonly sched: Scheduler,
    readonly epochNs: number,
  ) {}

  private get nsPerJiffy(): number {
    return MS_PER_JIFFY * NS_PER_MS * this.sched.slow;
  }

  /** `jiffies`. */
  now(): number {
    return INITIAL_JIFFIES + Math.floor((this.sched.now() - this.epochNs) / this.nsPerJiffy);
  }

  /** Virtual ns from now to the start of jiffy `j` (0 if it has begun). */
  nsUntil(j: number): number {
    return Math.max(0, Math.round(this.epochNs + (j - INITIAL_JIFFIES) * this.nsPerJiffy - this.sched.now()));
  }

  /** Virtual ns until a wheel timer armed now for `timeout` jiffies fires. */
  timerNs(timeout: number): number {
    const now = this.now();
    return this.nsUntil(wheelExpiry(now + timeout, now));
  }

  /** msleep(ms): yield it from a task. */
  msleep(ms: number): Wait {
    return { kind: 'sleep', ns: this.timerNs(msecsToJiffies(ms) + 1) };
  }
}

/**
 * The virtual time of the kernel log's 0.000000, recovered from its `[    s.uuuuuu]` stamp
 * (KernelLog keeps the epoch private; the stamp has microsecond resolution, enough for
 * jiffies of 4 ms).
 */
export function kernelEpochNs(stamp: string, nowNs: number): number {
  const m = /\[\s*(\d+)\.(\d{6})\]/.exec(stamp);
  if (!m) return nowNs;
  return nowNs - (Number(m[1]) * 1_000_000 + Number(m[2])) * 1000;
}
