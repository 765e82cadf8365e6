/**
 * ibm,client-architecture-support as QEMU 7.2 serves it to SLOF (hw/ppc/spapr_hcall.c
 * h_client_architecture_support, spapr_ovec.c): the guest's option vector 5 is intersected
 * with what the machine offers, pending hotplug work is settled (spapr_drc_reset_all, queued
 * events dropped), and the rebuilt device tree is written back behind a small header.
 */
import * as K from './constants.js';
import { encodeDtb } from './fdt.js';
import { ld32, type GuestMemory } from './memory.js';
import type { Spapr } from './spapr.js';

export interface CasState {
  /** Negotiated option-vector-5 bits, numbered as OV_BIT. */
  ov5: Set<number>;
}

/** The record count cas_check_pvr gives up after. */
const MAX_PVR_RECORDS = 512;
const DT_UPDATE_HEADER_SIZE = 4;

/** spapr->ov5: what the machine offers (dynamic memory v2, FORM1 affinity, HP_EVT with modern hotplug events). */
export function machineOv5(spapr: Spapr): Set<number> {
  const s = new Set<number>([K.OV5_DRCONF_MEMORY, K.OV5_FORM1_AFFINITY, K.OV5_DRMEM_V2]);
  if (spapr.events.useHotplugEventSource) s.add(K.OV5_HP_EVT);
  return s;
}

/** Bits of option vector `vector` in the table at `addr` (MSB-first numbering, OV_BIT). */
export function parseOptionVector(mem: GuestMemory, addr: number, vector: number): Set<number> {
  const out = new Set<number>();
  const count = mem.read(addr, 1)[0]! + 1;
  if (vector > count) return out;
  let p = addr + 1;
  for (let i = 1; i < vector; i++) p += mem.read(p, 1)[0]! + 2;
  const len = mem.read(p, 1)[0]! + 1;
  const bytes = mem.read(p + 1, len);
  bytes.forEach((b, i) => {
    for (let bit = 0; bit < 8; bit++) if (b & (0x80 >> bit)) out.add(K.OV_BIT(i, bit));
  });
  return out;
}

/**
 * KVMPPC_H_CAS(vector address, FDT buffer, buffer size): skips the PVR records (the first
 * whose value has bits outside its mask ends them), negotiates OV5, settles DRCs, writes
 * {version 1} and the new DTB to the buffer. Returns [H_SUCCESS].
 */
export function casHypercall(spapr: Spapr, args: readonly number[], mem: GuestMemory): number[] {
  const [vecAddr = 0, fdtBuf = 0, fdtSize = 0] = args;
  let p = vecAddr;
  for (let i = 0; i < MAX_PVR_RECORDS; i++) {
    const mask = ld32(mem, p);
    const pvr = ld32(mem, p + 4);
    p += 8;
    if ((~mask & pvr) >>> 0) break;
  }
  // The option vector table follows the terminating record (Linux ends with {0xfffffffe, 0x0f000001}).
  const guest = parseOptionVector(mem, p, 5);
  const offered = machineOv5(spapr);
  spapr.cas.ov5.clear();
  for (const bit of guest) if (offered.has(bit)) spapr.cas.ov5.add(bit);
  // "Process all pending hot-plug/unplug requests now": the new tree shows the result.
  restart: for (;;) {
    for (const drc of spapr.container.all()) if (drc.resetState()) continue restart;
    break;
  }
  spapr.events.clear();
  spapr.fdt = spapr.buildFdt();
  const dtb = encodeDtb(spapr.fdt);
  if (fdtBuf && fdtSize >= DT_UPDATE_HEADER_SIZE + dtb.length) {
    const hdr = new Uint8Array(DT_UPDATE_HEADER_SIZE);
    new DataView(hdr.buffer).setUint32(0, K.SPAPR_DT_UPDATE_VERSION);
    mem.write(fdtBuf, hdr);
    mem.write(fdtBuf + DT_UPDATE_HEADER_SIZE, dtb);
  }
  return [K.H_SUCCESS];
}
