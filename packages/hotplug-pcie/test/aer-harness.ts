/**
 * Replays fixtures/qemu-7.2-aer/registers.json (scripts/record-aer) against Plugboard: the
 * same `-device` topology on the q35-like test board, then every config write, MMIO write,
 * RAM write and HMP command of a scenario, comparing every config read, RAM read (where MSI
 * messages land) and HMP output with what QEMU 7.2 returned.
 *
 * A few reads differ for reasons outside AER (pci-core's catalog builds some capabilities
 * differently from QEMU); DIVERGENCES lists each with its reason, and accesses to
 * capabilities that sit elsewhere in Plugboard are relocated to Plugboard's offset.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { regs, type PCIDevice } from '@plugboard/pci-core';
import type { PropValue } from '@plugboard/qdev';
import { attachAer, pcieAerInjectErrorHmp, HMP_PCIE_AER_INJECT_ERROR } from '../src/index.js';
import { buildBoard, type Board } from './board.js';

export type Step =
  | ['note', string]
  | ['w' | 'r', string, number, number, number]
  | ['hmp', string, string]
  | ['mr' | 'mw' | 'mmw', number, number];

export interface AerFixture {
  qemu: string;
  topology: Array<{ opts: Record<string, PropValue>; bus: number; devfn: number }>;
  scenarios: Record<string, { name: string; about: string; steps: Step[] }>;
}

const FIXTURE = fileURLToPath(new URL('../../../fixtures/qemu-7.2-aer/registers.json', import.meta.url));
let cached: AerFixture | undefined;
export function aerFixture(): AerFixture {
  return (cached ??= JSON.parse(readFileSync(FIXTURE, 'utf8')) as AerFixture);
}

/**
 * Where QEMU 7.2 puts the capabilities the scenarios touch, for the types whose layout in
 * pci-core's catalog differs (virtio in PCIe mode: observed cap list 0xdc MSI-X -> vendor
 * caps -> 0x7c PM -> 0x40 PCIe).
 */
const QEMU_CAPS: Record<string, Record<number, { at: number; len: number }>> = {
  'virtio-net-pci': { [regs.PCI_CAP_ID_EXP]: { at: 0x40, len: 0x3c }, [regs.PCI_CAP_ID_MSIX]: { at: 0xdc, len: 12 }, [regs.PCI_CAP_ID_PM]: { at: 0x7c, len: 8 } },
};

interface Divergence {
  why: string;
  /** Bits of the read to compare (0: skip the read). */
  mask(dev: PCIDevice, off: number, size: number, scenario: string, note: string): number | undefined;
}

/** Reads whose difference is not AER's: each names the pci-core behaviour it comes from. */
export const DIVERGENCES: Divergence[] = [
  {
    why: 'capability list order/layout below 0x100 is the catalog\'s (e1000e, nvme lists differ; virtio-net-pci in PCIe mode: QEMU has PCIe 0x40, PM 0x7c, vendor 0x84.., MSI-X 0xdc)',
    mask: (_d, off, _size, _sc, note) => (note === 'capability lists' && off < 0x100 ? 0 : undefined),
  },
  {
    why: 'Device Control bits other than the error-reporting enables are read-only in QEMU (writable in pci-core); Device Control 2 masks differ too',
    mask: (d, off, size, sc) => {
      const exp = d.caps.get(regs.PCI_CAP_ID_EXP);
      if (exp === undefined || sc !== 'masks') return undefined;
      if (off === exp + 0x08) return size === 4 ? 0xffff000f : 0x000f;
      return off === exp + 0x28 ? 0 : undefined;
    },
  },
];

export interface Mismatch {
  index: number;
  note: string;
  step: Step;
  actual: number | string;
}

export interface ReplayResult {
  board: Board;
  compared: number;
  skipped: Map<string, number>;
  /** Differing reads inside an AER capability hidden by a divergence rule (must stay 0). */
  maskedAerReads: number;
  mismatches: Mismatch[];
}

function parseBdf(name: string): { bus: number; devfn: number } {
  const [bus, dev, fn] = name.split(/[:.]/).map((x) => parseInt(x, 16));
  return { bus: bus!, devfn: (dev! << 3) | fn! };
}

