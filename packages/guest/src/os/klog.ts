/**
 * The kernel log (dmesg): Linux's `[    5.123456] ` prefix (seconds since the kernel
 * started, printk's "%5lu.%06lu"), taken from the virtual clock. Like Linux's printk ring
 * buffer it keeps only the newest records; the console (onLine listeners, `-serial`) sees all.
 */
import type { Clock } from '@plugboard/qdev';

/**
 * The printk ring buffer of Debian's Linux 6.1 (CONFIG_LOG_BUF_SHIFT=17, kernel/printk/printk.c):
 * 128 KiB of record text, each record taking its text plus an 8-byte block ID rounded up to 8
 * (printk_ringbuffer.c to_blk_size), and at most one descriptor per 32 bytes (PRB_AVGBITS 5).
 * The wrap-around slack at the ring's end is not modelled.
 */
const LOG_BUF_LEN = 1 << 17;
const LOG_DESCRIPTORS = LOG_BUF_LEN >> 5;
const recordSize = (text: string): number => (Buffer.byteLength(text) + 8 + 7) & ~7;

export class KernelLog {
  /** Records, oldest first, with their timestamps; those before `head` have been dropped. */
  private readonly ring: string[] = [];
  /** Ring-buffer bytes the records in `lines` take. */
  private bytes = 0;
  private readonly sizes: number[] = [];
  /** Index of the oldest kept record in `lines` (dropped ones are spliced out in batches). */
  private head = 0;
  /** Virtual time (ns) at which the kernel started; timestamps count from here. */
  private epochNs: number | undefined;
  private readonly listeners = new Set<(line: string) => void>();

  constructor(
    private readonly clock: Clock,
    sink?: (line: string) => void,
  ) {
    if (sink) this.listeners.add(sink);
  }

  /** Called once by the kernel at boot: time 0.000000 of the log. */
  start(): void {
    this.epochNs ??= this.clock.nowNs();
  }

  /** A reboot: the next kernel starts at time 0 with an empty buffer (dmesg shows only its boot). */
  restart(): void {
    this.epochNs = undefined;
    this.ring.length = 0;
    this.sizes.length = 0;
    this.bytes = 0;
    this.head = 0;
  }

  /** The `[    0.000000] ` stamp for now. */
  stamp(): string {
    const ns = Math.max(0, this.clock.nowNs() - (this.epochNs ?? this.clock.nowNs()));
    const us = Math.floor(ns / 1000);
    return `[${String(Math.floor(us / 1_000_000)).padStart(5)}.${String(us % 1_000_000).padStart(6, '0')}]`;
  }

  printk(text: string): void {
    const line = `${this.stamp()} ${text}`;
    const size = recordSize(text);
    this.ring.push(line);
    this.sizes.push(size);
    this.bytes += size;
    // The oldest records make room, as prb_reserve() pushes the tail.
    while (this.bytes > LOG_BUF_LEN || this.sizes.length - this.head > LOG_DESCRIPTORS) this.bytes -= this.sizes[this.head++]!;
    if (this.head > 1024) {
      this.ring.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
    for (const l of this.listeners) l(line);
  }

  /** dev_info(): `DRIVER NAME: text`, e.g. `pci 0000:00:1f.0: [8086:2918] ...`. */
  dev(driver: string, name: string, text: string): void {
    this.printk(`${driver} ${name}: ${text}`);
  }

  onLine(f: (line: string) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  /** The records dmesg prints now, oldest first, with timestamps (a copy). */
  get lines(): string[] {
    return this.ring.slice(this.head);
  }

  /** How many records dmesg prints now. */
  get count(): number {
    return this.ring.length - this.head;
  }

  /** The records without timestamps (what tests usually compare). */
  texts(): string[] {
    return this.lines.map((l) => l.slice(l.indexOf('] ') + 2));
  }
}
