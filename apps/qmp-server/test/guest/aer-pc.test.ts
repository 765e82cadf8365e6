/**
 * PCIe functions on pc's conventional pci.0 (`-M pc -device pcie-root-port,...`), which QEMU
 * 7.2 accepts: the function keeps its 4 KiB config space and its AER capability
 * (pci_config_size follows pci_is_express, not the bus), the guest reaches only the first 256
 * bytes (CF8/CFC carries an 8-bit register number, hw/pci/pci_host.c), and
 * pcie_aer_inject_error works on it. The register values below were read from
 * qemu-system-x86_64 7.2.22 through CF8/CFC after the same HMP commands (a hlt BIOS, Command
 * and Bridge Control written as SeaBIOS leaves them).
 */
import { describe, expect, it } from 'vitest';
import { caps, regs as R } from '@plugboard/pci-core';
import type { AttachedGuest } from '@plugboard/guest';
import { PlugboardServer, runHmp } from '../../src/index.js';

function pcMachine() {
  const s = PlugboardServer.create({
    type: 'pc', nodefaults: true,
    devices: [
      { opts: { driver: 'pcie-root-port', id: 'rp', chassis: '1', addr: '2' } },
      { opts: { driver: 'e1000e', id: 'nic', addr: '3' } },
      { opts: { driver: 'pcie-pci-bridge', id: 'pb', addr: '4' } },
      { opts: { driver: 'nvme', id: 'nv', addr: '5', serial: 'x' } },
    ],
  });
  s.machine.cont(); // as `plugboard -M pc -nodefaults -device pcie-root-port,...` does
  s.machine.clock.runUntilIdle();
  const read = (devfn: number, off: number, size: 1 | 2 | 4 = 4) => s.machine.guestView.configRead({ bus: 0, devfn }, off, size) >>> 0;
  const inject = (args: string) => runHmp(s.host, `pcie_aer_inject_error ${args}`);
  return { s, read, inject };
}

const RP = 0x10;
const RP_EXP = 0x54;

describe('PCIe functions on pc (conventional pci.0)', () => {
  it('a pcie-root-port boots with the firmware and the guest; its extended config space is out of their reach', () => {
    const { s, read } = pcMachine();
    const { guest } = s.host.guest as AttachedGuest;
    expect(guest.klog.texts().some((l) => l.includes('Kernel panic'))).toBe(false);
    const rp = guest.device('0000:00:02.0')!;
    expect(rp.cfgSize).toBe(R.PCI_CONFIG_SPACE_SIZE);
    expect(rp.findExtCapability(R.PCI_EXT_CAP_ID_ERR)).toBe(0);
    expect(read(RP, R.PCI_CONFIG_SPACE_SIZE)).toBe(0xffffffff);
    // Linux finds no AER there, so no AER service.
    expect(guest.klog.texts().filter((l) => l.includes('AER'))).toEqual([]);
    // The firmware's writes went through (the write that used to throw): SERR# forwarding on.
    expect(read(RP, R.PCI_BRIDGE_CONTROL, 2) & R.PCI_BRIDGE_CTL_SERR).toBe(R.PCI_BRIDGE_CTL_SERR);
  });

  it("pcie_aer_inject_error on the root port: QEMU's output and register effects", async () => {
    const { read, inject } = pcMachine();
    expect(read(RP, RP_EXP + caps.PCI_EXP_LNKCAP)).toBe(0x00300604);
    expect(await inject('rp SDN')).toBe('OK id: rp root bus: 0000:00, bus: 0 devfn: 2.0\r\n');
    // Fatal: DEVSTA FED; the 16-bit status stored as 32 bits zeroes the low half of LNKCAP;
    // SERR# and Bridge Control SERR# on: Signaled System Error.
    expect(read(RP, RP_EXP + caps.PCI_EXP_DEVCTL)).toBe(0x00040000);
    expect(read(RP, RP_EXP + caps.PCI_EXP_LNKCAP)).toBe(0x00300000);
    expect(read(RP, R.PCI_STATUS, 2)).toBe(0x4010);
    // The AER registers exist (QEMU reads Device Status from config space): CED accumulates.
    expect(await inject('-c rp RCVR')).toBe('OK id: rp root bus: 0000:00, bus: 0 devfn: 2.0\r\n');
    expect(read(RP, RP_EXP + caps.PCI_EXP_DEVCTL)).toBe(0x00050000);
    await inject('rp POISON_TLP');
    expect(read(RP, RP_EXP + caps.PCI_EXP_DEVCTL)).toBe(0x00070000);
  });

  it('e1000e and pcie-pci-bridge keep AER on pc (Device Status accumulates), nvme has none (starts from 0)', async () => {
    const { read, inject } = pcMachine();
    // e1000e: a version 1 Endpoint capability (on a conventional bus: not an integrated endpoint).
    expect(read(0x18, 0xe0 + caps.PCI_EXP_FLAGS, 2)).toBe(0x0001);
    const cases: Array<[string, number, number, number]> = [
      ['nic', 0x18, 0xe0, 0x3],
      ['pb', 0x20, 0x48, 0x3],
      ['nv', 0x28, 0x80, 0x2],
    ];
    for (const [id, devfn, exp, after] of cases) {
      const slot = devfn >> 3;
      expect(await inject(`-c ${id} RCVR`)).toBe(`OK id: ${id} root bus: 0000:00, bus: 0 devfn: ${slot}.0\r\n`);
      expect(read(devfn, exp + caps.PCI_EXP_DEVSTA, 2), id).toBe(0x1);
      await inject(`${id} POISON_TLP`);
      expect(read(devfn, exp + caps.PCI_EXP_DEVSTA, 2), id).toBe(after);
      expect(read(devfn, exp + caps.PCI_EXP_LNKCAP) & 0xffff, id).toBe(0);
    }
  });
});