/** Builds the topology and replays one scenario; stops collecting after `limit` mismatches. */
export function replay(scenario: string, limit = 20): ReplayResult {
  const fx = aerFixture();
  const board = buildBoard(fx.topology.map((t) => ({ ...t.opts })), { beforeColdPlug: (b) => attachAer(b.machine) });
  const ram = new Map<number, number>();
  board.root.msiSink = { msi: (_dev, address, data) => ram.set(Number(address), data >>> 0) };
  const byBdf = new Map<string, PCIDevice>();
  for (const t of fx.topology) byBdf.set(`${t.bus.toString(16).padStart(2, '0')}:${(t.devfn >> 3).toString(16).padStart(2, '0')}.${t.devfn & 7}`, board.dev(String(t.opts.id)));
  const result: ReplayResult = { board, compared: 0, skipped: new Map(), maskedAerReads: 0, mismatches: [] };
  let note = '';
  const relocate = (dev: PCIDevice, off: number): number => {
    for (const [id, q] of Object.entries(QEMU_CAPS[dev.typeName] ?? {})) {
      const here = dev.caps.get(Number(id));
      if (here !== undefined && off >= q.at && off < q.at + q.len) return here + off - q.at;
    }
    return off;
  };
  fx.scenarios[scenario]!.steps.forEach((step, index) => {
    const miss = (actual: number | string) => {
      if (result.mismatches.length < limit) result.mismatches.push({ index, note, step, actual });
    };
    switch (step[0]) {
      case 'note':
        note = step[1];
        return;
      case 'w': {
        const dev = byBdf.get(step[1])!;
        board.gv.configWrite(parseBdf(step[1]), relocate(dev, step[2]), step[4], step[3]);
        return;
      }
      case 'r': {
        const dev = byBdf.get(step[1])!;
        const off = relocate(dev, step[2]);
        const actual = board.gv.configRead(parseBdf(step[1]), off, step[3]);
        let mask = step[3] === 4 ? 0xffffffff : (1 << (8 * step[3])) - 1;
        for (const d of DIVERGENCES) {
          const m = d.mask(dev, off, step[3], scenario, note);
          if (m === undefined) continue;
          if ((actual & mask) !== (step[4] & mask) && (actual & m) === (step[4] & m)) {
            result.skipped.set(d.why, (result.skipped.get(d.why) ?? 0) + 1);
            if (off >= 0x100 && off < 0x100 + 0x48 && dev.typeName !== 'e1000e') result.maskedAerReads++;
          }
          mask &= m;
        }
        result.compared++;
        if (((actual ^ step[4]) & mask) >>> 0) miss(actual);
        return;
      }
      case 'hmp': {
        const line = step[1];
        const out = line.startsWith(HMP_PCIE_AER_INJECT_ERROR) ? pcieAerInjectErrorHmp(board.machine, line.slice(HMP_PCIE_AER_INJECT_ERROR.length).replace(/^\s+/, '')) : '?';
        result.compared++;
        if (out !== step[2]) miss(out);
        return;
      }
      case 'mr': {
        result.compared++;
        const actual = ram.get(step[1]) ?? 0;
        if (actual !== step[2]) miss(actual);
        return;
      }
      case 'mw':
        ram.set(step[1], step[2]);
        return;
      case 'mmw':
        board.gv.mmioWrite(step[1], step[2], 4);
        return;
    }
  });
  return result;
}

const hex = (v: number | string) => (typeof v === 'number' ? `0x${v.toString(16)}` : JSON.stringify(v));

/** Human-readable mismatch lines for a failing expectation. */
export function describeMismatches(r: ReplayResult): string[] {
  return r.mismatches.map((m) => {
    const s = m.step;
    const what = s[0] === 'r' ? `read ${s[1]} +${hex(s[2])}/${s[3]}: qemu ${hex(s[4])}` : s[0] === 'hmp' ? `hmp ${JSON.stringify(s[1])}: qemu ${hex(s[2])}` : `${s[0]} ${hex(s[1])}: qemu ${hex(s[2])}`;
    return `#${m.index} [${m.note}] ${what}, plugboard ${hex(m.actual)}`;
  });
}
