/**
 * Guest physical memory as RTAS and hypercalls touch it (rtas_ld/rtas_st,
 * cpu_physical_memory_read/write): work areas, error-log buffers, the CAS vector and reply.
 * No guest RAM is modelled otherwise, so a sparse page map is all it takes.
 */

export interface GuestMemory {
  read(addr: number, len: number): Uint8Array;
  write(addr: number, data: Uint8Array): void;
}

const PAGE_SHIFT = 12;
const PAGE_SIZE = 1 << PAGE_SHIFT;

/** Zero-filled until written. */
export class SparseGuestMemory implements GuestMemory {
  private readonly pages = new Map<number, Uint8Array>();

  private page(n: number, create: boolean): Uint8Array | undefined {
    let p = this.pages.get(n);
    if (!p && create) this.pages.set(n, (p = new Uint8Array(PAGE_SIZE)));
    return p;
  }

  read(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; ) {
      const a = addr + i;
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, len - i);
      const p = this.page(Math.floor(a / PAGE_SIZE), false);
      if (p) out.set(p.subarray(off, off + n), i);
      i += n;
    }
    return out;
  }

  write(addr: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; ) {
      const a = addr + i;
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, data.length - i);
      this.page(Math.floor(a / PAGE_SIZE), true)!.set(data.subarray(i, i + n), off);
      i += n;
    }
  }
}

/** rtas_ld / rtas_st: big-endian 32-bit words. */
export function ld32(mem: GuestMemory, addr: number, word = 0): number {
  const b = mem.read(addr + 4 * word, 4);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

export function st32(mem: GuestMemory, addr: number, word: number, value: number): void {
  const v = value >>> 0;
  mem.write(addr + 4 * word, new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]));
}
