/**
 * Property test of the AER model with fast-check: random sequences of HMP injections (names,
 * numeric statuses, -a/-c, TLP header and prefix words) mixed with random guest writes
 * (severity, masks, MHRE, Root Error Command, DEVCTL, SERR#, bridge SERR#, W1C clears) on the
 * topology recorded from QEMU 7.2 (fixtures/qemu-7.2-aer), checking after every step:
 *  - nothing is raised with nothing pending: a root port's INTx is asserted only while Root
 *    Error Command enables a Root Error Status it holds, and every MSI/MSI-X message of a
 *    root port goes out while such a request is pending (hw/pci/pcie_aer.c
 *    pcie_aer_root_notify, pcie_aer_root_write_config);
 *  - no W1C bit sticks: a guest that writes 1s over the status registers (and clears the
 *    first error, as QEMU's multiple header recording requires) drains every one to 0,
 *    except the bits QEMU 7.2 itself does not let the guest clear (listed below).
 * A failing sequence is shrunk by fast-check and printed with its seed
 * (PLUGBOARD_PROPERTY_RUNS sets the number of runs).
 */
import { describe, expect } from 'vitest';
import { fc, it } from '@fast-check/vitest';
import { caps, regs, type PCIDevice } from '@plugboard/pci-core';
import { AER_ERROR_NAMES, attachAer, aerRegs as A, pcieAerInjectErrorHmp, pcieAerOf, rootStatusToCommand } from '../src/index.js';
import { aerFixture } from './aer-harness.js';
import { buildBoard, type Board } from './board.js';

const RUNS = Number(process.env.PLUGBOARD_PROPERTY_RUNS ?? 100);
const IDS = ['rp1', 'nic1', 'rp2', 'up1', 'dp1', 'nic2', 'ioh1', 'vn1', 'rp3', 'vn2', 'rp4', 'nv1'];
const MSIX_BAR = 0xfe000000;

interface Ctx {
  b: Board;
  dev: (id: string) => PCIDevice;
  cfgR: (d: PCIDevice, off: number, len?: number) => number;
  cfgW: (d: PCIDevice, off: number, v: number, len?: number) => void;
  violations: string[];
  messages: number;
  intxSeen: boolean;
  /** First word of every HMP output seen. */
  outputs: Set<string>;
}

function setup(): Ctx {
  const fx = aerFixture();
  const b = buildBoard(fx.topology.map((t) => ({ ...t.opts })), { beforeColdPlug: (bb) => attachAer(bb.machine) });
  const bdf = (d: PCIDevice) => ({ bus: d.pciBus.number, devfn: d.devfn });
  const ctx: Ctx = {
    b, dev: (id) => b.dev(id),
    cfgR: (d, off, len = 4) => b.gv.configRead(bdf(d), off, len) >>> 0,
    cfgW: (d, off, v, len = 4) => b.gv.configWrite(bdf(d), off, v >>> 0, len),
    violations: [],
    messages: 0,
    intxSeen: false,
    outputs: new Set(),
  };
  // Firmware: bus numbers; ports decode, master, SERR#; MSI-X on rp1/rp2/rp4, MSI on ioh1, INTx on rp3.
  for (const t of fx.topology) {
    const o = t as { sec?: number; sub?: number; bus: number; opts: { id: string } };
    if (o.sec !== undefined) ctx.cfgW(b.dev(o.opts.id), regs.PCI_PRIMARY_BUS, o.bus | (o.sec << 8) | (o.sub! << 16));
  }
  ['rp1', 'rp2', 'rp4'].forEach((id, i) => {
    const d = b.dev(id);
    ctx.cfgW(d, regs.PCI_BASE_ADDRESS_0, MSIX_BAR + i * 0x1000);
    ctx.cfgW(d, regs.PCI_COMMAND, regs.PCI_COMMAND_MEMORY | regs.PCI_COMMAND_MASTER, 2);
    b.gv.mmioWrite(MSIX_BAR + i * 0x1000, 0x1000 + i * 16, 4);
    b.gv.mmioWrite(MSIX_BAR + i * 0x1000 + 12, 0, 4);
    ctx.cfgW(d, d.caps.get(regs.PCI_CAP_ID_MSIX)! + regs.PCI_MSIX_FLAGS, regs.PCI_MSIX_FLAGS_ENABLE, 2);
  });
  // What Linux leaves enabled, so that messages flow; random steps then disturb it.
  for (const id of IDS) {
    const d = b.dev(id);
    const m = pcieAerOf(d);
    ctx.cfgW(d, regs.PCI_COMMAND, ctx.cfgR(d, regs.PCI_COMMAND, 2) | regs.PCI_COMMAND_SERR, 2);
    ctx.cfgW(d, d.caps.get(regs.PCI_CAP_ID_EXP)! + caps.PCI_EXP_DEVCTL, 0xf, 2);
    if (d.isBridge) ctx.cfgW(d, regs.PCI_BRIDGE_CONTROL, regs.PCI_BRIDGE_CTL_SERR, 2);
    if (m.aer && m.isRootPort) ctx.cfgW(d, m.aer + A.PCI_ERR_ROOT_COMMAND, 7);
  }
  const ioh = b.dev('ioh1');
  ctx.cfgW(ioh, ioh.caps.get(regs.PCI_CAP_ID_MSI)! + regs.PCI_MSI_ADDRESS_LO, 0x2000);
  ctx.cfgW(ioh, ioh.caps.get(regs.PCI_CAP_ID_MSI)! + regs.PCI_MSI_FLAGS, regs.PCI_MSI_FLAGS_ENABLE, 2);
  // Every message a root port sends must find an enabled request pending.
  b.root.msiSink = {
    msi: (d) => {
      ctx.messages++;
      const m = pcieAerOf(d);
      if (!m.aer || !m.isRootPort) return;
      const pending = rootStatusToCommand(d.config.get32(m.aer + A.PCI_ERR_ROOT_STATUS)) & d.config.get32(m.aer + A.PCI_ERR_ROOT_COMMAND);
      if (!pending) ctx.violations.push(`${d.id}: MSI with nothing pending`);
    },
  };
  return ctx;
}

