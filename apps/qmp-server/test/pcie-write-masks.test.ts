/**
 * Which PCI Express control bits a guest can change: 0xffff written to Device Control, Device
 * Control 2 and Link Control of each function reads back as in QEMU 7.2 (qemu-system-x86_64
 * -M q35 -nodefaults -S, the same -device list, CF8/CFC through -qtest): only the error
 * enables on ports and the PCIe-PCI bridge, nothing on e1000e and nvme; DEVCTL2 keeps
 * End-End TLP Prefix Blocking (and ARI Forwarding where advertised); Link Control is read-only.
 */
import { describe, expect, it } from 'vitest';
import { PlugboardServer } from '../src/index.js';

const QEMU: Record<string, { DEVCTL: number; DEVCTL2: number; LNKCTL: number }> = {
  'pcie-root-port': { DEVCTL: 0x000f, DEVCTL2: 0x8020, LNKCTL: 0 },
  e1000e: { DEVCTL: 0, DEVCTL2: 0, LNKCTL: 0 },
  nvme: { DEVCTL: 0, DEVCTL2: 0x8000, LNKCTL: 0 },
  'pcie-pci-bridge': { DEVCTL: 0x000f, DEVCTL2: 0x8020, LNKCTL: 0 },
};

describe('PCIe control register write masks equal QEMU 7.2', () => {
  it('DEVCTL / DEVCTL2 / LNKCTL after writing 0xffff', () => {
    const devs: Array<[number, Record<string, unknown>]> = [
      [2, { driver: 'pcie-root-port', id: 'rp', chassis: '1', addr: '2' }],
      [3, { driver: 'e1000e', addr: '3' }],
      [4, { driver: 'nvme', serial: 'x', addr: '4' }],
      [6, { driver: 'pcie-pci-bridge', addr: '6' }],
    ];
    const s = PlugboardServer.create({ type: 'q35', nodefaults: true, devices: devs.map(([, opts]) => ({ opts })) });
    const v = s.machine.guestView;
    const got: typeof QEMU = {};
    for (const [slot, o] of devs) {
      const at = { bus: 0, devfn: slot << 3 };
      let cap = v.configRead(at, 0x34, 1);
      while (cap && v.configRead(at, cap, 1) !== 0x10) cap = v.configRead(at, cap + 1, 1);
      const probe = (off: number) => {
        v.configWrite(at, cap + off, 0xffff, 2);
        return v.configRead(at, cap + off, 2);
      };
      got[o.driver as string] = { DEVCTL: probe(0x08), DEVCTL2: probe(0x28), LNKCTL: probe(0x10) };
    }
    expect(got).toEqual(QEMU);
  });
});
