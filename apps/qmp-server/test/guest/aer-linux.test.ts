/**
 * HMP pcie_aer_inject_error with the simulated Linux guest, against what QEMU 7.2.22 and
 * Debian 12's Linux 6.1 did (fixtures/qemu-7.2-aer/linux-*.json, scripts/record-aer/
 * record-linux.mjs): the HMP output, the kernel's AER lines in order (message received,
 * error decoding, TLP header, recovery, link reset, driver re-enable), and the AER registers
 * once the guest settled.
 */
import { describe, expect, it } from 'vitest';
import { bootAer, loadLinuxAer, readReg } from './aer-harness.js';

/** Where record-linux.mjs read each function (Linux's bus numbering = the firmware's here). */
const WHERE: Record<string, Record<string, [number, number]>> = {
  'root-port': { rp1: [0, 0x10], nic1: [1, 0] },
  switch: { rp2: [0, 0x18], up1: [1, 0], dp1: [2, 0], nic2: [3, 0] },
  ioh3420: { ioh1: [0, 0x20], vn1: [1, 0] },
  names: { rp1: [0, 0x10], nic1: [1, 0] },
  endpoints: { rp1: [0, 0x10], vn1: [1, 0], rp2: [0, 0x18], up1: [2, 0], dp1: [3, 0], vn2: [4, 0] },
  'no-aer': { rp1: [0, 0x10], rp2: [0, 0x18] },
};
const PORTS = new Set(['rp1', 'rp2', 'up1', 'dp1', 'ioh1']);

function registers(run: ReturnType<typeof bootAer>, scenario: string, ids: string[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const id of ids) {
    const [bus, devfn] = WHERE[scenario]![id]!;
    const r: Record<string, string> = {};
    if (PORTS.has(id)) r.status = `0x${(readReg(run.m, bus, devfn, 4) >>> 16).toString(16)}`;
    for (let off = 0x104; off <= 0x134; off += 4) r[`0x${off.toString(16)}`] = `0x${readReg(run.m, bus, devfn, off).toString(16)}`;
    out[id] = r;
  }
  return out;
}

function recorded(regs: Record<string, Record<string, string>>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [id, r] of Object.entries(regs)) {
    const { cmdsta, secsta: _s, ...aer } = r;
    out[id] = PORTS.has(id) ? { status: `0x${(Number(cmdsta) >>> 16).toString(16)}`, ...aer } : aer;
  }
  return out;
}

for (const scenario of Object.keys(WHERE)) {
  describe(`AER with the Linux guest: ${scenario}`, () => {
    const f = loadLinuxAer(scenario);

    it('probes the AER service on the root port as Linux does', () => {
      const run = bootAer(f);
      const want = f.bootLines.filter((l) => /AER: enabled with IRQ/.test(l));
      expect(run.guest.klog.texts().filter((l) => /AER: enabled with IRQ/.test(l))).toEqual(want);
      const first = f.steps[0]!;
      expect(registers(run, scenario, Object.keys(first.registers))).toEqual(recorded(first.registers));
    });

    it('every injection: HMP output, the kernel lines in order, the registers after recovery', async () => {
      const run = bootAer(f);
      for (const step of f.steps.slice(1)) {
        const got = await run.inject(`${step.cmd}`);
        expect({ cmd: step.cmd, out: got.out, lines: got.lines }).toEqual({ cmd: step.cmd, out: step.out, lines: step.lines!.map((l) => l.text) });
        expect({ cmd: step.cmd, regs: registers(run, scenario, Object.keys(step.registers)) }).toEqual({ cmd: step.cmd, regs: recorded(step.registers) });
      }
    });

    it('link resets take the time Linux waits (recorded under TCG: within 150 ms)', async () => {
      const run = bootAer(f);
      for (const step of f.steps.slice(1)) {
        const got = await run.inject(`${step.cmd}`);
        const i = got.lines.findIndex((l) => l.includes('link has been reset'));
        if (i < 0) continue;
        const recordedDt = step.lines![i]!.dt!;
        expect(Math.abs(got.stamps[i]! - got.stamps[0]! - recordedDt), step.cmd).toBeLessThanOrEqual(0.15);
      }
    });
  });
}