/** INTx of root ports: asserted iff an enabled request is pending (MSI/MSI-X off). */
function checkIntx(c: Ctx, where: string): void {
  for (const id of ['rp1', 'rp2', 'rp3', 'rp4', 'ioh1']) {
    const d = c.dev(id);
    const m = pcieAerOf(d);
    const pending = rootStatusToCommand(d.config.get32(m.aer + A.PCI_ERR_ROOT_STATUS)) & d.config.get32(m.aer + A.PCI_ERR_ROOT_COMMAND);
    if (d.intxLevel && !pending) c.violations.push(`${where}: ${id} INTx asserted with nothing pending`);
    if (d.intxLevel) c.intxSeen = true;
  }
}

/** The guest clears everything it can; what stays set must be one of QEMU's own exceptions. */
function drainAndCheck(c: Ctx, where: string): void {
  for (const id of IDS) {
    const d = c.dev(id);
    const m = pcieAerOf(d);
    const exp = d.caps.get(regs.PCI_CAP_ID_EXP)!;
    for (let round = 0; round <= m.logMax + 1; round++) {
      if (m.aer) {
        // Clearing the first error loads the next queued one (6.2.4.2): clear it, then the rest.
        const fep = c.cfgR(d, m.aer + A.PCI_ERR_CAP) & A.PCI_ERR_CAP_FEP_MASK;
        c.cfgW(d, m.aer + A.PCI_ERR_UNCOR_STATUS, (1 << fep) >>> 0);
        c.cfgW(d, m.aer + A.PCI_ERR_UNCOR_STATUS, 0xffffffff);
        c.cfgW(d, m.aer + A.PCI_ERR_COR_STATUS, 0xffffffff);
        if (m.isRootPort) c.cfgW(d, m.aer + A.PCI_ERR_ROOT_STATUS, 0xffffffff);
      }
      c.cfgW(d, exp + caps.PCI_EXP_DEVSTA, 0xf, 2);
      c.cfgW(d, regs.PCI_STATUS, 0xf900, 2);
    }
    if (m.aer) {
      for (const [reg, name] of [[A.PCI_ERR_UNCOR_STATUS, 'uncorrectable'], [A.PCI_ERR_COR_STATUS, 'correctable'], ...(m.isRootPort ? [[A.PCI_ERR_ROOT_STATUS, 'root']] : [])] as Array<[number, string]>) {
        const v = c.cfgR(d, m.aer + reg) & (reg === A.PCI_ERR_ROOT_STATUS ? A.PCI_ERR_ROOT_STATUS_REPORT_MASK : 0xffffffff);
        if (v) c.violations.push(`${where}: ${id} ${name} status stuck at 0x${v.toString(16)}`);
      }
    }
    // QEMU 7.2: e1000e and nvme have no W1C Device Status (no pcie_cap_deverr_init).
    if (!['e1000e', 'nvme'].includes(d.typeName) && c.cfgR(d, exp + caps.PCI_EXP_DEVSTA, 2) & 0xf) c.violations.push(`${where}: ${id} DEVSTA stuck`);
    if (c.cfgR(d, regs.PCI_STATUS, 2) & 0xf900) c.violations.push(`${where}: ${id} PCI_STATUS error bits stuck`);
    if (d.intxLevel) c.violations.push(`${where}: ${id} INTx still asserted after the guest cleared everything`);
  }
}

type Op =
  | { kind: 'inject'; id: string; advisory: boolean; correctable: boolean; status: string; header: readonly number[] }
  | { kind: 'aer'; id: string; reg: number; value: number }
  | { kind: 'devctl'; id: string; value: number }
  | { kind: 'command'; id: string; serr: boolean }
  | { kind: 'bridgeControl'; id: string; serr: boolean }
  | { kind: 'drain' };

