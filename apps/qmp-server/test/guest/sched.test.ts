import { describe, expect, it } from 'vitest';
import { Clock, NS_PER_MS } from '@plugboard/qdev';
import type { GuestView, InterruptEvent, InterruptHandler } from '@plugboard/pci-core';
import { IrqDispatcher, LinuxGuest, parseGuestPolicy, Scheduler, type TaskBody } from '@plugboard/guest';

const ms = (n: number) => n * NS_PER_MS;

describe('Scheduler', () => {
  it('runs tasks at their virtual deadlines, scaled by the slow factor', () => {
    const clock = new Clock();
    const sched = new Scheduler(clock, 2);
    const at: number[] = [];
    sched.spawn('t', (function* (): TaskBody {
      at.push(clock.nowNs());
      yield sched.sleep(5);
      at.push(clock.nowNs());
      yield sched.sleep(1000);
      at.push(clock.nowNs());
    })());
    expect(at).toEqual([]); // never inside spawn()
    clock.advance(ms(9));
    expect(at).toEqual([0]); // first step ran; the (scaled) 10 ms sleep has not ended
    clock.runUntilIdle();
    expect(at).toEqual([0, ms(10), ms(2010)]);
  });

  it('waitEvent: woken by a signal (through a 0 ns timer) or timed out', () => {
    const clock = new Clock();
    const sched = new Scheduler(clock);
    const sig = sched.signal('cmd');
    let busy = true;
    const results: Array<[boolean, number]> = [];
    const waiter = function* (): TaskBody {
      results.push([yield* sched.waitEvent(sig, () => !busy, 1000), clock.nowNs()]);
    };
    sched.spawn('a', waiter());
    clock.advance(ms(30));
    busy = false;
    sig.wake();
    expect(results).toEqual([]); // the woken task runs from the clock, not from wake()
    clock.runUntilIdle();
    expect(results).toEqual([[true, ms(30)]]);
    busy = true;
    sched.spawn('b', waiter());
    clock.runUntilIdle();
    expect(results[1]).toEqual([false, ms(1030)]);
  });

  it('cancel stops a sleeping task; a throwing task is reported, not propagated', () => {
    const clock = new Clock();
    const crashes: string[] = [];
    const sched = new Scheduler(clock, 1, 'guest', (name, e) => crashes.push(`${name}: ${(e as Error).message}`));
    let reached = false;
    const t = sched.spawn('sleeper', (function* (): TaskBody {
      yield sched.sleep(100);
      reached = true;
    })());
    sched.spawn('bad', (function* (): TaskBody {
      yield sched.sleep(1);
      throw new Error('oops');
    })());
    clock.advance(ms(50));
    t.cancel();
    clock.runUntilIdle();
    expect([reached, t.done, sched.running, crashes]).toEqual([false, true, 0, ['bad: oops']]);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('policies', () => {
  it('parses names, slow factors and combinations; rejects the rest', () => {
    expect(parseGuestPolicy('linux')).toEqual({ name: 'linux', slow: 1 });
    expect(parseGuestPolicy('slow=2.5')).toEqual({ name: 'linux', slow: 2.5 });
    expect(parseGuestPolicy('no-hotplug-driver, slow=4')).toEqual({ name: 'no-hotplug-driver', slow: 4 });
    expect(() => parseGuestPolicy('slow=0')).toThrow(/positive/);
    expect(() => parseGuestPolicy('windows')).toThrow(/unknown policy 'windows'/);
  });
});

/** A GuestView stand-in: only what the dispatcher and the scan use. */
function fakeView(configRead: (devfn: number, off: number, size: number) => number = () => 0xffffffff) {
  const handlers = new Set<InterruptHandler>();
  const view = {
    onInterrupt: (h: InterruptHandler) => (handlers.add(h), () => handlers.delete(h)),
    raise: (ev: InterruptEvent) => handlers.forEach((h) => h(ev)),
    configRead: (b: { bus: number; devfn: number }, off: number, size: number) => (b.bus === 0 ? configRead(b.devfn, off, size) : 0xffffffff),
    configWrite: () => {},
  };
  return view as unknown as GuestView & { raise(ev: InterruptEvent): void };
}

describe('IrqDispatcher', () => {
  it('routes MSI by vector, INTx through the PIRQ table, SCI by IRQ; shared lines call every handler', () => {
    const clock = new Clock();
    const view = fakeView();
    const irq = new IrqDispatcher(view, new Scheduler(clock), () => {});
    irq.attach();
    const got: string[] = [];
    const msi = irq.allocMsi('pciehp', (ev) => void got.push(`msi ${ev.line}`));
    const msi2 = irq.allocMsi('other', () => true);
    // 0x21 is taken at boot; one CPU: flat logical destination 1, DM logical (recorded 0xfee01004).
    expect([msi.vector, msi2.vector, msi.address, msi.data]).toEqual([0x22, 0x23, 0xfee01004, 0x22]);
    irq.setPirqRouting([10, 10, 11, 0x80]);
    irq.requestIrq(11, 'a', () => void got.push('a'));
    irq.requestIrq(11, 'b', () => (got.push('b'), true));
    irq.requestIrq(9, 'acpi', () => (got.push('sci'), true));
    view.raise({ kind: 'msi', line: 0x22 });
    view.raise({ kind: 'intx', line: 2, level: 1 });
    view.raise({ kind: 'intx', line: 2, level: 0 }); // deassertion: nothing to run
    view.raise({ kind: 'intx', line: 3, level: 1 }); // PIRQD not routed
    view.raise({ kind: 'sci', line: 9, level: 1 });
    expect(got).toEqual([]); // delivered from the clock, after the raising code returns
    clock.runUntilIdle();
    expect(got).toEqual(['msi 34', 'a', 'b', 'sci']);
    expect(Object.fromEntries(irq.counts)).toEqual({ 'msi:34': 1, 'irq:11': 1, 'irq:9': 1 });
    expect(irq.spurious).toBe(1);
    msi.free();
    expect(irq.allocMsi('again', () => true).vector).toBe(0x22);
  });
});

describe('PCI scan', () => {
  it('waits out Configuration Request Retry Status with doubling delays', () => {
    const clock = new Clock();
    // 00:00.0 answers CRS (vendor 0x0001) for its first 20 ms, then is a host bridge.
    const read = (devfn: number, off: number, size: number) => {
      if (devfn !== 0) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
      if (off === 0 && clock.nowNs() < ms(20)) return 0xffff0001;
      const cfg: Record<number, number> = { 0: 0x12378086, 0x08: 0x06000002, 0x0e: 0 };
      return (cfg[off] ?? 0) & (size === 4 ? 0xffffffff : (1 << (8 * size)) - 1);
    };
    const guest = new LinuxGuest({ view: fakeView(read), clock, hotplugDrivers: [] });
    const task = guest.sched.spawn('scan', guest.pci.scanRootBus(0));
    clock.runUntilIdle();
    expect(task.done).toBe(true);
    expect(guest.pci.devices().map((d) => `${d.name} ${d.vendor.toString(16)}:${d.device.toString(16)}`)).toEqual(['0000:00:00.0 8086:1237']);
    expect(clock.nowNs()).toBe(ms(1 + 2 + 4 + 8 + 16)); // the retry after 31 ms succeeds
  });
});
