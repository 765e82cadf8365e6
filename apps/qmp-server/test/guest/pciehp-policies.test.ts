/**
 * pciehp beyond the recordings: guest policies, the sysfs slot files, driver options
 * (native-hotplug decision, poll mode) and the HZ=250 timer-wheel arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { createPciehpDriver, INITIAL_JIFFIES, pciehpSlot, pciehpSlots, wheelExpiry } from '@plugboard/guest';
import { deviceAdd, deviceDel, findDevice } from '@plugboard/qdev';
import { boot, pcieRegs, pciehpLines, recording, stampMs, text, type Recording } from './pciehp-harness.js';

const rec = recording('root-port');
const RP = '0000:00:01.0';
const NIC = '0000:01:00.0';
const deletedAt = (run: ReturnType<typeof boot>) => run.events.find((e) => e.name === 'DEVICE_DELETED')?.ms;

describe('pciehp and the guest policies', () => {
  it('ignore-unplug: hot-add works, the button press of device_del is ignored and the device stays', () => {
    const run = boot(rec, { policy: 'ignore-unplug' });
    run.add();
    expect(run.events.map((e) => e.name)).toContain('X_DEVICE_ON');
    const at = run.del();
    expect(pciehpLines(run.log(at))).toEqual(['pcieport 0000:00:01.0: pciehp: Slot(1): Attention button pressed']);
    expect(deletedAt(run)).toBeUndefined();
    expect(run.guest.device(NIC)?.driver).toBe('e1000e');
    expect(pcieRegs(run.guest.device(RP)!).SLTCTL).toBe('0x01f1'); // never blinked: QEMU takes another request
    run.m.clock.advance(5001 * 1e6); // once QEMU's pending unplug expired (5 s)
    const again = run.del();
    expect(pciehpLines(run.log(again))).toEqual(['pcieport 0000:00:01.0: pciehp: Slot(1): Attention button pressed']);
    expect(deletedAt(run)).toBeUndefined();
    expect(pciehpSlot(run.guest.device(RP)!)!.state).toBe('on');
  });

  it('no-hotplug-driver: the slot is never enabled; the device stays powered off and invisible', () => {
    const run = boot(rec, { policy: 'no-hotplug-driver' });
    expect(run.guest.klog.texts().filter((l) => l.startsWith('pcieport '))).toEqual([]);
    const rp = run.guest.device(RP)!;
    expect(pcieRegs(rp).SLTCTL).toBe('0x07c0');
    run.add();
    expect(run.events.map((e) => e.name)).not.toContain('X_DEVICE_ON');
    expect(pcieRegs(rp).SLTSTA).toBe('0x0049'); // PDS, PDC, ABP latched, nobody looks
    expect(run.guest.view.configRead({ bus: 1, devfn: 0 }, 0, 4)).toBe(0xffffffff); // PCC off: no power
    expect(run.guest.device(NIC)).toBeUndefined();
  });

  it('none: no kernel runs, so nothing answers the slot', () => {
    const run = boot(rec, { policy: 'none' });
    expect(run.guest.klog.lines).toEqual([]);
    run.add();
    expect(run.events.map((e) => e.name)).toEqual(['RESUME']);
  });

  it('slow=2 doubles every guest delay: link wait, button wait, power-off settle', () => {
    const run = boot(rec, { policy: 'slow=2' });
    let at = run.add();
    const lines = run.log(at);
    const button = stampMs(lines.find((l) => l.includes('Attention button pressed'))!);
    const scan = stampMs(lines.find((l) => l.includes('[8086:10d3]'))!);
    expect(scan - button).toBeGreaterThanOrEqual(2 * 128);
    expect(scan - button).toBeLessThanOrEqual(2 * 136);
    const t0 = run.nowMs();
    at = run.del();
    const spacing = deletedAt(run)! - t0;
    expect(spacing).toBeGreaterThanOrEqual(2 * (5004 + 1004));
    expect(spacing).toBeLessThanOrEqual(2 * (5256 + 1036));
  });
});

describe('pciehp sysfs slot files', () => {
  it('power=0 skips the button wait: unbind, PCC off, 1 s, PIC off -> DEVICE_DELETED', async () => {
    const run = boot(rec);
    run.add();
    const slot = pciehpSlot(run.guest.device(RP)!)!;
    const t0 = run.nowMs();
    const at = run.guest.klog.lines.length;
    const done = slot.setPower(false);
    run.m.clock.runUntilIdle();
    expect(await done).toBe(0);
    const spacing = deletedAt(run)! - t0;
    expect(spacing).toBeGreaterThanOrEqual(1004);
    expect(spacing).toBeLessThanOrEqual(1036);
    expect(pciehpLines(run.log(at))).toEqual([]);
    expect([slot.state, slot.power, slot.adapter]).toEqual(['off', 0, 0]);
    expect(pcieRegs(run.guest.device(RP)!).SLTCTL).toBe('0x07f1');
    // Writing 0 again: refused without touching the slot.
    const again = slot.setPower(false);
    run.m.clock.runUntilIdle();
    expect(await again).toBe(-19);
    expect(run.log(at).map(text)).toContain('pcieport 0000:00:01.0: pciehp: Slot(1): Already disabled');
  });

  it('power=1 on an empty slot fails with ENODEV; attention follows the written value', async () => {
    const run = boot(rec);
    const slot = pciehpSlots(run.guest)[0]!;
    const on = slot.setPower(true);
    run.m.clock.runUntilIdle();
    expect(await on).toBe(-19);
    expect(slot.state).toBe('off');
    const attn = slot.setAttention(1);
    run.m.clock.runUntilIdle();
    expect(await attn).toBe(0);
    expect([slot.attention, pcieRegs(run.guest.device(RP)!).SLTCTL]).toEqual([1, '0x0771']);
    expect(slot.latch).toBeUndefined(); // no MRL sensor on QEMU's slots
  });
});

/** The slot's attention button, as the `__org.plugboard_press-attention-button` command presses it. */
function pressButton(run: ReturnType<typeof boot>, portId = 'rp1'): void {
  const port = findDevice(run.m, portId);
  port.childBuses.map((b) => b.hotplugHandler).find((h) => h?.pressAttentionButton)!.pressAttentionButton!(port);
}

