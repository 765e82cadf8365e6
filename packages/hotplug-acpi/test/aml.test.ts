/**
 * AML encoder and the PCI-hotplug DSDT, byte for byte against the tables recorded from
 * QEMU 7.2 (scripts/record-guest/record-acpiphp.mjs dumps /sys/firmware/acpi/tables/DSDT).
 */
import { describe, expect, it } from 'vitest';
import { aml as A, slotDeviceName } from '../src/aml/index.js';
import { amlObjects, BOARDS, dsdtOf, recordedDsdt } from './aml-helpers.js';
import { buildPc } from './boards.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('AML encoding primitives (ACPI 6.4 ch. 20)', () => {
  it('encodes integers like QEMU aml_int: Zero/One ops, then the smallest prefix', () => {
    expect([0, 1, 2, 0xff, 0x100, 0xae00, 0x10000, 0xffffffff].map((v) => hex(A.int(v)))).toEqual([
      '00', '01', '0a02', '0aff', '0b0001', '0b00ae', '0c00000100', '0cffffffff',
    ]);
    expect(hex(A.int(0x1_0000_0000n))).toBe('0e0000000001000000');
  });

  it('encodes PkgLength in 1 to 4 bytes, counting itself', () => {
    expect(hex(A.pkgLength(0))).toBe('01');
    expect(hex(A.pkgLength(62))).toBe('3f');
    expect(hex(A.pkgLength(63))).toBe('4104'); // 65 = 0x41: low nibble 1, then 0x04
    const l = A.pkgLength(5000);
    expect(l[0]! >> 6).toBe(2);
    expect((l[0]! & 0x0f) | (l[1]! << 4) | (l[2]! << 12)).toBe(5000 + 3);
  });

  it('encodes name strings: segments padded with _, dual and multi paths, root and parent prefixes', () => {
    expect(hex(A.nameString('SEJ'))).toBe(hex(new TextEncoder().encode('SEJ_')));
    expect(hex(A.nameString('_SB.PCI0'))).toBe('2e5f53425f50434930');
    expect(hex(A.nameString('\\_SB.PCI0.BLCK'))).toBe('5c2f035f53425f50434930424c434b');
    expect(hex(A.nameString('^S08.PCNT'))).toBe('5e2e5330385f50434e54');
    expect(() => A.nameSeg('s08')).toThrow(/NameSeg/);
  });

  it('encodes ToUUID with the mixed-endian byte order and EisaId compressed', () => {
    expect(hex(A.toUUID('E5C937D0-3553-4D7A-9117-EA4D19C3434D'))).toBe('11130a10d037c9e553357a4d9117ea4d19c3434d');
    expect(hex(A.eisaId('PNP0A03'))).toBe('0c41d00a03');
  });

  it('names slot devices by devfn in upper-case hex', () => {
    expect([0, 5, 0x1f].map((s) => slotDeviceName(s << 3))).toEqual(['S00', 'S28', 'SF8']);
    expect(slotDeviceName(0xfb)).toBe('SFB');
  });
});

describe('PCI hotplug DSDT vs QEMU 7.2 (recorded bytes)', () => {
  for (const scenario of ['pc', 'q35', 'pc-bridge'] as const) {
    it(`${scenario}: every recorded hotplug object is byte-identical`, () => {
      const ours = amlObjects(dsdtOf(BOARDS[scenario]()));
      const qemu = recordedDsdt(scenario).aml;
      // S08 on pc is PIIX3 with the ISA devices' AML inside: not generated here.
      const skip = scenario === 'q35' ? [] : ['S08'];
      for (const key of Object.keys(qemu).filter((k) => !skip.includes(k))) expect([key, ours[key]]).toEqual([key, qemu[key]]);
    });
  }

  it('pc: 0xae00 block, BSEL 0 on pci.0, slots 2-31 hotpluggable, PCNT selects bus 0', () => {
    const o = amlObjects(dsdtOf(BOARDS.pc()));
    expect(o.regions).toContain('5b8050435354010b00ae0a08'); // OperationRegion(PCST, SystemIO, 0xAE00, 8)
    expect(o.S00).not.toContain('5f454a30'); // i440FX: no _EJ0
    expect(o.S28).toContain('5f454a30');
  });

  it('q35: the root bus has no BSEL; the root port bus is BSEL 0 with slot 0 only; _OSC withholds native hotplug', () => {
    const o = amlObjects(dsdtOf(BOARDS.q35()));
    expect(o.S00).toBe('5b820b5330305f085f41445200'); // MCH: _ADR only
    expect(o._OSC).toContain('7b600a1e60'); // And(Local0, 0x1E, Local0)
    expect((o.PCNT as string[]).length).toBe(2);
  });
});

describe('monitor helpers (HMP i/o output of QEMU 7.2.22)', async () => {
  const { hmpPortRead, hmpPortWrite, parseIoFormat, dumpTable, dsdtForController } = await import('../src/aml/index.js');
  it('parses /b /h /w like the monitor (w = 4 bytes, default 4) and refuses unknown letters', () => {
    expect(['/b', '/h', '/w', '/x', '/2w', undefined].map((f) => parseIoFormat(f))).toEqual([1, 2, 4, 4, 4, 4]);
    expect(() => parseIoFormat('/l')).toThrow("invalid char in format: 'l'");
  });

  it('reads and writes the pcihp block: portl[0xae10] = 0x00000001', () => {
    const b = BOARDS.pc();
    hmpPortWrite(b.gv, 4, 0xae10, 1);
    expect(hmpPortRead(b.gv, 4, 0xae10)).toBe('portl[0xae10] = 0x00000001\n');
    hmpPortWrite(b.gv, 1, 0xae10, 2); // 1-byte accesses are invalid for the block: ignored
    expect(hmpPortRead(b.gv, 2, 0xae10)).toBe('portw[0xae10] = 0x0000\n');
    expect(hmpPortRead(b.gv, 4, 0x1234567)).toBe('portl[0x4567] = 0xffffffff\n');
  });

  it('dumps the DSDT as hex lines or base64', () => {
    const t = dsdtForController(BOARDS.pc().acpi);
    expect(dumpTable(t).split('\n')[0]).toMatch(/^00000000: 44 53 44 54 .* {2}DSDT/);
    expect(Buffer.from(dumpTable(t, 'base64'), 'base64')).toEqual(Buffer.from(t));
  });
});

describe('dsdtForController: the table of the current tree, rebuilt only when it changes', async () => {
  const { dsdtForController, busDevicesKey } = await import('../src/aml/index.js');
  it('follows BSEL assignment and device_add, and hands out independent copies', () => {
    let beforeInit: Uint8Array | undefined;
    const b = buildPc({ devices: [{ driver: 'pci-bridge', id: 'br1', chassis_nr: 1, addr: '3' }], beforeReady: (x) => (beforeInit = dsdtForController(x.acpi)) });
    // Before the first reset no bus has a BSEL: no slot objects; after it, the recorded layout.
    const t1 = dsdtForController(b.acpi);
    expect(t1).toEqual(dsdtOf(b));
    expect(t1).not.toEqual(beforeInit);
    t1.fill(0); // a copy: the next caller is not affected
    expect(dsdtForController(b.acpi)).toEqual(dsdtOf(b));
    const key = busDevicesKey(b.root, true);
    b.add({ driver: 'pci-bridge', id: 'br2', chassis_nr: 2, addr: '5' });
    expect(busDevicesKey(b.root, true)).not.toBe(key);
    expect(dsdtForController(b.acpi)).toEqual(dsdtOf(b));
  });
});
