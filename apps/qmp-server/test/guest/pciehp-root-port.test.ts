/**
 * pciehp on a pcie-root-port against the QEMU 7.2 + Linux 6.1 recordings: boot, device_add
 * and device_del of an e1000e, with the register-level sequence of the dynamic-debug run.
 */
import { describe, expect, it } from 'vitest';
import { createPciehpDriver, pciehpSlot, pciehpSlots } from '@plugboard/guest';
import { boot, missingFromSequence, pcieRegs, pciehpLines, recordedDword, recordedRegs, recording, stampMs, text } from './pciehp-harness.js';

const RP = '0000:00:01.0';
const NIC = '0000:01:00.0';
const plain = recording('root-port');
const dyn = recording('root-port-dyndbg');
const debugGuest = () => boot(dyn, { hotplugDrivers: [createPciehpDriver({ debug: true })] });

/** The recorded serial lines of pciehp's probe (dyndbg run): from the capability dump to the presence check. */
function recordedProbeLines(): string[] {
  const lines = dyn.serial.map(text);
  const from = lines.findIndex((l) => l.includes('Slot Capabilities'));
  const to = lines.findIndex((l) => l.startsWith('shpchp:'));
  return lines.slice(from, to).filter((l) => l.includes(': pciehp: '));
}

describe('pciehp on pcie-root-port: boot', () => {
  it('prints the port services and the slot banner exactly as Linux 6.1', () => {
    const { guest } = boot(plain);
    const t = guest.klog.texts();
    expect(t.filter((l) => l.startsWith('pcieport '))).toEqual([
      'pcieport 0000:00:01.0: PME: Signaling with IRQ 24',
      'pcieport 0000:00:01.0: AER: enabled with IRQ 24',
      'pcieport 0000:00:01.0: pciehp: Slot #1 AttnBtn+ PwrCtrl+ MRL- AttnInd+ PwrInd+ HotPlug+ Surprise+ Interlock+ NoCompl- IbPresDis- LLActRep+',
    ]);
    expect(plain.serial.map(text)).toEqual(expect.arrayContaining(t.filter((l) => l.startsWith('pcieport '))));
  });

  it('leaves the slot registers as the recording after boot', () => {
    const { guest } = boot(plain);
    const rp = guest.device(RP)!;
    expect(pcieRegs(rp)).toEqual(recordedRegs(plain, 'boot', RP));
    // Port driver: MSI-X on (table entry unmasked), bus master, INTx disabled; AER's DEVCTL enables.
    expect(rp.read16(0x04)).toBe(Number(plain.registers.boot.config[RP]!.command));
    expect(rp.read32(0x48)).toBe(recordedDword(plain, 'boot', RP, 0x48));
    expect(rp.read32(0x5c) & 0xffff).toBe(recordedDword(plain, 'boot', RP, 0x5c) & 0xffff);
  });

  it('publishes the slot with the recorded sysfs values', () => {
    const { guest } = boot(plain);
    const [slot] = pciehpSlots(guest);
    expect(slot && { name: slot.name, address: slot.address, power: String(slot.power), adapter: String(slot.adapter), attention: String(slot.attention) })
      .toEqual(plain.registers.boot.slots[0]);
    expect(slot?.state).toBe('off');
  });

  it('reads the sysfs files with the recorded register accesses (dynamic debug)', () => {
    const run = debugGuest();
    const dump = (phase: string) => {
      const lines = dyn.serial.map(text);
      return lines.slice(lines.indexOf(`@@PB DUMP-BEGIN ${phase}`) + 1, lines.indexOf(`@@PB DUMP-END ${phase}`)).filter((l) => l.includes(': pciehp: '));
    };
    const read = () => {
      const at = run.guest.klog.lines.length;
      const slot = pciehpSlots(run.guest)[0]!;
      void [slot.power, slot.adapter, slot.attention];
      return pciehpLines(run.log(at));
    };
    expect(read()).toEqual(dump('boot'));
    run.add();
    expect(read()).toEqual(dump('added'));
    run.del();
    expect(read()).toEqual(dump('deleted'));
  });

  it('does the register-level probe of the dynamic-debug recording', () => {
    const { guest } = debugGuest();
    expect(pciehpLines(guest.klog.lines)).toEqual(recordedProbeLines());
  });
});

