/**
 * What a pseries GuestView offers its guest beyond config space and interrupts: RTAS calls,
 * hypercalls and guest memory (ARCHITECTURE.md "Guest-visible interface"). The machine's
 * GuestView should implement SpaprGuestPort natively by delegating to Spapr; until it does,
 * attachGuestPort() adds the methods to a GuestView instance. Each RTAS call is traced as
 * `{op: 'rtas', name, token, args, rets}` and each hypercall as `{op: 'hcall', opcode, args, rets}`.
 */
import type { GuestView } from '@plugboard/pci-core';
import type { RtasContext } from './rtas.js';
import type { Spapr } from './spapr.js';

export interface SpaprGuestPort {
  /** An RTAS call by token; returns the stored return words (rets[0] = status). */
  rtas(token: number, args: readonly number[], nret: number, ctx?: RtasContext): number[];
  /** A hypercall (KVMPPC_H_CAS); returns [status]. */
  hcall(opcode: number, args: readonly number[]): number[];
  /** Guest physical memory (not traced: it is RAM, not a device). */
  memRead(addr: number, len: number): Uint8Array;
  memWrite(addr: number, data: Uint8Array): void;
}

/** The RTAS entry point's body, for a GuestView that delegates to `spapr`. */
export function spaprGuestPort(view: GuestView, spapr: Spapr): SpaprGuestPort {
  return {
    rtas(token, args, nret, ctx) {
      const rets = spapr.rtasCall(token, args, nret, spapr.memory, ctx);
      view.trace({ op: 'rtas', name: spapr.rtasCallName(token) ?? `0x${token.toString(16)}`, token, args: [...args], rets, ...(ctx?.cpu !== undefined ? { cpu: ctx.cpu } : {}) });
      return rets;
    },
    hcall(opcode, args) {
      const rets = spapr.hcall(opcode, args, spapr.memory);
      view.trace({ op: 'hcall', opcode, args: [...args], rets });
      return rets;
    },
    memRead: (addr, len) => spapr.memory.read(addr, len),
    memWrite: (addr, data) => spapr.memory.write(addr, data),
  };
}

/** Interrupts go to `view`, and `view` gains the SpaprGuestPort methods (unless it has them). */
export function attachGuestPort(view: GuestView, spapr: Spapr): GuestView & SpaprGuestPort {
  spapr.connectGuestView(view);
  const v = view as GuestView & Partial<SpaprGuestPort>;
  if (typeof v.rtas !== 'function') Object.assign(v, spaprGuestPort(view, spapr));
  return v as GuestView & SpaprGuestPort;
}
