/**
 * pciehp on a switch downstream port (xio3130-downstream below x3130-upstream below a root
 * port) and on two ioh3420 root ports as functions 0 and 1 of one slot, against the
 * QEMU 7.2 + Linux 6.1 recordings.
 */
import { describe, expect, it } from 'vitest';
import { pciehpSlots } from '@plugboard/guest';
import { boot, pcieRegs, pciehpLines, recordedRegs, recording, stampMs, text, type Recording, type Run } from './pciehp-harness.js';

/** The recorded boot lines of pciehp/pcieport (pcieport PME/AER, banners). */
const recordedBanners = (rec: Recording) => {
  const lines = rec.serial.map(text);
  return lines.slice(0, lines.indexOf('@@PB READY')).filter((l) => l.startsWith('pcieport '));
};
const recordedPciehp = (rec: Recording, phase: 'add' | 'del') => rec.timeline[phase].map((e) => e.line).filter((l) => l.includes(': pciehp: '));
const slotView = (run: Run) =>
  pciehpSlots(run.guest).map((s) => ({ name: s.name, address: s.address, power: String(s.power), adapter: String(s.adapter), attention: String(s.attention) }));

/** Link Up to the first config scan of the new device: the 1100 ms msleep of a port without DLLLARC. */
function linkToScanMs(run: Run, from: number): number {
  const lines = run.log(from);
  const up = stampMs(lines.find((l) => l.includes('Link Up'))!);
  return stampMs(lines.find((l) => l.includes('[8086:10d3]'))!) - up;
}

describe('pciehp on a switch downstream port', () => {
  const rec = recording('switch');
  const DP = '0000:02:00.0';

  it('binds the root port (occupied by the switch) and the downstream port with their banners', () => {
    const run = boot(rec);
    expect(run.guest.klog.texts().filter((l) => l.startsWith('pcieport '))).toEqual(recordedBanners(rec));
    expect(slotView(run)).toEqual(rec.registers.boot.slots);
    expect(pciehpSlots(run.guest).map((s) => s.state)).toEqual(['on', 'off']);
  });

  it('leaves every port register as recorded after boot', () => {
    const run = boot(rec);
    for (const bdf of ['0000:00:01.0', '0000:01:00.0', DP]) {
      const dev = run.guest.device(bdf)!;
      expect([bdf, pcieRegs(dev, bdf !== '0000:01:00.0')]).toEqual([bdf, recordedRegs(rec, 'boot', bdf)]);
      expect([bdf, dev.read16(0x04)]).toEqual([bdf, Number(rec.registers.boot.config[bdf]!.command)]);
    }
  });

  it('hot-adds below the downstream port: same lines, 1100 ms link wait, registers as recorded', () => {
    const run = boot(rec);
    const at = run.add();
    expect(pciehpLines(run.log(at))).toEqual(recordedPciehp(rec, 'add'));
    const wait = linkToScanMs(run, at);
    expect(wait).toBeGreaterThanOrEqual(1104);
    expect(wait).toBeLessThanOrEqual(1136);
    expect(Math.abs(wait - rec.spacing.guest.add.link_up_to_first_pci_scan_line_ms!)).toBeLessThan(40);
    for (const bdf of ['0000:00:01.0', DP]) expect([bdf, pcieRegs(run.guest.device(bdf)!)]).toEqual([bdf, recordedRegs(rec, 'added', bdf)]);
    expect(run.guest.device('0000:03:00.0')?.driver).toBe('e1000e');
    expect(run.events.filter((e) => e.name === 'X_DEVICE_ON')).toHaveLength(1);
    expect(slotView(run)).toEqual(rec.registers.added.slots);
  });

  it('hot-removes: DEVICE_DELETED after the button wait and the 1 s settle, registers as recorded', () => {
    const run = boot(rec);
    run.add();
    const t0 = run.nowMs();
    const at = run.del();
    expect(pciehpLines(run.log(at))).toEqual(recordedPciehp(rec, 'del'));
    const deleted = run.events.find((e) => e.name === 'DEVICE_DELETED')!;
    expect(Math.abs(deleted.ms - t0 - rec.spacing.device_del_to_DEVICE_DELETED_ms_by_qmp_timestamps)).toBeLessThan(300);
    for (const bdf of ['0000:00:01.0', DP]) expect([bdf, pcieRegs(run.guest.device(bdf)!)]).toEqual([bdf, recordedRegs(rec, 'deleted', bdf)]);
    expect(slotView(run)).toEqual(rec.registers.deleted.slots);
  });
});

describe('pciehp on ioh3420 ports, functions 0 and 1 of one slot', () => {
  const rec = recording('multifunction');
  const fn0 = recording('multifunction-fn0');
  const F0 = '0000:00:09.0';
  const F1 = '0000:00:09.1';

  it('prints both banners with the Intel Cmd Compl erratum and names the slots 0 and 0-1', () => {
    const run = boot(rec);
    expect(run.guest.klog.texts().filter((l) => l.startsWith('pcieport '))).toEqual(recordedBanners(rec));
    expect(slotView(run)).toEqual(rec.registers.boot.slots);
    for (const bdf of [F0, F1]) expect([bdf, pcieRegs(run.guest.device(bdf)!)]).toEqual([bdf, recordedRegs(rec, 'boot', bdf)]);
  });

  for (const [name, r, port, other] of [['function 1', rec, F1, F0], ['function 0', fn0, F0, F1]] as const) {
    it(`hot-adds and removes below ${name} like the recording`, () => {
      const run = boot(r);
      let at = run.add();
      expect(pciehpLines(run.log(at))).toEqual(recordedPciehp(r, 'add'));
      const wait = linkToScanMs(run, at);
      expect(Math.abs(wait - r.spacing.guest.add.link_up_to_first_pci_scan_line_ms!)).toBeLessThan(40);
      for (const bdf of [port, other]) expect([bdf, pcieRegs(run.guest.device(bdf)!)]).toEqual([bdf, recordedRegs(r, 'added', bdf)]);
      expect(slotView(run)).toEqual(r.registers.added.slots);
      const t0 = run.nowMs();
      at = run.del();
      expect(pciehpLines(run.log(at))).toEqual(recordedPciehp(r, 'del'));
      const deleted = run.events.find((e) => e.name === 'DEVICE_DELETED')!;
      expect(Math.abs(deleted.ms - t0 - r.spacing.device_del_to_DEVICE_DELETED_ms_by_qmp_timestamps)).toBeLessThan(300);
      for (const bdf of [port, other]) expect([bdf, pcieRegs(run.guest.device(bdf)!)]).toEqual([bdf, recordedRegs(r, 'deleted', bdf)]);
      expect(slotView(run)).toEqual(r.registers.deleted.slots);
    });
  }
});
