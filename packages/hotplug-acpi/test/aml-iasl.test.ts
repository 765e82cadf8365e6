/**
 * Round trip through ACPICA's disassembler: `iasl -d` (Debian acpica-tools) must read our
 * table without errors and show the same hotplug methods as QEMU 7.2's DSDT (the excerpt the
 * recorder kept from `iasl -d` of the real table). Skipped, with a message, without iasl.
 */
import { describe, expect, it } from 'vitest';
import { blockAt, BOARDS, dslTree, dsdtOf, iaslDisassemble, iaslVersion, recordedDsdt } from './aml-helpers.js';

const iasl = iaslVersion();
if (!iasl) console.warn('aml-iasl.test.ts: iasl not found (apt-get install acpica-tools): iasl round-trip tests skipped');

const PCI0 = ['Scope (_SB.PCI0)'];
const SLOTS = ['Scope (\\_SB)', 'Scope (PCI0)'];
const METHODS: Record<'pc' | 'q35' | 'pc-bridge', string[][]> = {
  pc: [
    [...PCI0, 'Method (PCEJ, 2, NotSerialized)'],
    [...PCI0, 'Method (AIDX, 2, NotSerialized)'],
    [...PCI0, 'Method (PDSM, 5, Serialized)'],
    ['Scope (_GPE)', 'Method (_E01, 0, NotSerialized)'],
    ['Scope (\\_SB.PCI0)', 'Device (PHPR)'],
    [...SLOTS, 'Device (S00)'],
    [...SLOTS, 'Device (S10)'],
    [...SLOTS, 'Device (S28)'],
    [...SLOTS, 'Device (SF8)'],
    [...SLOTS, 'Method (DVNT, 2, NotSerialized)'],
    [...SLOTS, 'Method (PCNT, 0, NotSerialized)'],
  ],
  q35: [
    [...PCI0, 'Method (PCEJ, 2, NotSerialized)'],
    [...PCI0, 'Method (PDSM, 5, Serialized)'],
    ['Scope (_SB)', 'Device (PCI0)', 'Method (_OSC, 4, NotSerialized)'],
    ['Scope (_GPE)', 'Method (_E01, 0, NotSerialized)'],
    [...SLOTS, 'Device (S00)'],
    [...SLOTS, 'Device (S08)'],
    [...SLOTS, 'Method (PCNT, 0, NotSerialized)'],
  ],
  'pc-bridge': [
    [...SLOTS, 'Device (S18)'],
    [...SLOTS, 'Method (DVNT, 2, NotSerialized)'],
    [...SLOTS, 'Method (PCNT, 0, NotSerialized)'],
  ],
};

describe.skipIf(!iasl)(`iasl -d round trip (${iasl ?? 'no iasl'})`, () => {
  for (const scenario of ['pc', 'q35', 'pc-bridge'] as const) {
    it(`${scenario}: disassembles without errors or warnings`, () => {
      const { dsl, output, status } = iaslDisassemble(dsdtOf(BOARDS[scenario]()));
      expect(status).toBe(0);
      expect(output).not.toMatch(/\b(Error|Warning)\b/);
      expect(dsl).toMatch(/^DefinitionBlock \("", "DSDT", 1, "BOCHS ", "BXPC    ", 0x00000001\)$/m);
      for (const m of ['PCNT', 'DVNT', 'PCEJ', 'AIDX', 'PDSM', '_DSM', '_EJ0', '_E01']) expect(dsl).toContain(`Method (${m},`);
      for (const n of ['_SUN', 'ASUN', 'BSEL']) expect(dsl).toContain(`Name (${n},`);
    });

    it(`${scenario}: shows QEMU's hotplug methods and slot devices, line for line`, () => {
      const ours = dslTree(iaslDisassemble(dsdtOf(BOARDS[scenario]())).dsl);
      const qemu = dslTree(recordedDsdt(scenario).excerpt.join('\n'));
      for (const path of METHODS[scenario]) {
        const q = blockAt(qemu, path);
        expect(q, `recorded excerpt lacks ${path.join(' / ')}`).toBeDefined();
        expect([path.join(' / '), blockAt(ours, path)]).toEqual([path.join(' / '), q]);
      }
    });
  }
});
