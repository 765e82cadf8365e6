/**
 * The guest's own writes to the AER registers (what `setpci` or firmware-first set-up would
 * do) decide what the next injection does, as in QEMU 7.2 (hw/pci/pcie_aer.c reads the
 * severity and mask registers at injection time) and what Linux 6.1 then prints and
 * recovers (drivers/pci/pcie/aer.c, err.c). The register side is replayed against QEMU in
 * packages/hotplug-pcie (scenarios `severity`, `masked`); the lines follow the recorded
 * formats of fixtures/qemu-7.2-aer/linux-names.json.
 */
import { describe, expect, it } from 'vitest';
import { bootAer } from './aer-harness.js';

const AER = 0x100;
const PCI_ERR_UNCOR_STATUS = AER + 0x04;
const PCI_ERR_UNCOR_MASK = AER + 0x08;
const PCI_ERR_UNCOR_SEVER = AER + 0x0c;
const PCI_ERR_COR_STATUS = AER + 0x10;
const PCI_ERR_COR_MASK = AER + 0x14;
const RP = 'pcieport 0000:00:02.0';

function boot() {
  const run = bootAer({ devices: ['pcie-root-port,id=rp1,chassis=1,slot=1,addr=2', 'e1000e,id=nic1,bus=rp1'] });
  return { run, rp: run.guest.device('0000:00:02.0')! };
}

describe('AER registers the guest writes', () => {
  it('severity: DLP made non-fatal is reported, recovered and cleared as non-fatal (no link reset)', async () => {
    const { run, rp } = boot();
    expect(rp.read32(PCI_ERR_UNCOR_SEVER)).toBe(0x00462030);
    rp.write32(PCI_ERR_UNCOR_SEVER, 0x00462020);
    expect(rp.read32(PCI_ERR_UNCOR_SEVER)).toBe(0x00462020);
    const got = await run.inject('pcie_aer_inject_error rp1 DLP');
    expect(got.lines).toEqual([
      `${RP}: AER: Uncorrected (Non-Fatal) error message received from 0000:00:02.0`,
      `${RP}: PCIe Bus Error: severity=Uncorrected (Non-Fatal), type=Data Link Layer, (Receiver ID)`,
      `${RP}:   device [1b36:000c] error status/mask=00000010/00000000`,
      `${RP}:    [ 4] DLP                    (First)`,
      `${RP}: AER: device recovery successful`,
    ]);
    // pci_aer_clear_nonfatal_status: status & ~severity, so the bit is gone.
    expect(rp.read32(PCI_ERR_UNCOR_STATUS)).toBe(0);
  });

  it('severity: POISON_TLP made fatal resets the link, and its status stays (fatal bits are not cleared)', async () => {
    const { run, rp } = boot();
    rp.write32(PCI_ERR_UNCOR_SEVER, 0x00462030 | 0x1000);
    const got = await run.inject('pcie_aer_inject_error rp1 POISON_TLP');
    expect(got.lines).toEqual([
      `${RP}: AER: Uncorrected (Fatal) error message received from 0000:00:02.0`,
      `${RP}: PCIe Bus Error: severity=Uncorrected (Fatal), type=Transaction Layer, (Receiver ID)`,
      `${RP}:   device [1b36:000c] error status/mask=00001000/00000000`,
      `${RP}:    [12] TLP                    (First)`,
      `${RP}: AER:   TLP Header: 00000000 00000000 00000000 00000000`,
      `${RP}: AER: Root Port link has been reset (0)`,
      'e1000e 0000:01:00.0: enabling device (0000 -> 0002)',
      `${RP}: AER: device recovery successful`,
    ]);
    expect(rp.read32(PCI_ERR_UNCOR_STATUS)).toBe(0x1000);
  });

  it('masks: the Uncorrectable Error Mask is read-only in QEMU 7.2, so a "masked" error is still reported', async () => {
    const { run, rp } = boot();
    rp.write32(PCI_ERR_UNCOR_MASK, 0xffffffff);
    expect(rp.read32(PCI_ERR_UNCOR_MASK)).toBe(0);
    const got = await run.inject('pcie_aer_inject_error rp1 POISON_TLP');
    expect(got.lines[0]).toBe(`${RP}: AER: Uncorrected (Non-Fatal) error message received from 0000:00:02.0`);
    expect(got.lines.at(-1)).toBe(`${RP}: AER: device recovery successful`);
  });

  it('masks: advisory non-fatal (-a) with ADV_NONFATAL unmasked only logs; QEMU 7.2 sends no correctable message', async () => {
    const { run, rp } = boot();
    expect(rp.read32(PCI_ERR_COR_MASK)).toBe(0xe000);
    rp.write32(PCI_ERR_COR_MASK, 0);
    expect(rp.read32(PCI_ERR_COR_MASK)).toBe(0);
    const got = await run.inject('pcie_aer_inject_error -a rp1 ECRC');
    expect(got).toMatchObject({ out: 'OK id: rp1 root bus: 0000:00, bus: 0 devfn: 2.0\r\n', lines: [] });
    expect(rp.read32(PCI_ERR_COR_STATUS)).toBe(0x2000); // Advisory Non-Fatal
    expect(rp.read32(PCI_ERR_UNCOR_STATUS)).toBe(0x80000); // ECRC, recorded as well
  });
});
