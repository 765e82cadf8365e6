import { describe, expect, it } from 'vitest';
import { queryPci, type TraceRecord } from '@plugboard/pci-core';
import { runFirmware } from '@plugboard/guest';
import { machineFromFixture, queryPciAfterCont, X86_FIXTURES } from './fixtures.js';

const snapshot = (m: ReturnType<typeof machineFromFixture>) => JSON.parse(JSON.stringify(queryPci(m.pciRoots)));

describe('SeaBIOS PCI set-up gives QEMU 7.2 query-pci after cont', () => {
  for (const name of X86_FIXTURES) {
    it(name, () => {
      const m = machineFromFixture(name);
      const before = snapshot(m);
      runFirmware(m.guestView);
      const expected = queryPciAfterCont(name);
      expect(before).not.toEqual(expected); // the fixture records a change the firmware must make
      expect(snapshot(m)).toEqual(expected);
    });
  }
});

describe('firmware behaviour', () => {
  const traced = (name: string, opts?: Parameters<typeof runFirmware>[1]) => {
    const m = machineFromFixture(name);
    const trace: TraceRecord[] = [];
    m.guestView.onTrace((r) => trace.push(r));
    const result = runFirmware(m.guestView, opts);
    return { m, trace, result };
  };
  type Rec = Record<string, unknown>;
  const writes = (trace: TraceRecord[], bdf: string, off: number) =>
    (trace as Rec[]).filter((r) => r.op === 'cfg-write' && r.bdf === bdf && r.off === off).map((r) => r.val);

  it('touches the machine only through config cycles and port I/O', () => {
    const { trace } = traced('q35-switch');
    expect(new Set(trace.map((r) => r.op))).toEqual(new Set(['cfg-read', 'cfg-write', 'io-write']));
  });

  it('numbers buses depth first and reports the topology', () => {
    const { result } = traced('q35-switch');
    expect(result.platform).toBe('q35');
    expect(result.maxBus).toBe(6);
    expect(result.devices.filter((d) => d.secondaryBus !== undefined).map((d) => [d.name, d.secondaryBus])).toEqual([
      ['0000:00:01.0', 1], ['0000:00:02.0', 4], ['0000:00:03.0', 5], ['0000:01:00.0', 2], ['0000:02:00.0', 3], ['0000:05:00.0', 6],
    ]);
  });

  it('programs PIRQ routing, ELCR and the ICH9 ACPI/SMBus bases (PMBASE 0x600)', () => {
    const { trace } = traced('q35-nodefaults');
    expect([0x60, 0x61, 0x62, 0x63, 0x68, 0x69, 0x6a, 0x6b].map((o) => writes(trace, '0000:00:1f.0', o)[0])).toEqual([10, 10, 11, 11, 10, 10, 11, 11]);
    expect(writes(trace, '0000:00:1f.0', 0x40)).toEqual([0x601]);
    expect(writes(trace, '0000:00:1f.0', 0x44)).toEqual([0x80]);
    expect(writes(trace, '0000:00:00.0', 0x60)).toEqual([0, 0xb0000001]); // MMCONFIG at 0xb0000000
    expect((trace as Rec[]).filter((r) => r.op === 'io-write').map((r) => [r.port, r.val])).toEqual([[0x4d0, 0x00], [0x4d1, 0x0c]]);
  });

  it('sets up PIIX4 PM (SCI on IRQ 9, PM and SMBus I/O) and the PIIX IDE decoders', () => {
    const { trace } = traced('pc-nodefaults');
    expect(writes(trace, '0000:00:01.3', 0x3c)).toEqual([10, 9]); // swizzled line, then the SCI override
    expect(writes(trace, '0000:00:01.3', 0x40)).toEqual([0x601]);
    expect(writes(trace, '0000:00:01.3', 0x90)).toEqual([0x701]);
    expect(writes(trace, '0000:00:01.1', 0x40)).toEqual([0x8000]);
    expect(writes(trace, '0000:00:01.0', 0x60)).toEqual([10]);
  });

  it('gives option ROMs an address but leaves them disabled', () => {
    const { m, trace } = traced('pc-defaults');
    expect(writes(trace, '0000:00:03.0', 0x30).at(-1)).toBe(0xfeb80000);
    const nic = queryPci(m.pciRoots)[0]!.devices.find((d) => d.slot === 3)!;
    expect(nic.regions.find((r) => r.bar === 6)?.address).toBe(-1);
  });

  it('moves 64-bit BARs above 4 GiB when the 32-bit window is too small', () => {
    // No catalog device has a BAR that overflows 0xc0000000-0xfec00000, so one 2 GiB 64-bit
    // prefetchable BAR (an ivshmem-like function at 00:05.0) is spliced into the view.
    const m = machineFromFixture('pc-nodefaults');
    const fake = fakeFunction(2 ** 31);
    const view = Object.create(m.guestView) as typeof m.guestView;
    const at = (b: { bus: number; devfn: number }) => b.bus === 0 && b.devfn === 0x28;
    view.configRead = (b, off, size) => (at(b) ? fake.read(off, size) : m.guestView.configRead(b, off, size));
    view.configWrite = (b, off, v, size) => (at(b) ? fake.write(off, v, size) : m.guestView.configWrite(b, off, v, size));
    const result = runFirmware(view);
    expect(result.pcimem64).toEqual([2 ** 32, 2 ** 32 + 2 ** 31]); // 64-bit window from 4 GiB, 1 GiB-aligned
    expect(fake.read(0x18, 4)).toBe(0x0000000c); // low half: prefetchable 64-bit, address 4 GiB
    expect(fake.read(0x1c, 4)).toBe(0x1);
    expect(fake.read(0x04, 2) & 0x3).toBe(0x3); // decoding enabled like any other device
  });

  it('is deterministic: the same machine gives the same cycles', () => {
    expect(traced('q35-ports').trace).toEqual(traced('q35-ports').trace);
  });
});

/** A bare function with one 64-bit prefetchable BAR (BAR2) of `size` bytes. */
function fakeFunction(size: number) {
  const cfg = new DataView(new ArrayBuffer(256));
  cfg.setUint32(0, 0x11101af4, true);
  cfg.setUint32(8, 0x05000001, true);
  cfg.setUint32(0x18, 0x0c, true);
  const wmask = (off: number) => {
    if (off === 0x18) return (~(size - 1) & 0xfffffff0) >>> 0;
    if (off === 0x1c) return size >= 2 ** 32 ? ~(size / 2 ** 32 - 1) >>> 0 : 0xffffffff;
    if (off === 0x04) return 0x0547;
    if (off === 0x3c) return 0xff;
    return 0;
  };
  const get = (off: number, size: 1 | 2 | 4) => (size === 1 ? cfg.getUint8(off) : size === 2 ? cfg.getUint16(off, true) : cfg.getUint32(off, true));
  return {
    read: get,
    write(off: number, v: number, size: 1 | 2 | 4) {
      const base = off & ~3;
      const shift = (off & 3) * 8;
      const bits = size === 4 ? 0xffffffff : ((1 << (size * 8)) - 1) << shift;
      const mask = (wmask(base) & bits) >>> 0;
      const cur = cfg.getUint32(base, true);
      cfg.setUint32(base, ((cur & ~mask) | ((v << shift) & mask)) >>> 0, true);
    },
  };
}
