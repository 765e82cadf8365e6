/**
 * The RTAS dispatcher (hw/ppc/spapr_rtas.c spapr_rtas_call): tokens are RTAS_TOKEN_BASE + the
 * call's position in RTAS_CALL_NAMES, as the /rtas node advertises them. A GuestView delegates
 * its RTAS entry point here; every handler returns the return words QEMU stores.
 */
import * as K from './constants.js';
import type { GuestMemory } from './memory.js';

/** Who makes the call: the calling vCPU (stop-self acts on it). */
export interface RtasContext {
  cpu?: number;
}

export type RtasHandler = (args: readonly number[], nret: number, mem: GuestMemory, ctx: RtasContext) => number[];

/** What a GuestView needs to offer RTAS to its guest (the lead's entry point delegates to this). */
export interface RtasDispatcher {
  /** Runs the call; returns rets as stored (rets[0] = status). */
  rtasCall(token: number, args: readonly number[], nret: number, mem: GuestMemory, ctx?: RtasContext): number[];
  /** The call's name (as in /rtas), for traces; undefined for an unknown token. */
  rtasCallName(token: number): string | undefined;
  /** A hypercall (KVMPPC_H_CAS); returns [status, ...]. */
  hcall(opcode: number, args: readonly number[], mem: GuestMemory): number[];
}

export class SpaprRtas {
  private readonly table = new Map<number, { name: string; fn: RtasHandler }>();
  /** Calls made to a token nobody implements (QEMU: "Unknown RTAS token"). */
  unknownCalls = 0;

  /** spapr_rtas_register. */
  register(name: K.RtasCallName, fn: RtasHandler): void {
    this.table.set(K.rtasToken(name), { name, fn });
  }

  nameOf(token: number): string | undefined {
    const i = token - K.RTAS_TOKEN_BASE;
    return i >= 0 && i < K.RTAS_CALL_NAMES.length ? K.RTAS_CALL_NAMES[i] : undefined;
  }

  /** An unimplemented or unknown token stores -3 (QEMU also returns H_PARAMETER to the hcall). */
  call(token: number, args: readonly number[], nret: number, mem: GuestMemory, ctx: RtasContext = {}): number[] {
    const entry = this.table.get(token);
    if (!entry) {
      this.unknownCalls++;
      return [K.RTAS_OUT_PARAM_ERROR];
    }
    return entry.fn(args, nret, mem, ctx).map((v) => v | 0);
  }
}
