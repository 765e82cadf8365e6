/**
 * What recovery leaves behind, beyond the recorded lines: a driver with error handlers gets
 * its function back usable (decoding, bus mastering, BARs restored after the link reset),
 * a bound driver without handlers (virtio-pci in 6.1) stops recovery and its function stays
 * bound in the frozen channel state; AER never removes a device.
 */
import { describe, expect, it } from 'vitest';
import { regs as R } from '@plugboard/pci-core';
import { pciChannelState } from '@plugboard/guest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runHmp } from '../../src/index.js';
import { bootAer } from './aer-harness.js';

describe('AER recovery outcome', () => {
  it('fatal error at a root port: e1000e below is reset and restored, usable', async () => {
    const run = bootAer({ devices: ['pcie-root-port,id=rp1,chassis=1,slot=1,addr=2', 'e1000e,id=nic1,bus=rp1'] });
    const nic = run.guest.device('0000:01:00.0')!;
    const before = [0, 0x10, 0x14, 0x18, 0x1c].map((o) => nic.read32(o));
    const got = await run.inject('pcie_aer_inject_error rp1 DLP');
    expect(got.lines).toContain('pcieport 0000:00:02.0: AER: Root Port link has been reset (0)');
    expect(got.lines).toContain('e1000e 0000:01:00.0: enabling device (0000 -> 0002)');
    expect(got.lines.at(-1)).toBe('pcieport 0000:00:02.0: AER: device recovery successful');
    expect([0, 0x10, 0x14, 0x18, 0x1c].map((o) => nic.read32(o))).toEqual(before);
    expect(nic.read16(R.PCI_COMMAND) & (R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_MASTER)).toBe(R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_MASTER);
    expect([nic.driver, pciChannelState(nic)]).toEqual(['e1000e', 'normal']);
    expect(run.guest.device('0000:01:00.0')).toBe(nic);
  });

  it('virtio-pci has no error handlers: recovery fails, the function stays bound (frozen after a fatal one)', async () => {
    const run = bootAer({ devices: ['ioh3420,id=ioh1,chassis=1,slot=3,addr=4', 'virtio-net-pci,id=vn1,bus=ioh1,aer=on'] }, { allDrivers: true });
    const vn = run.guest.device('0000:01:00.0')!;
    expect(vn.driver).toBe('virtio-pci');
    let got = await run.inject('pcie_aer_inject_error vn1 POISON_TLP');
    expect(got.lines.slice(-2)).toEqual([
      "virtio-pci 0000:01:00.0: AER: can't recover (no error_detected callback)",
      'pcieport 0000:00:04.0: AER: device recovery failed',
    ]);
    expect(pciChannelState(vn)).toBe('normal');
    got = await run.inject('pcie_aer_inject_error ioh1 DLP');
    expect(got.lines).toContain('pcieport 0000:00:04.0: AER: Root Port link has been reset (0)');
    expect(got.lines.at(-1)).toBe('pcieport 0000:00:04.0: AER: device recovery failed');
    expect([vn.driver, pciChannelState(vn)]).toEqual(['virtio-pci', 'frozen']);
    // Nobody restored it: the link reset left its BARs and decoding off.
    expect(vn.read16(R.PCI_COMMAND) & R.PCI_COMMAND_MEMORY).toBe(0);
  });

  it("`help pcie_aer_inject_error` is QEMU's help line (fixtures/qemu-7.2 `help` output)", async () => {
    const run = bootAer({ devices: [] });
    const recorded = readFileSync(fileURLToPath(new URL('../../../../fixtures/qemu-7.2/pc-nodefaults.json', import.meta.url)), 'utf8');
    const help = 'pcie_aer_inject_error [-a] [-c] id <error_status> [<tlp header> [<tlp header prefix>]] -- inject pcie aer error\r\n'
      + '\t\t\t -a for advisory non fatal error\r\n\t\t\t -c for correctable error\r\n\t\t\t<id> = qdev device id\r\n'
      + '\t\t\t<error_status> = error string or 32bit\r\n\t\t\t<tlp header> = 32bit x 4\r\n\t\t\t<tlp header prefix> = 32bit x 4\r\n';
    expect(recorded).toContain(JSON.stringify(help).slice(1, -1));
    expect(await runHmp(run.host, 'help pcie_aer_inject_error')).toBe(help);
  });

  it('errors QEMU 7.2 never routes to the root port leave the guest silent', async () => {
    const run = bootAer({ devices: ['pcie-root-port,id=rp1,chassis=1,slot=1,addr=2', 'e1000e,id=nic1,bus=rp1'] });
    for (const e of ['nic1 POISON_TLP', 'nic1 DLP', '-c nic1 0x40', 'rp1 RCVR', '-a rp1 ECRC']) {
      expect((await run.inject(`pcie_aer_inject_error ${e}`)).lines, e).toEqual([]);
    }
  });
});
