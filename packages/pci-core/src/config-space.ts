/**
 * One function's configuration space with QEMU's per-byte masks (hw/pci/pci.c):
 * `wmask` bits are guest-writable, `w1cmask` bits are write-1-to-clear, everything else is
 * read-only to the guest. The device model writes through the `set*` helpers, which ignore
 * the masks.
 */
export class ConfigSpace {
  /** What the guest reaches (config accesses at or beyond it read all-ones, writes are dropped). */
  readonly size: number;
  readonly data: Uint8Array;
  readonly wmask: Uint8Array;
  readonly w1cmask: Uint8Array;

  /**
   * `storage` is what the function holds (pci_config_size): a PCIe function keeps its 4 KiB
   * even where the guest reaches only 256 bytes (a PCIe device on a conventional bus).
   */
  constructor(size: number, storage = size) {
    this.size = size;
    this.data = new Uint8Array(storage);
    this.wmask = new Uint8Array(storage);
    this.w1cmask = new Uint8Array(storage);
  }

  get8(off: number): number {
    return this.data[off]!;
  }
  get16(off: number): number {
    return this.data[off]! | (this.data[off + 1]! << 8);
  }
  get32(off: number): number {
    return (this.data[off]! | (this.data[off + 1]! << 8) | (this.data[off + 2]! << 16) | (this.data[off + 3]! << 24)) >>> 0;
  }
  get64(off: number): bigint {
    return BigInt(this.get32(off)) | (BigInt(this.get32(off + 4)) << 32n);
  }

  set8(off: number, v: number): void {
    this.data[off] = v & 0xff;
  }
  set16(off: number, v: number): void {
    this.data[off] = v & 0xff;
    this.data[off + 1] = (v >>> 8) & 0xff;
  }
  set32(off: number, v: number): void {
    for (let i = 0; i < 4; i++) this.data[off + i] = (v >>> (8 * i)) & 0xff;
  }

  /** Little-endian read of `len` (1, 2 or 4) bytes. */
  read(off: number, len: number): number {
    let v = 0;
    for (let i = 0; i < len; i++) v |= this.data[off + i]! << (8 * i);
    return v >>> 0;
  }

  /** pci_default_write_config's byte loop: writable bits take the value, W1C bits clear on 1. */
  write(off: number, value: number, len: number): void {
    for (let i = 0; i < len && off + i < this.size; i++) {
      const a = off + i;
      const b = (value >>> (8 * i)) & 0xff;
      const wm = this.wmask[a]!;
      const w1c = this.w1cmask[a]!;
      this.data[a] = (this.data[a]! & ~wm) | (b & wm);
      this.data[a] = this.data[a]! & ~(b & w1c);
    }
  }

  get16Mask(off: number): number {
    return this.wmask[off]! | (this.wmask[off + 1]! << 8);
  }

  setMask8(mask: Uint8Array, off: number, v: number): void {
    mask[off] = v & 0xff;
  }
  setMask16(mask: Uint8Array, off: number, v: number): void {
    mask[off] = v & 0xff;
    mask[off + 1] = (v >>> 8) & 0xff;
  }
  setMask32(mask: Uint8Array, off: number, v: number): void {
    for (let i = 0; i < 4; i++) mask[off + i] = (v >>> (8 * i)) & 0xff;
  }
  clearMasks(off: number, len: number): void {
    this.wmask.fill(0, off, off + len);
    this.w1cmask.fill(0, off, off + len);
  }
}
