/**
 * Issue 7 end to end over a real QMP socket: `plugboard -M q35` with the default simulated
 * Linux guest (its console on -serial file:PATH), HMP `pcie_aer_inject_error` through
 * `human-monitor-command` on PCIe endpoints behind a root port (vn1) and behind a switch
 * (vn2 below rp2 -> up1 -> dp1), compared with what QEMU 7.2.22 and Debian 12's Linux 6.1
 * did (fixtures/qemu-7.2-aer/linux-endpoints.json, scripts/record-aer/record-linux.mjs):
 * HMP output, the kernel's AER lines in order, the AER registers of every function after the
 * guest settled (read through the config-read extension).
 *
 * The endpoints are virtio-net-pci with `aer=on`: QEMU 7.2 routes an uncorrectable error of
 * a function only if its Device Control enables it, which e1000e and nvme do not allow. The
 * recorded initramfs binds no virtio driver ("pci 0000:01:00.0: ..."); plugboard's guest
 * binds virtio-pci, which has no error handlers in 6.1 either: the same lines under the
 * driver's name.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawQmp, startPlugboard, type Running } from './harness.js';

interface Step {
  cmd?: string;
  out?: string;
  lines?: Array<{ text: string }>;
  registers: Record<string, Record<string, string>>;
}
const rec = JSON.parse(readFileSync(fileURLToPath(new URL('../../../fixtures/qemu-7.2-aer/linux-endpoints.json', import.meta.url)), 'utf8')) as {
  devices: string[];
  bootLines: string[];
  steps: Step[];
};
const PORTS = new Set(['rp1', 'rp2', 'up1', 'dp1']);
/** dev_info prefixes: the recorded guest had no virtio driver, plugboard's binds virtio-pci. */
const asBound = (line: string) => line.replace(/^pci (0000:0[14]:00\.0)/, 'virtio-pci $1');

const running: Running[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.child.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** AER capability offset: ports and virtio in PCIe mode put it at the start of extended space. */
const AER = 0x100;
const PCI_ERR_ROOT_COMMAND = 0x2c;

async function session() {
  const dir = mkdtempSync(join(tmpdir(), 'pb-aer-'));
  dirs.push(dir);
  const consoleFile = join(dir, 'console.txt');
  const pb = await startPlugboard([
    '-M', 'q35', '-nodefaults', '-display', 'none', '-serial', `file:${consoleFile}`,
    '-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off',
    ...rec.devices.flatMap((d) => ['-device', d]),
  ]);
  running.push(pb);
  const q = await RawQmp.connect(pb.sock);
  await q.line();
  await q.cmd({ execute: 'qmp_capabilities' });
  /** Until the guest has nothing left to do (the virtual clock runs it in the server). */
  const settle = async () => {
    for (let i = 0; i < 500; i++) {
      const c = JSON.parse(await q.cmd({ execute: '__org.plugboard_query-clock' })).return;
      if (c['pending-timers'].length === 0 && c['virtual-ns'] > 1e9) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('the guest never settled');
  };
  /** Kernel lines without the "[ seconds]" stamp. */
  const klog = () => readFileSync(consoleFile, 'utf8').split('\r\n').filter(Boolean).map((l) => l.replace(/^\[\s*[\d.]+\]\s/, ''));
  const reg = async (id: string, off: number, size = 4) => {
    const r = JSON.parse(await q.cmd({ execute: '__org.plugboard_config-read', arguments: { id, offset: off, size } }));
    if (!('return' in r)) throw new Error(JSON.stringify(r));
    return r.return as number;
  };
  const aer = async (id: string, off: number) => `0x${((await reg(id, AER + off)) >>> 0).toString(16)}`;
  /** What record-linux.mjs read after each step: secondary status of ports, AER 0x104..0x134. */
  const registers = async (ids: string[]) => {
    const out: Record<string, Record<string, string>> = {};
    for (const id of ids) {
      const r: Record<string, string> = {};
      if (PORTS.has(id)) r.secsta = `0x${((await reg(id, 0x1c)) >>> 16).toString(16)}`;
      for (let off = 0x104; off <= 0x134; off += 4) r[`0x${off.toString(16)}`] = `0x${((await reg(id, off)) >>> 0).toString(16)}`;
      out[id] = r;
    }
    return out;
  };
  /** HMP through QMP, then the kernel lines it produced once the guest settled. */
  const inject = async (args: string) => {
    const from = klog().length;
    const r = JSON.parse(await q.cmd({ execute: 'human-monitor-command', arguments: { 'command-line': `pcie_aer_inject_error ${args}` } }));
    await settle();
    return { out: r.return as string, lines: klog().slice(from) };
  };
  await settle();
  return { q, klog, reg, aer, inject, registers };
}

describe('AER error injection with the default guest, over QMP', () => {
  it('boot: the AER service binds both root ports; error reporting on in every function', async () => {
    const s = await session();
    expect(s.klog().filter((l) => l.includes('AER: enabled with IRQ'))).toEqual(rec.bootLines.filter((l) => l.includes('AER: enabled with IRQ')));
    for (const id of ['rp1', 'rp2']) expect(await s.aer(id, PCI_ERR_ROOT_COMMAND), id).toBe('0x7');
    // Device Control: Correctable/Non-Fatal/Fatal/Unsupported Request reporting (PCI_EXP_AER_FLAGS).
    for (const id of ['vn1', 'vn2', 'up1', 'dp1', 'rp1', 'rp2']) {
      // The PCI Express capability, found as the guest finds it (the list from 0x34).
      let exp = (await s.reg(id, 0x34, 1)) & 0xfc;
      while (exp && ((await s.reg(id, exp, 1)) & 0xff) !== 0x10) exp = (await s.reg(id, exp + 1, 1)) & 0xfc;
      expect(exp, id).not.toBe(0);
      expect((await s.reg(id, exp + 0x08, 2)) & 0xf, id).toBe(0xf);
    }
  });

  it('every injection on vn1 (root port) and vn2 (switch): HMP output, kernel lines, registers as QEMU 7.2 + Linux 6.1', async () => {
    const s = await session();
    const ids = Object.keys(rec.steps[0]!.registers);
    const strip = (regs: Record<string, Record<string, string>>) =>
      Object.fromEntries(Object.entries(regs).map(([id, { cmdsta: _c, secsta, ...aer }]) => [id, PORTS.has(id) ? { secsta, ...aer } : aer]));
    expect(await s.registers(ids)).toEqual(strip(rec.steps[0]!.registers));
    for (const step of rec.steps.slice(1)) {
      const got = await s.inject(step.cmd!.replace(/^pcie_aer_inject_error /, ''));
      expect({ cmd: step.cmd, out: got.out, lines: got.lines }).toEqual({ cmd: step.cmd, out: step.out, lines: step.lines!.map((l) => asBound(l.text)) });
      expect({ cmd: step.cmd, regs: await s.registers(ids) }).toEqual({ cmd: step.cmd, regs: strip(step.registers) });
    }
    // What the steps showed, spelled out: the switch ports saw the message go up.
    for (const id of ['dp1', 'up1', 'rp2']) expect(((await s.reg(id, 0x1c)) >>> 16) & 0x4000, id).toBe(0x4000);
  });
});