describe('pciehp on pcie-root-port: device_add', () => {
  it('logs the hot-add like the recording and binds e1000e', () => {
    const run = boot(plain);
    const at = run.add();
    const got = run.log(at).map(text);
    expect(pciehpLines(run.log(at))).toEqual(plain.timeline.add.map((e) => e.line).filter((l) => l.includes(': pciehp: ')));
    // PCI core / resource lines in recorded order (the BAR sizing lines use PciCore's format).
    const recorded = plain.timeline.add.map((e) => e.line).filter((l) => /: assigned$|PCI bridge to|bridge window|\[8086:10d3\]/.test(l));
    expect(missingFromSequence(got, recorded)).toEqual([]);
    expect(run.guest.device(NIC)?.driver).toBe('e1000e');
  });

  it('leaves the port and the NIC as recorded and emits X_DEVICE_ON', () => {
    const run = boot(plain);
    run.add();
    const rp = run.guest.device(RP)!;
    expect(pcieRegs(rp)).toEqual(recordedRegs(plain, 'added', RP));
    const nic = run.guest.device(NIC)!;
    for (const bar of [0x10, 0x14, 0x18, 0x1c, 0x30]) expect([bar, nic.read32(bar)]).toEqual([bar, recordedDword(plain, 'added', NIC, bar)]);
    expect(run.events.filter((e) => e.name === 'X_DEVICE_ON').map((e) => e.data)).toEqual([{ device: 'nic1', path: '/machine/peripheral/nic1' }]);
    const slot = pciehpSlot(rp)!;
    expect({ name: slot.name, address: slot.address, power: String(slot.power), adapter: String(slot.adapter), attention: String(slot.attention) })
      .toEqual(plain.registers.added.slots[0]);
    expect(slot.state).toBe('on');
  });

  it('writes Slot Control as the dynamic-debug recording, with Linux link-wait timing', () => {
    const run = debugGuest();
    const at = run.add();
    const lines = run.log(at);
    expect(pciehpLines(lines)).toEqual(dyn.timeline.add.map((e) => e.line).filter((l) => l.includes(': pciehp: ')));
    const when = (s: string) => stampMs(lines.find((l) => l.includes(s))!);
    // msleep(20) + msleep(100) at HZ=250 (each one jiffy more, rounded to ticks): 128-136 ms; recorded 137.
    const link = when('pciehp_check_link_status') - when('write cmd 200');
    expect(link).toBeGreaterThanOrEqual(128);
    expect(link).toBeLessThanOrEqual(136);
    expect(Math.abs(link - dyn.spacing.guest.add.power_on_write_to_link_check_ms!)).toBeLessThan(15);
    // Everything else runs in no guest time; the whole bring-up stays under the recorded 300 ms.
    expect(when('write cmd 1c0') - when('Attention button pressed')).toBeLessThan(dyn.spacing.guest.add.attention_button_to_pic_on_write_ms!);
  });
});

describe('pciehp on pcie-root-port: device_del', () => {
  it('waits the button time, powers off, then the indicator write deletes the device', () => {
    const run = boot(plain);
    run.add();
    const t0 = run.nowMs();
    const at = run.del();
    expect(pciehpLines(run.log(at))).toEqual(plain.timeline.del.map((e) => e.line).filter((l) => l.includes(': pciehp: ')));
    const deleted = run.events.filter((e) => e.name === 'DEVICE_DELETED');
    expect(deleted.map((e) => e.data)).toEqual([{ device: 'nic1', path: '/machine/peripheral/nic1' }]);
    // 5 s delayed work in a 64-jiffy wheel bucket (5004-5256 ms), 1 s msleep (1004-1036 ms).
    const spacing = deleted[0]!.ms - t0;
    expect(spacing).toBeGreaterThanOrEqual(5004 + 1004);
    expect(spacing).toBeLessThanOrEqual(5256 + 1036);
    expect(Math.abs(spacing - plain.spacing.device_del_to_DEVICE_DELETED_ms_by_qmp_timestamps)).toBeLessThan(300);
    expect(run.guest.device(NIC)).toBeUndefined();
  });

  it('leaves the port registers and the slot as recorded', () => {
    const run = boot(plain);
    run.add();
    run.del();
    const rp = run.guest.device(RP)!;
    expect(pcieRegs(rp)).toEqual(recordedRegs(plain, 'deleted', RP));
    const slot = pciehpSlot(rp)!;
    expect({ name: slot.name, address: slot.address, power: String(slot.power), adapter: String(slot.adapter), attention: String(slot.attention) })
      .toEqual(plain.registers.deleted.slots[0]);
    expect(slot.state).toBe('off');
  });

  it('writes PCC off, then 1 s later PIC off, as the dynamic-debug recording', () => {
    const run = debugGuest();
    run.add();
    const at = run.del();
    const lines = run.log(at);
    expect(pciehpLines(lines)).toEqual(dyn.timeline.del.map((e) => e.line).filter((l) => l.includes(': pciehp: ')));
    const when = (s: string) => stampMs(lines.find((l) => l.includes(s))!);
    const button = when('Attention button pressed');
    const unconfigure = when('pciehp_unconfigure_device') - button;
    expect(unconfigure).toBeGreaterThanOrEqual(5004);
    expect(unconfigure).toBeLessThanOrEqual(5256);
    const settle = when('write cmd 300') - when('write cmd 400');
    expect(settle).toBeGreaterThanOrEqual(1004);
    expect(settle).toBeLessThanOrEqual(1036);
    expect(Math.abs(settle - dyn.spacing.guest.del.pcc_off_write_to_pic_off_write_ms!)).toBeLessThan(20);
  });

  it('is deterministic: two runs give the same log and event times', () => {
    const a = boot(plain);
    a.add();
    a.del();
    const b = boot(plain);
    b.add();
    b.del();
    expect(b.guest.klog.lines).toEqual(a.guest.klog.lines);
    expect(b.events).toEqual(a.events);
  });
});
