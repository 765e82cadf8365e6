import { describe, expect, it } from 'vitest';
import { Clock, NS_PER_SEC, type ClockHost } from '../src/index.js';

function manualHost(): ClockHost & { run(): void; wall: number } {
  const q: Array<() => void> = [];
  const h = {
    wall: 0,
    immediate: (fn: () => void) => void q.push(fn),
    after: (_ms: number, fn: () => void) => {
      q.push(fn);
      return { clear() {} };
    },
    wallNs: () => h.wall,
    run() {
      while (q.length) q.shift()!();
    },
  };
  return h;
}

describe('virtual clock', () => {
  it('jumps to deadlines in order, deterministically, only while running', () => {
    const host = manualHost();
    const c = new Clock({ host, epochMicros: 1_000_000 });
    const seen: string[] = [];
    c.setTimer(5 * NS_PER_SEC, () => seen.push(`b@${c.nowNs()}`));
    c.setTimer(1 * NS_PER_SEC, () => {
      seen.push(`a@${c.nowNs()}`);
      c.setTimer(1 * NS_PER_SEC, () => seen.push(`c@${c.nowNs()}`));
    });
    host.run();
    expect(seen).toEqual([]); // stopped (-S): nothing runs
    c.start();
    host.run();
    expect(seen).toEqual([`a@${NS_PER_SEC}`, `c@${2 * NS_PER_SEC}`, `b@${5 * NS_PER_SEC}`]);
    expect(c.timestamp()).toEqual({ seconds: 6, microseconds: 0 });
    expect(c.pendingTimers()).toBe(0);
  });
  it('cancelled timers never fire', () => {
    const host = manualHost();
    const c = new Clock({ host });
    let fired = false;
    const t = c.setTimer(10, () => (fired = true));
    t.cancel();
    c.start();
    host.run();
    expect(fired).toBe(false);
    expect(t.active).toBe(false);
  });
  it('advance() runs due timers by hand', () => {
    const c = new Clock({ host: manualHost() });
    const seen: number[] = [];
    c.setTimer(100, () => seen.push(c.nowNs()));
    c.setTimer(300, () => seen.push(c.nowNs()));
    c.advance(200);
    expect(seen).toEqual([100]);
    expect(c.nowNs()).toBe(200);
  });
});
