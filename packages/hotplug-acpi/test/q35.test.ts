/**
 * q35 (ICH9-LPC): BSEL numbering from the recorded fixtures, ports with hotplug=off, the
 * PCIe slot power fixup, the relocatable GPE0 block. Expected values from QEMU 7.2.22.
 */
import { describe, expect, it } from 'vitest';
import { QemuError, deviceDel, type Bus } from '@plugboard/qdev';
import { caps, regs, type PCIDevice } from '@plugboard/pci-core';
import { ICH9_PMIO_GPE0_STS } from '../src/index.js';
import { buildQ35, deletedIds, type Board, pcihpPorts } from './boards.js';

const { UP, DOWN, EJ, RMV, SEL } = pcihpPorts(0x0cc0);
/** SeaBIOS/OVMF put PMBASE at 0x600. */
const GPE = 0x600 + ICH9_PMIO_GPE0_STS;

const secBus = (b: Board, id: string): Bus => b.machine.deviceById(id)!.childBuses[0]!;
const bsel = (b: Board, id: string): unknown => {
  try {
    return secBus(b, id).getProperty('acpi-pcihp-bsel');
  } catch (e) {
    return (e as Error).message;
  }
};

describe('q35 BSEL numbering (fixtures/qemu-7.2)', () => {
  it('errors-q35: newest port first, hotplug=off and pcie.0 skipped', () => {
    const rp = (n: number, extra: Record<string, string | number> = {}) => ({ driver: 'pcie-root-port', id: `rp${n}`, chassis: 1, slot: n, ...extra });
    const b = buildQ35({
      devices: [rp(1), rp(2, { hotplug: 'off' }), rp(3), { driver: 'e1000e', id: 'ne0', bus: 'rp3' }, rp(4), rp(5), rp(6)],
    });
    expect(['rp1', 'rp2', 'rp3', 'rp4', 'rp5', 'rp6'].map((id) => bsel(b, id))).toEqual([4, "Property 'PCIE.acpi-pcihp-bsel' not found", 3, 2, 1, 0]);
    expect(() => b.root.getProperty('acpi-pcihp-bsel')).toThrow("Property 'PCIE.acpi-pcihp-bsel' not found");
    expect(secBus(b, 'rp2').getProperty('hotplug-handler')).toBe('');
    expect(b.root.getProperty('hotplug-handler')).toBe('');
  });

  it('q35-switch: depth first through switches and pcie-pci-bridge', () => {
    const b = buildQ35({
      devices: [
        { driver: 'pcie-root-port', id: 'rp1', chassis: 1, slot: 1 },
        { driver: 'x3130-upstream', id: 'up1', bus: 'rp1' },
        { driver: 'xio3130-downstream', id: 'dn1', bus: 'up1', chassis: 1, slot: 2 },
        { driver: 'ioh3420', id: 'ioh1', chassis: 2, slot: 3 },
        { driver: 'pcie-root-port', id: 'rp2', chassis: 1, slot: 4 },
        { driver: 'pcie-pci-bridge', id: 'ppb1', bus: 'rp2' },
      ],
    });
    expect(['rp2', 'ppb1', 'ioh1', 'rp1', 'up1', 'dn1'].map((id) => bsel(b, id))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(secBus(b, 'up1').getProperty('hotplug-handler')).toBe(b.pm.canonicalPath());
  });

  it('q35-ports: a pci-bridge after a root port gets 0', () => {
    const b = buildQ35({
      devices: [
        { driver: 'pcie-root-port', id: 'rp1', chassis: 1, slot: 1 },
        { driver: 'pci-bridge', id: 'br1', chassis_nr: 2 },
      ],
    });
    expect([bsel(b, 'br1'), bsel(b, 'rp1')]).toEqual([0, 1]);
  });
});

describe('q35 hotplug', () => {
  const board = () =>
    buildQ35({
      devices: [
        { driver: 'pcie-root-port', id: 'rp1', chassis: 1, slot: 1, addr: '1' },
        { driver: 'pcie-root-port', id: 'rp2', chassis: 1, slot: 2, hotplug: 'off', addr: '2' },
        { driver: 'pci-bridge', id: 'br1', chassis_nr: 2, addr: '3' },
      ],
      beforeReady: (b) => {
        // Slot registers as hotplug-pcie's reset leaves an empty slot (observed SLTCAP/SLTCTL).
        const rp1 = b.machine.deviceById('rp1') as PCIDevice;
        const exp = rp1.caps.get(regs.PCI_CAP_ID_EXP)!;
        rp1.config.set32(exp + caps.PCI_EXP_SLTCAP, 0x000a007b);
        rp1.config.set16(exp + caps.PCI_EXP_SLTCTL, 0x07c0);
      },
    });

  const failure = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      if (e instanceof QemuError) return e.message;
      throw e;
    }
    return 'no error';
  };

  it('refuses pcie.0 and ports with hotplug=off', () => {
    const b = board();
    expect(failure(() => b.add({ driver: 'e1000', id: 'n1', bus: 'pcie.0' }))).toBe("Bus 'pcie.0' does not support hotplugging");
    expect(failure(() => b.add({ driver: 'e1000e', id: 'n2', bus: 'rp2' }))).toBe("Bus 'rp2' does not support hotplugging");
    expect(failure(() => deviceDel(b.machine, 'rp1'))).toBe("Bus 'pcie.0' does not support hotplugging");
  });

  it('powers the root port slot on hot-add, signals UP (read-to-clear) and ejects', () => {
    const b = board();
    b.acpi.setGpeBase(GPE);
    expect([b.inl(GPE), b.inl(GPE + 4), b.inl(GPE + 8), b.inl(GPE + 12)]).toEqual([0, 0, 0, 0]);
    b.outl(SEL, 1);
    expect(b.inl(RMV)).toBe(0xffffffff);
    b.add({ driver: 'e1000e', id: 'h1', bus: 'rp1' });
    const rp1 = b.machine.deviceById('rp1') as PCIDevice;
    expect(rp1.config.get16(rp1.caps.get(regs.PCI_CAP_ID_EXP)! + caps.PCI_EXP_SLTCTL)).toBe(0x03c0);
    expect([b.inl(GPE), b.inl(UP), b.inl(UP)]).toEqual([0x2, 0x1, 0]);
    b.outl(GPE + 8, 0x2);
    b.outl(GPE, 0xffffffff);
    expect([b.inl(GPE), b.inl(GPE + 8)]).toEqual([0, 0x2]);
    deviceDel(b.machine, 'h1');
    expect([b.inl(DOWN), b.inl(GPE)]).toEqual([0x1, 0x2]);
    expect(b.irqs.at(-1)).toEqual({ kind: 'sci', line: 9, level: 1 });
    expect(failure(() => deviceDel(b.machine, 'h1'))).toBe('Device h1 is already in the process of unplug');
    b.outl(EJ, 1);
    expect(deletedIds(b)).toEqual(['h1']);
  });

  it('hot-adds on a cold-plugged pci-bridge (BSEL 0)', () => {
    const b = board();
    b.add({ driver: 'e1000', id: 'n2', bus: 'br1', addr: '2' });
    b.outl(SEL, 0);
    expect(b.inl(UP)).toBe(0x4);
  });

  it('GPE0 follows PMBASE and is not decoded without it', () => {
    const b = board();
    expect(b.inl(GPE)).toBe(0xffffffff);
    expect(b.pm.getProperty('gpe0_blk_len')).toBe(16);
    b.acpi.setGpeBase(GPE);
    b.outl(GPE + 8, 0x2);
    expect(b.pm.getProperty('gpe0_blk')).toBe(GPE);
    b.acpi.setGpeBase(undefined);
    expect(b.inl(GPE)).toBe(0xffffffff);
  });
});