describe('pciehp attention button', () => {
  it('a second press within 5 s cancels the removal: the slot stays on', () => {
    const run = boot(rec);
    run.add();
    const at = run.guest.klog.lines.length;
    deviceDel(run.m, 'nic1'); // the clock is not run: the press is taken at the next step
    run.m.clock.advance(1000 * 1e6);
    expect(pcieRegs(run.guest.device(RP)!).SLTCTL).toBe('0x02f1'); // power indicator blinking
    pressButton(run);
    run.m.clock.runUntilIdle();
    expect(pciehpLines(run.log(at))).toEqual([
      'pcieport 0000:00:01.0: pciehp: Slot(1): Attention button pressed',
      'pcieport 0000:00:01.0: pciehp: Slot(1): Powering off due to button press',
      'pcieport 0000:00:01.0: pciehp: Slot(1): Attention button pressed',
      'pcieport 0000:00:01.0: pciehp: Slot(1): Button cancel',
      'pcieport 0000:00:01.0: pciehp: Slot(1): Action canceled due to button press',
    ]);
    expect(pcieRegs(run.guest.device(RP)!).SLTCTL).toBe('0x01f1');
    expect(deletedAt(run)).toBeUndefined();
    expect(pciehpSlots(run.guest)[0]!.state).toBe('on');
  });

  it('a press on an empty slot blinks for 5 s, then finds no card and turns the indicator off', () => {
    const run = boot(rec);
    const at = run.guest.klog.lines.length;
    pressButton(run);
    run.m.clock.advance(1000 * 1e6);
    expect(pciehpSlots(run.guest)[0]!.state).toBe('blinking-on');
    run.m.clock.runUntilIdle();
    const lines = run.log(at);
    expect(pciehpLines(lines)).toEqual([
      'pcieport 0000:00:01.0: pciehp: Slot(1): Attention button pressed',
      'pcieport 0000:00:01.0: pciehp: Slot(1) Powering on due to button press',
      'pcieport 0000:00:01.0: pciehp: Slot(1): Card not present',
    ]);
    const waited = stampMs(lines[2]!) - stampMs(lines[0]!);
    expect(waited).toBeGreaterThanOrEqual(5004);
    expect(waited).toBeLessThanOrEqual(5256);
    expect([pciehpSlots(run.guest)[0]!.state, pcieRegs(run.guest.device(RP)!).SLTCTL]).toEqual(['off', '0x07f1']);
  });
});

