/**
 * The SHPC working register set as QEMU keeps it (hw/pci/shpc.c): a byte array with its own
 * write mask and write-1-to-clear mask, accessed little-endian in 1–4 byte pieces at any
 * offset. Everything past the 0xa0-byte set reads 0 and ignores writes (spec/shpc.md §3).
 */
import {
  SHPC_CMD_TRGT, SHPC_CMD_CODE, SHPC_CMD_TRGT_MAX, SHPC_MAX_SLOTS, SHPC_SERR_INT, SHPC_SERR_INT_MASKS, SHPC_SERR_INT_W1C, SHPC_SIZEOF,
  SHPC_SLOT_EVENTS, SHPC_SLOT_EVENT_LATCH, SHPC_SLOT_EVENT_MASKS, SHPC_SLOT_EVENT_SERR_INT_DIS, SHPC_SLOT_STATUS,
} from './regs.js';

const BYTE = 0xff;
const MAX_ACCESS = 4;

/** A multi-bit field of a slot's status word, by its mask (shpc_get_status / shpc_set_status). */
const shiftOf = (mask: number): number => 31 - Math.clz32(mask & -mask);

export class ShpcRegisters {
  readonly size = SHPC_SIZEOF;
  readonly nslots = SHPC_MAX_SLOTS;
  readonly data = new Uint8Array(SHPC_SIZEOF);
  readonly wmask = new Uint8Array(SHPC_SIZEOF);
  readonly w1cmask = new Uint8Array(SHPC_SIZEOF);

  /** shpc_init's masks: command code and target, SERR-INT masks and W1C status, slot latches and masks. */
  constructor() {
    this.wmask[SHPC_CMD_CODE] = BYTE;
    this.wmask[SHPC_CMD_TRGT] = SHPC_CMD_TRGT_MAX;
    this.setMask32(this.wmask, SHPC_SERR_INT, SHPC_SERR_INT_MASKS);
    this.setMask32(this.w1cmask, SHPC_SERR_INT, SHPC_SERR_INT_W1C);
    for (let i = 0; i < this.nslots; i++) {
      this.wmask[SHPC_SLOT_EVENT_SERR_INT_DIS(i)] = SHPC_SLOT_EVENT_MASKS;
      this.w1cmask[SHPC_SLOT_EVENT_LATCH(i)] = SHPC_SLOT_EVENTS;
    }
  }

  private setMask32(mask: Uint8Array, off: number, v: number): void {
    for (let i = 0; i < 4; i++) mask[off + i] = (v >>> (8 * i)) & BYTE;
  }

  // ---- raw access (the model's own updates ignore the masks) ------------------------------

  get8(off: number): number {
    return this.data[off]!;
  }
  set8(off: number, v: number): void {
    this.data[off] = v & BYTE;
  }
  get16(off: number): number {
    return this.data[off]! | (this.data[off + 1]! << 8);
  }
  set16(off: number, v: number): void {
    this.data[off] = v & BYTE;
    this.data[off + 1] = (v >>> 8) & BYTE;
  }
  get32(off: number): number {
    return (this.get16(off) | (this.get16(off + 2) << 16)) >>> 0;
  }
  set32(off: number, v: number): void {
    this.set16(off, v & 0xffff);
    this.set16(off + 2, v >>> 16);
  }

  /** shpc_get_status: a field of slot `i`'s status word. */
  status(i: number, mask: number): number {
    return (this.get16(SHPC_SLOT_STATUS(i)) & mask) >>> shiftOf(mask);
  }

  /** shpc_set_status. */
  setStatus(i: number, value: number, mask: number): void {
    const off = SHPC_SLOT_STATUS(i);
    this.set16(off, (this.get16(off) & ~mask) | ((value << shiftOf(mask)) & mask));
  }

  latch(i: number): number {
    return this.data[SHPC_SLOT_EVENT_LATCH(i)]!;
  }
  addEvents(i: number, events: number): void {
    this.data[SHPC_SLOT_EVENT_LATCH(i)] = (this.data[SHPC_SLOT_EVENT_LATCH(i)]! | events) & BYTE;
  }
  intMask(i: number): number {
    return this.data[SHPC_SLOT_EVENT_SERR_INT_DIS(i)]!;
  }

  // ---- guest access (shpc_read / the byte loop of shpc_write) ------------------------------

  /** Little-endian read of up to 4 bytes; 0 past the register set, clipped at its end. */
  read(addr: number, len: number): number {
    if (addr < 0 || addr >= this.size) return 0;
    const l = Math.min(len, MAX_ACCESS, this.size - addr);
    let v = 0;
    for (let i = 0; i < l; i++) v |= this.data[addr + i]! << (8 * i);
    return v >>> 0;
  }

  /**
   * Masked write of up to 4 bytes: writable bits take the value, W1C bits clear on 1.
   * Returns the number of bytes written (0 past the set), for the caller's overlap checks.
   */
  write(addr: number, value: number, len: number): number {
    if (addr < 0 || addr >= this.size) return 0;
    const l = Math.min(len, MAX_ACCESS, this.size - addr);
    for (let i = 0; i < l; i++) {
      const a = addr + i;
      const b = (value >>> (8 * i)) & BYTE;
      const wm = this.wmask[a]!;
      this.data[a] = ((this.data[a]! & ~wm) | (b & wm)) & ~(b & this.w1cmask[a]!) & BYTE;
    }
    return l;
  }
}
