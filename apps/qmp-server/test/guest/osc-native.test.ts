/**
 * Who drives a PCIe port's hotplug is decided by ACPI `_OSC` for the host bridge, not by the
 * port's SLTCAP.HPC: QEMU 7.2's q35 keeps HPC set on ports handed to ACPI hotplug (read back
 * through CF8/CFC: SLTCAP 0x000a007b, SLTSTA 0 with a cold-plugged device) while its `_OSC`
 * withholds PCIeHotplug. Linux 6.1 then binds no pciehp at all (fixtures/qemu-7.2-linux/
 * acpiphp-q35.json: "_OSC: platform does not support [PCIeHotplug LTR]", no pciehp line).
 */
import { describe, expect, it } from 'vitest';
import type { AttachedGuest } from '@plugboard/guest';
import { PlugboardServer } from '../../src/index.js';

const SWITCH = [
  { opts: { driver: 'pcie-root-port', id: 'rp1', chassis: '1', slot: '1' } },
  { opts: { driver: 'x3130-upstream', id: 'up1', bus: 'rp1' } },
  { opts: { driver: 'xio3130-downstream', id: 'dn1', bus: 'up1', chassis: '2', slot: '1' } },
];

function bootLog(acpiHotplug: boolean) {
  const s = PlugboardServer.create({
    type: 'q35', nodefaults: true, start: true, devices: SWITCH,
    ...(acpiHotplug ? {} : { globals: [{ driver: 'ICH9-LPC', property: 'acpi-pci-hotplug-with-bridge-support', value: 'off' }] }),
  });
  s.machine.clock.runUntilIdle();
  return (s.host.guest as AttachedGuest).guest.klog.texts();
}

describe('_OSC decides native PCIe hotplug', () => {
  it('q35 defaults (ACPI PCI hotplug on): acpiphp only, pciehp binds no port', () => {
    const log = bootLog(true);
    expect(log).toContain('acpiphp: ACPI Hot Plug PCI Controller Driver version: 0.5');
    expect(log.filter((l) => l.includes('pciehp'))).toEqual([]);
  });

  it('ACPI PCI hotplug off: pciehp binds the root port and the downstream port', () => {
    const log = bootLog(false);
    expect(log.filter((l) => l.includes('pciehp: Slot #'))).toHaveLength(2);
    expect(log.some((l) => l.includes('Card not present') && l.includes('00:01.0'))).toBe(false);
  });
});
