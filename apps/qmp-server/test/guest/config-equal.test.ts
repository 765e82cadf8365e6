/**
 * The whole recorded config space (256 bytes of every bridge and of every device off bus 0)
 * after boot, after device_add and after device_del equals what real QEMU 7.2 + Linux 6.1 left
 * (fixtures/qemu-7.2-linux/pciehp-*.json, scripts/record-guest/record-pciehp.mjs): the
 * firmware's and the kernel's writes, MSI address/data/mask of the ports (flat logical
 * destination, vectors from 0x22), the e1000e driver's MSI-X enable and INTx disable. The
 * SHPC and ACPI recordings' bridges after boot too (bridge Status bits, the PCIe port services
 * on a port acpiphp drives).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deviceAdd, deviceDel } from '@plugboard/qdev';
import { PlugboardServer } from '../../src/index.js';

interface Fixture {
  argv: string[];
  qmp: Array<{ dir: string; raw: string }>;
  registers: Record<string, { config: Record<string, { raw: string }> }>;
}

function machineOf(f: Fixture) {
  const devices: Array<{ opts: Record<string, unknown> }> = [];
  const globals: Array<{ driver: string; property: string; value: string }> = [];
  let type = 'q35';
  let ramMiB = 512;
  f.argv.forEach((a, i) => {
    const v = f.argv[i + 1] ?? '';
    if (a === '-M') type = v.split(',')[0]!;
    if (a === '-m') ramMiB = Number(v);
    if (a === '-device' && !/^isa-/.test(v)) {
      const [driver, ...kv] = v.split(',');
      devices.push({ opts: Object.fromEntries([['driver', driver], ...kv.map((p) => p.split('='))]) });
    }
    if (a === '-global') {
      const m = /^([^.]+)\.([^=]+)=(.*)$/.exec(v)!;
      globals.push({ driver: m[1]!, property: m[2]!, value: m[3]! });
    }
  });
  return PlugboardServer.create({ type, nodefaults: true, start: true, ramSize: ramMiB * 1024 * 1024, globals, devices });
}

function differences(s: PlugboardServer, regs: Fixture['registers'][string]): string[] {
  const out: string[] = [];
  for (const [bdf, { raw }] of Object.entries(regs.config)) {
    const m = /^0000:(..):(..)\.(.)$/.exec(bdf)!;
    const at = { bus: parseInt(m[1]!, 16), devfn: (parseInt(m[2]!, 16) << 3) | Number(m[3]) };
    for (let i = 0; i < raw.length / 2; i += 4) {
      const real = parseInt(raw.slice(i * 2, i * 2 + 8).match(/../g)!.reverse().join(''), 16) >>> 0;
      const ours = s.machine.guestView.configRead(at, i, 4) >>> 0;
      if (ours !== real) out.push(`${bdf} 0x${i.toString(16)}: real ${real.toString(16)} ours ${ours.toString(16)}`);
    }
  }
  return out;
}

describe('config space after boot, add and del equals QEMU 7.2 + Linux 6.1', () => {
  for (const name of ['root-port', 'switch', 'multifunction', 'multifunction-fn0']) {
    it(name, () => {
      const f = JSON.parse(readFileSync(new URL(`../../../../fixtures/qemu-7.2-linux/pciehp-${name}.json`, import.meta.url), 'utf8')) as Fixture;
      const sent = (cmd: string) => (JSON.parse(f.qmp.find((q) => q.dir === 'send' && q.raw.includes(`"${cmd}"`))!.raw) as { arguments: Record<string, unknown> }).arguments;
      const s = machineOf(f);
      s.machine.clock.runUntilIdle();
      expect(differences(s, f.registers.boot!)).toEqual([]);
      deviceAdd(s.machine, sent('device_add'), { json: true });
      s.machine.clock.runUntilIdle();
      expect(differences(s, f.registers.added!)).toEqual([]);
      deviceDel(s.machine, sent('device_del').id as string);
      s.machine.clock.runUntilIdle();
      expect(differences(s, f.registers.deleted!)).toEqual([]);
    });
  }
});

describe('bridges after boot equal QEMU 7.2 + Linux 6.1 (SHPC and ACPI recordings)', () => {
  for (const name of ['shpchp-pc', 'shpchp-q35-pci-bridge', 'shpchp-q35-pcie-pci-bridge', 'acpiphp-q35', 'acpiphp-pc-bridge']) {
    it(name, () => {
      const f = JSON.parse(readFileSync(new URL(`../../../../fixtures/qemu-7.2-linux/${name}.json`, import.meta.url), 'utf8')) as Fixture;
      const s = machineOf(f);
      s.machine.clock.runUntilIdle();
      expect(Object.keys(f.registers.boot!.config).length).toBeGreaterThan(0);
      expect(differences(s, f.registers.boot!)).toEqual([]);
    });
  }
});
