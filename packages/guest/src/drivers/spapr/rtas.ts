/**
 * RTAS as a pseries kernel and librtas use it (arch/powerpc/kernel/rtas.c, powerpc-utils
 * librtas): tokens looked up by name in /rtas, calls with argument and return counts, the
 * busy/extended-delay retry loop, and the RTAS-reachable buffers the kernel and drmgr use.
 * The machine is reached only through the GuestView's RTAS entry point (guest-spapr.md §1).
 */
import type { GuestView } from '@plugboard/pci-core';
import type { Scheduler, TaskBody } from '../../os/sched.js';
import type { OfNode } from './devtree.js';

/** The GuestView's pseries entry points (RTAS, hypercalls, guest RAM). */
export interface SpaprPort {
  rtas(token: number, args: readonly number[], nret: number, ctx?: { cpu?: number }): number[];
  hcall(opcode: number, args: readonly number[]): number[];
  memRead(addr: number, len: number): Uint8Array;
  memWrite(addr: number, data: Uint8Array): void;
}

/** The view's SpaprPort, when the machine is a pseries. */
export function spaprPortOf(view: GuestView): SpaprPort | undefined {
  const v = view as unknown as Partial<SpaprPort>;
  return typeof v.rtas === 'function' && typeof v.hcall === 'function' && typeof v.memRead === 'function' ? (v as SpaprPort) : undefined;
}

/** rtas.h return codes the guest acts on. */
export const RTAS_BUSY = -2;
export const RTAS_EXTENDED_DELAY_MIN = 9900;
export const RTAS_EXTENDED_DELAY_MAX = 9905;
export const RTAS_UNKNOWN_SERVICE = -1;
/** Sensor / indicator tokens (rtas.h). */
export const ISOLATION_STATE = 9001;
export const DR_INDICATOR = 9002;
export const ALLOCATION_STATE = 9003;
export const DR_ENTITY_SENSE = 9003;
export const EPOW_SENSOR_TOKEN = 9;
export const EPOW_SENSOR_INDEX = 0;
export const ISOLATE = 0;
export const UNISOLATE = 1;
export const ALLOC_UNUSABLE = 0;
export const ALLOC_USABLE = 1;
export const DR_ENTITY_PRESENT = 1;
export const DR_ENTITY_UNUSABLE = 2;
export const DR_INDICATOR_ON = 1;
export const DR_INDICATOR_OFF = 0;
export const POWER_ON = 100;
export const POWER_OFF = 0;
/** check-exception arguments (ras.c). */
export const RTAS_VECTOR_EXTERNAL_INTERRUPT = 0x500;
export const RTAS_EPOW_WARNING = 0x40000000;
export const RTAS_HOTPLUG_EVENTS = 0x10000000;
export const RTAS_EVENT_SCAN_ALL_EVENTS = 0xffffffff;
/** extended-delay retries sleep 10^(rc - 9900) ms, at most one second (rtas_busy_delay). */
const MAX_EXTENDED_DELAY_MS = 1000;

/** Guest-physical buffers in the RTAS-reachable region (arbitrary, below the 256 MiB RMA). */
export const RAS_LOG_BUF = 0x0100_0000;
export const RTASD_LOG_BUF = 0x0100_1000;
export const KERNEL_WORK_AREA = 0x0100_2000;
export const LIBRTAS_RMO_BUF = 0x0100_3000;
export const CAS_VECTOR = 0x0100_4000;
export const CAS_FDT_BUF = 0x0110_0000;
export const CAS_FDT_BUF_SIZE = 0x0010_0000;

export class RtasClient {
  private readonly tokens = new Map<string, number>();
  readonly errorLogMax: number;
  readonly eventScanRate: number;

  constructor(
    readonly port: SpaprPort,
    rtasNode: OfNode,
  ) {
    for (const [name, v] of rtasNode.props) if (v.length === 4 && !name.startsWith('rtas-') && name !== 'ibm,lrdr-capacity') this.tokens.set(name, rtasNode.cell(name)!);
    this.errorLogMax = Math.min(rtasNode.cell('rtas-error-log-max') ?? 2048, 2048);
    this.eventScanRate = rtasNode.cell('rtas-event-scan-rate') ?? 1;
  }

  /** rtas_token / rtas_function_token. */
  token(name: string): number {
    return this.tokens.get(name) ?? RTAS_UNKNOWN_SERVICE;
  }

  /** rtas_call: status in rets[0] (as int), outputs after it. */
  call(name: string, args: number[], nret: number, ctx?: { cpu?: number }): number[] {
    const t = this.token(name);
    if (t === RTAS_UNKNOWN_SERVICE) return [RTAS_UNKNOWN_SERVICE];
    const rets = this.port.rtas(t, args.map((a) => a >>> 0), nret, ctx);
    return Array.from({ length: Math.max(nret, 1) }, (_, i) => (i === 0 ? (rets[0] ?? 0) | 0 : (rets[i] ?? 0) >>> 0));
  }

  /** A call inside `do { } while (rtas_busy_delay(rc))`: busy retries at once, 990x after a sleep. */
  *callRetry(sched: Scheduler, name: string, args: number[], nret: number): TaskBody<number[]> {
    for (;;) {
      const rets = this.call(name, args, nret);
      const rc = rets[0]!;
      if (rc === RTAS_BUSY) continue;
      if (rc >= RTAS_EXTENDED_DELAY_MIN && rc <= RTAS_EXTENDED_DELAY_MAX) {
        yield sched.sleep(Math.min(10 ** (rc - RTAS_EXTENDED_DELAY_MIN), MAX_EXTENDED_DELAY_MS));
        continue;
      }
      return rets;
    }
  }

  *setIndicator(sched: Scheduler, indicator: number, index: number, value: number): TaskBody<number> {
    return (yield* this.callRetry(sched, 'set-indicator', [indicator, index, value], 1))[0]!;
  }

  /** rtas_get_sensor: [status, state]. */
  *getSensor(sched: Scheduler, sensor: number, index: number): TaskBody<[number, number]> {
    const r = yield* this.callRetry(sched, 'get-sensor-state', [sensor, index], 2);
    return [r[0]!, r[1]!];
  }
}

/** Big-endian helpers over guest memory. */
export function ld32(port: SpaprPort, addr: number, word = 0): number {
  const b = port.memRead(addr + 4 * word, 4);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

export function st32(port: SpaprPort, addr: number, word: number, v: number): void {
  port.memWrite(addr + 4 * word, new Uint8Array([(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]));
}

export function cstring(port: SpaprPort, addr: number, max = 256): string {
  const b = port.memRead(addr, max);
  const end = b.indexOf(0);
  return new TextDecoder().decode(b.subarray(0, end < 0 ? max : end));
}