describe('pciehp driver options and boot states', () => {
  it('a cold-plugged device leaves the slot ON at probe; device_del still removes it', () => {
    const cold: Recording = { ...rec, argv: [...rec.argv, '-device', 'e1000e,bus=rp1,id=nic1'] };
    const run = boot(cold);
    const slot = pciehpSlots(run.guest)[0]!;
    expect([slot.state, slot.power, slot.adapter]).toEqual(['on', 1, 1]);
    expect(pcieRegs(run.guest.device(RP)!).SLTCTL).toBe('0x01f1');
    run.del();
    expect(deletedAt(run)).toBeDefined();
    expect(slot.state).toBe('off');
  });

  it('after system_reset the guest boots again with the same IRQ and slot name, the device cold-plugged', () => {
    const run = boot(rec);
    run.add();
    run.m.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    const at = run.guest.klog.lines.length;
    run.m.clock.runUntilIdle();
    expect(run.log(at).map(text).filter((l) => l.startsWith('pcieport '))).toEqual([
      'pcieport 0000:00:01.0: PME: Signaling with IRQ 24',
      'pcieport 0000:00:01.0: AER: enabled with IRQ 24',
      'pcieport 0000:00:01.0: pciehp: Slot #1 AttnBtn+ PwrCtrl+ MRL- AttnInd+ PwrInd+ HotPlug+ Surprise+ Interlock+ NoCompl- IbPresDis- LLActRep+',
    ]);
    const slot = pciehpSlots(run.guest)[0]!;
    expect([slot.name, slot.state]).toEqual(['1', 'on']);
    expect(run.guest.device(NIC)?.driver).toBe('e1000e');
    run.del();
    expect(deletedAt(run)).toBeDefined();
  });

  it('nativeHotplug=false leaves the port to others: port services still start, pciehp does not bind', () => {
    const run = boot(rec, { hotplugDrivers: [createPciehpDriver({ nativeHotplug: () => false })] });
    expect(run.guest.klog.texts().filter((l) => l.startsWith('pcieport '))).toEqual([
      'pcieport 0000:00:01.0: PME: Signaling with IRQ 24',
      'pcieport 0000:00:01.0: AER: enabled with IRQ 24',
    ]);
    expect(pciehpSlots(run.guest)).toEqual([]);
    expect(pcieRegs(run.guest.device(RP)!).SLTCTL).toBe('0x07c0');
  });

  it('poll mode: no interrupt enables; the poll thread finds the hot-add 10 s after probe', () => {
    // The poll thread keeps the clock busy for ever: step it instead of running it dry.
    const run = boot(rec, { hotplugDrivers: [createPciehpDriver({ pollMode: true })] }, 3000);
    const rp = run.guest.device(RP)!;
    expect(pcieRegs(rp).SLTCTL).toBe('0x07c1'); // ABPE only (QEMU does not latch DLLSCE)
    const probe = stampMs(run.guest.klog.lines.find((l) => l.includes('Slot #1'))!);
    deviceAdd(run.m, { driver: 'e1000e', bus: 'rp1', id: 'nic1' });
    run.m.clock.advance(12_000 * 1e6);
    const pressed = stampMs(run.guest.klog.lines.find((l) => l.includes('Attention button pressed'))!);
    expect(pressed - probe).toBeGreaterThanOrEqual(10_000);
    expect(pressed - probe).toBeLessThanOrEqual(10_000 + 256);
    expect(run.guest.device(NIC)?.driver).toBe('e1000e');
    expect(pcieRegs(rp)).toMatchObject({ SLTCTL: '0x01c1', SLTSTA: '0x0040' });
    expect(run.events.map((e) => e.name)).toContain('X_DEVICE_ON');
  });
});

describe('HZ=250 timer wheel', () => {
  it('rounds expiries up to the bucket of their level', () => {
    const j = INITIAL_JIFFIES + 1000;
    expect(wheelExpiry(j + 6, j)).toBe(j + 7); // level 0: one jiffy late (msleep(20) = 6 jiffies + 1)
    expect(wheelExpiry(j + 251, j) - j).toBeGreaterThanOrEqual(251); // level 1, 8-jiffy buckets
    expect((wheelExpiry(j + 251, j) - INITIAL_JIFFIES) % 8).toBe((8 - (INITIAL_JIFFIES % 8)) % 8);
    const five = wheelExpiry(j + 1250, j) - j; // 5 s: level 2, 64-jiffy buckets
    expect(five).toBeGreaterThan(1250);
    expect(five).toBeLessThanOrEqual(1250 + 64);
    expect(wheelExpiry(j + 1250, j) % 64).toBe(0);
  });
});
