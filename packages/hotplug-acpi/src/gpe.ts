/**
 * The GPE0 block and the SCI it drives (hw/acpi/core.c acpi_gpe_*, acpi_update_sci,
 * acpi_send_gpe_event; hw/acpi/piix4.c and hw/acpi/ich9.c wire it up). spec/acpi-pcihp.md §4.
 *
 * The first half of the block is GPE0_STS (write-1-to-clear), the second half GPE0_EN
 * (plain read/write). Any access of 1..4 bytes is split into byte accesses (the chipsets
 * declare impl.max_access_size = 1), and the SCI is re-evaluated after every byte, as QEMU does.
 */
import type { GuestView, IoRegion } from '@plugboard/pci-core';
import { ACPI_SCI_IRQ } from './regs.js';

export interface Gpe0Options {
  /** I/O port of GPE0_STS byte 0; `undefined` = not decoded (q35 before firmware sets PMBASE). */
  base: number | undefined;
  /** Whole block length: STS and EN are len/2 bytes each. */
  len: number;
  /** SCI interrupt line (9 unless ICH9's ACPI_CTRL says otherwise). */
  sciLine?: number;
  /** Other SCI sources ORed in (PM1 status & enable, owned by the chipset model). */
  extraSciLevel?: () => boolean;
}

export class Gpe0Block {
  readonly len: number;
  readonly sts: Uint8Array;
  readonly en: Uint8Array;
  sciLine: number;
  /** Where the SCI goes; nothing is raised while unset. */
  guestView: GuestView | undefined;
  private baseValue: number | undefined;
  private level = 0;
  private readonly extraSciLevel: (() => boolean) | undefined;

  constructor(opts: Gpe0Options) {
    if (opts.len <= 0 || opts.len % 2 !== 0) throw new RangeError('GPE0 block length must be even and > 0');
    this.len = opts.len;
    this.sts = new Uint8Array(opts.len / 2);
    this.en = new Uint8Array(opts.len / 2);
    this.baseValue = opts.base;
    this.sciLine = opts.sciLine ?? ACPI_SCI_IRQ;
    this.extraSciLevel = opts.extraSciLevel;
  }

  /** Current port of GPE0_STS (gpe0_blk), or undefined when not decoded. */
  get base(): number | undefined {
    return this.baseValue;
  }

  /** ICH9: firmware moved PMBASE (or disabled ACPI decoding with `undefined`). */
  setBase(base: number | undefined): void {
    this.baseValue = base;
  }

  /** The guest-visible region; its base follows setBase(), size 0 while not decoded. */
  ioRegion(): IoRegion {
    const self = this;
    return {
      name: 'acpi-gpe0',
      get base() {
        return self.baseValue ?? 0;
      },
      get size() {
        return self.baseValue === undefined ? 0 : self.len;
      },
      read: (offset, size) => this.read(offset, size),
      write: (offset, value, size) => this.write(offset, value, size),
    };
  }

  read(offset: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readb(offset + i) << (8 * i);
    return v >>> 0;
  }

  write(offset: number, value: number, size: number): void {
    for (let i = 0; i < size; i++) {
      this.writeb(offset + i, (value >>> (8 * i)) & 0xff);
      this.updateSci();
    }
  }

  /** acpi_gpe_ioport_readb; bytes past the block read as all-ones (nothing decodes them). */
  private readb(addr: number): number {
    const half = this.len / 2;
    if (addr < half) return this.sts[addr]!;
    if (addr < this.len) return this.en[addr - half]!;
    return 0xff;
  }

  /** acpi_gpe_ioport_writeb: STS bytes are W1C, EN bytes take the value. */
  private writeb(addr: number, val: number): void {
    const half = this.len / 2;
    if (addr < half) this.sts[addr] = this.sts[addr]! & ~val;
    else if (addr < this.len) this.en[addr - half] = val;
  }

  /** acpi_send_gpe_event: set STS bits of byte 0 and re-evaluate the SCI. */
  sendEvent(bits: number): void {
    this.sts[0] = this.sts[0]! | (bits & 0xff);
    this.updateSci();
  }

  /** acpi_gpe_reset (machine reset): STS and EN cleared. */
  reset(): void {
    this.sts.fill(0);
    this.en.fill(0);
    this.updateSci();
  }

  /** acpi_update_sci: only GPE0 byte 0 takes part, plus the chipset's PM1 level. */
  sciLevel(): number {
    return (this.sts[0]! & this.en[0]!) !== 0 || !!this.extraSciLevel?.() ? 1 : 0;
  }

  /** Level-triggered line: an interrupt event only when the level changes. */
  updateSci(): void {
    const level = this.sciLevel();
    if (level === this.level) return;
    this.level = level;
    this.guestView?.raise({ kind: 'sci', line: this.sciLine, level });
  }
}
