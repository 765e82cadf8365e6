/**
 * Trace sanity: every guest-visible access and interrupt the GuestView recorded must be a
 * record a trace reader can rely on (ARCHITECTURE.md "Guest-visible interface").
 */
import type { TraceRecord } from '@plugboard/pci-core';
import { ContractViolation } from './check.js';

const ACCESS_OPS = new Set(['cfg-read', 'cfg-write', 'io-read', 'io-write', 'mmio-read', 'mmio-write']);
/** InterruptEvent kinds of @plugboard/pci-core. */
export const INTERRUPT_KINDS: ReadonlySet<string> = new Set(['intx', 'msi', 'sci', 'spapr']);
/** PCIe extended config space: the largest config space a function has. */
const CONFIG_SPACE_MAX = 4096;

const maxFor = (size: number) => (size >= 4 ? 0xffffffff : 2 ** (8 * size) - 1);
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * Problems in a trace, as readable lines (empty when sane): time never goes back, accesses
 * have a size the bus can carry and a value that fits it, config offsets stay in config
 * space, interrupts name a known kind and a line.
 */
export function traceProblems(trace: readonly TraceRecord[]): string[] {
  const out: string[] = [];
  let last = 0;
  trace.forEach((rec, i) => {
    // Fields are read loosely: the point is to catch records that break their own shape.
    const r = rec as { t: unknown; op: string; [k: string]: unknown };
    const at = `trace[${i}] ${JSON.stringify(rec, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))}`;
    if (!isUint(r.t)) out.push(`${at}: time is not a non-negative integer`);
    else if (r.t < last) out.push(`${at}: time goes back (previous ${last})`);
    else last = r.t;
    if (ACCESS_OPS.has(r.op)) {
      const size = r.size as number;
      const sizes = r.op.startsWith('mmio') ? [1, 2, 4, 8] : [1, 2, 4];
      if (!sizes.includes(size)) out.push(`${at}: access size ${String(size)}`);
      else if (!isUint(r.val) || (r.val as number) > maxFor(size)) out.push(`${at}: value does not fit ${size} byte(s)`);
      if (r.op.startsWith('cfg')) {
        const off = r.off as number;
        if (!isUint(off) || off + size > CONFIG_SPACE_MAX) out.push(`${at}: config offset outside config space`);
        if (typeof r.bdf !== 'string' || !/^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/.test(r.bdf)) out.push(`${at}: malformed bdf`);
      } else if (!isUint(r.op.startsWith('io') ? r.port : r.addr)) out.push(`${at}: address is not a non-negative integer`);
    } else if (r.op === 'irq') {
      if (!INTERRUPT_KINDS.has(String(r.kind))) out.push(`${at}: unknown interrupt kind`);
      if (!isUint(r.line)) out.push(`${at}: interrupt line is not a non-negative integer`);
      if (r.level !== undefined && r.level !== 0 && r.level !== 1) out.push(`${at}: interrupt level is not 0 or 1`);
    } else if (typeof r.op !== 'string' || r.op === '') out.push(`${at}: no op`);
  });
  return out;
}

export function checkTrace(trace: readonly TraceRecord[], what = 'trace'): void {
  const p = traceProblems(trace);
  if (p.length) throw new ContractViolation(`${what} is not sane (${p.length} problem(s)):\n  ${p.slice(0, 10).join('\n  ')}`);
}

/** Interrupt records in a slice of a trace. */
export function interruptsIn(trace: readonly TraceRecord[], from = 0, to = trace.length): TraceRecord[] {
  return trace.slice(from, to).filter((r) => r.op === 'irq');
}
