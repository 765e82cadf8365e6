/**
 * Register-level behaviour of the pcihp block and GPE0 on a pc board. Expected values are
 * what Debian's QEMU 7.2.22 returned for the same HMP `i`/`o` sequences (spec/acpi-pcihp.md §3–§4).
 */
import { describe, expect, it } from 'vitest';
import { deviceDel } from '@plugboard/qdev';
import { PIIX4_GPE_BASE } from '../src/index.js';
import { buildPc, pcihpPorts } from './boards.js';

const G = PIIX4_GPE_BASE;
const { UP, DOWN, EJ, RMV, SEL, AIDX } = pcihpPorts(0xae00);

describe('pcihp block on pc (0xae00)', () => {
  it('reads the idle values QEMU shows after boot', () => {
    const b = buildPc();
    expect([UP, DOWN, EJ, RMV, SEL, AIDX].map((p) => b.inl(p))).toEqual([0, 0, 0, 0xfffffffc, 0, 0]);
    expect(b.inl(G)).toBe(0);
  });

  it('sets UP and GPE0_STS bit 1 on hot-add; UP is read-to-clear', () => {
    const b = buildPc();
    b.add({ driver: 'e1000', id: 'n1', addr: '5', 'acpi-index': 5 });
    expect(b.inl(G)).toBe(0x2);
    expect(b.inl(UP)).toBe(0x20);
    expect(b.inl(UP)).toBe(0);
    expect(b.inl(DOWN)).toBe(0);
  });

  it('sets DOWN on device_del; DOWN is not cleared by reading; GPE STS is W1C', () => {
    const b = buildPc();
    b.add({ driver: 'e1000', id: 'n1', addr: '5' });
    b.outl(G, 0x2);
    deviceDel(b.machine, 'n1');
    expect(b.inl(DOWN)).toBe(0x20);
    expect(b.inl(DOWN)).toBe(0x20);
    expect(b.inl(G)).toBe(0x2);
    b.outl(G, 0x2);
    expect(b.inl(G)).toBe(0);
  });

  it('latches acpi-index on an AIDX write, reads it once, and any write clears the latch', () => {
    const b = buildPc();
    b.add({ driver: 'e1000', id: 'n1', addr: '5', 'acpi-index': 5 });
    b.outl(AIDX, 1 << 5);
    expect(b.inl(AIDX)).toBe(5);
    expect(b.inl(AIDX)).toBe(0);
    b.outl(AIDX, 1 << 5);
    b.outl(SEL, 0);
    expect(b.inl(AIDX)).toBe(0);
    b.outl(AIDX, 1 << 7); // empty slot
    expect(b.inl(AIDX)).toBe(0);
  });

  it('ignores accesses that are not 4 bytes wide (reads 0, no read-to-clear)', () => {
    const b = buildPc();
    b.add({ driver: 'e1000', id: 'n7', addr: '7' });
    expect(b.gv.ioRead(UP, 1)).toBe(0);
    expect(b.gv.ioRead(UP, 2)).toBe(0);
    expect(b.inl(UP)).toBe(0x80);
    b.gv.ioWrite(SEL, 1, 1);
    expect(b.inl(SEL)).toBe(0);
  });

  it('reads 0 everywhere (SEL included) with a selector >= 256; RMV of a selector without bus is all ones', () => {
    const b = buildPc();
    b.add({ driver: 'e1000', id: 'n9', addr: '9' });
    b.outl(SEL, 0x1234);
    expect([b.inl(SEL), b.inl(UP), b.inl(RMV)]).toEqual([0, 0, 0]);
    b.outl(EJ, 1 << 9); // ignored
    expect(b.machine.deviceById('n9')).toBeDefined();
    b.outl(SEL, 2);
    expect([b.inl(SEL), b.inl(RMV), b.inl(UP)]).toEqual([2, 0xffffffff, 0]);
    b.outl(SEL, 0);
    expect(b.inl(UP)).toBe(0x200);
  });

  it('EJ always reads 0', () => {
    const b = buildPc();
    b.outl(EJ, 0x20);
    expect(b.inl(EJ)).toBe(0);
  });
});

describe('GPE0 on pc (0xafe0, 4 bytes)', () => {
  it('splits wide accesses into bytes: STS W1C, EN plain', () => {
    const b = buildPc();
    b.outl(G, 0xffffffff);
    expect(b.inl(G)).toBe(0xffff0000);
    b.gv.ioWrite(G + 2, 0x02, 1);
    expect(b.inl(G)).toBe(0xff020000);
    expect(b.gv.ioRead(G + 2, 1)).toBe(0x02);
    expect(b.gv.ioRead(G, 2)).toBe(0);
    b.add({ driver: 'e1000', id: 'n9', addr: '9' });
    expect(b.inl(G)).toBe(0xff020002);
    b.gv.ioWrite(G, 0x0002, 2);
    expect(b.inl(G)).toBe(0xff020000);
    b.outl(G, 0);
    expect(b.inl(G)).toBe(0);
  });

  it('drives SCI (IRQ 9) as a level: STS & EN', () => {
    const b = buildPc();
    b.add({ driver: 'e1000', id: 'n1', addr: '5' });
    expect(b.irqs).toEqual([]); // STS set, EN clear
    b.gv.ioWrite(G + 2, 0x02, 1);
    expect(b.irqs).toEqual([{ kind: 'sci', line: 9, level: 1 }]);
    b.add({ driver: 'e1000', id: 'n2', addr: '6' }); // already high: no new edge
    expect(b.irqs).toHaveLength(1);
    b.gv.ioWrite(G, 0x02, 1);
    expect(b.irqs.at(-1)).toEqual({ kind: 'sci', line: 9, level: 0 });
    deviceDel(b.machine, 'n2');
    expect(b.irqs.at(-1)).toEqual({ kind: 'sci', line: 9, level: 1 });
  });

  it('is cleared (STS and EN) by system_reset, which keeps UP and SEL', () => {
    const b = buildPc({ devices: [{ driver: 'pci-bridge', id: 'br1', chassis_nr: 1 }] });
    b.add({ driver: 'e1000', id: 'n2', addr: '6' });
    b.gv.ioWrite(G + 2, 0x02, 1);
    b.outl(SEL, 1);
    expect(b.inl(G)).toBe(0x20002);
    b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    expect(b.inl(G)).toBe(0);
    expect(b.irqs.at(-1)).toEqual({ kind: 'sci', line: 9, level: 0 });
    expect(b.inl(SEL)).toBe(1);
    b.outl(SEL, 0);
    expect(b.inl(UP)).toBe(0x40);
  });
});