const id = fc.constantFrom(...IDS);
const word = fc.integer({ min: 0, max: 0xffffffff });
/** A status as HMP takes it: a name of QEMU's table, or a number (one bit, or any value QEMU refuses). */
const status = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...AER_ERROR_NAMES.map((e) => e.name)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 31 }).map((b) => `0x${(2 ** b).toString(16)}`) },
  { weight: 1, arbitrary: word.map((v) => `0x${v.toString(16)}`) },
);
const AER_REGS = [A.PCI_ERR_UNCOR_SEVER, A.PCI_ERR_UNCOR_MASK, A.PCI_ERR_COR_MASK, A.PCI_ERR_CAP, A.PCI_ERR_UNCOR_STATUS, A.PCI_ERR_COR_STATUS, A.PCI_ERR_ROOT_COMMAND, A.PCI_ERR_ROOT_STATUS];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 9, arbitrary: fc.record({ kind: fc.constant('inject' as const), id, advisory: fc.boolean(), correctable: fc.boolean(), status, header: fc.oneof(fc.constant<readonly number[]>([]), fc.array(word, { minLength: 4, maxLength: 4 }), fc.array(word, { minLength: 8, maxLength: 8 })) }) },
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('aer' as const), id, reg: fc.constantFrom(...AER_REGS), value: word }).map((o) =>
      // Error Capabilities and Control: the MHRE/ECRC enables the guest may use.
      o.reg === A.PCI_ERR_CAP ? { ...o, value: [0, A.PCI_ERR_CAP_MHRE, A.PCI_ERR_CAP_MHRE | A.PCI_ERR_CAP_ECRC_GENE][o.value % 3]! } : o),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('devctl' as const), id, value: fc.integer({ min: 0, max: 15 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('command' as const), id, serr: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bridgeControl' as const), id, serr: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'drain' as const }) },
);

/** What an HMP line for an injection op looks like. */
function hmpLine(op: Extract<Op, { kind: 'inject' }>): string {
  const hex = (v: number) => `0x${v.toString(16)}`;
  return `${op.advisory ? '-a ' : ''}${op.correctable ? '-c ' : ''}${op.id} ${op.status}${op.header.map((w) => ` ${hex(w)}`).join('')}`;
}

function apply(c: Ctx, op: Op, where: string): void {
  if (op.kind === 'drain') {
    drainAndCheck(c, where);
    return;
  }
  const d = c.dev(op.id);
  const m = pcieAerOf(d);
  const exp = d.caps.get(regs.PCI_CAP_ID_EXP)!;
  switch (op.kind) {
    case 'inject':
      c.outputs.add(pcieAerInjectErrorHmp(c.b.machine, hmpLine(op)).split(' ')[0]!);
      return;
    case 'aer':
      if (m.aer) c.cfgW(d, m.aer + op.reg, op.value);
      return;
    case 'devctl':
      c.cfgW(d, exp + caps.PCI_EXP_DEVCTL, op.value, 2);
      return;
    case 'command':
      c.cfgW(d, regs.PCI_COMMAND, (d.isBridge ? regs.PCI_COMMAND_MEMORY | regs.PCI_COMMAND_MASTER : 0) | (op.serr ? regs.PCI_COMMAND_SERR : 0), 2);
      return;
    case 'bridgeControl':
      if (d.isBridge) c.cfgW(d, regs.PCI_BRIDGE_CONTROL, op.serr ? regs.PCI_BRIDGE_CTL_SERR : 0, 2);
      return;
  }
}

/** What the runs reached, so that a weak generator cannot pass unnoticed. */
const reached = { messages: 0, intx: false, outputs: new Set<string>() };

describe(`AER property (fast-check, ${RUNS} runs)`, () => {
  it.prop([fc.array(opArb, { minLength: 1, maxLength: 120 })], { numRuns: RUNS })(
    'random injections and guest writes: no interrupt without a pending request, no W1C bit stuck',
    (ops) => {
      const c = setup();
      ops.forEach((op, step) => {
        apply(c, op, `step ${step}`);
        checkIntx(c, `step ${step}`);
      });
      drainAndCheck(c, 'end');
      reached.messages += c.messages;
      reached.intx ||= c.intxSeen;
      for (const o of c.outputs) reached.outputs.add(o);
      expect(c.violations).toEqual([]);
    },
    120_000,
  );

  it('the runs reached root ports by MSI/MSI-X and by INTx (rp3), and hit both QEMU outputs', () => {
    expect(reached.messages).toBeGreaterThan(0);
    expect(reached.intx).toBe(true);
    // "OK id: ..." and "failed to inject error: Invalid argument" (a value that is not one supported bit).
    expect([...reached.outputs].sort()).toEqual(expect.arrayContaining(['OK', 'failed']));
  });
});
