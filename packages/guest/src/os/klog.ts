/**
 * The kernel log (dmesg): Linux's `[    5.123456] ` prefix (seconds since the kernel
 * started, printk's "%5lu.%06lu"), taken from the virtual clock.
 */
import type { Clock } from '@plugboard/qdev';

export class KernelLog {
  readonly lines: string[] = [];
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

  /** A reboot: the next start() is time 0 again (the lines so far are kept). */
  restart(): void {
    this.epochNs = undefined;
  }

  /** The `[    0.000000] ` stamp for now. */
  stamp(): string {
    const ns = Math.max(0, this.clock.nowNs() - (this.epochNs ?? this.clock.nowNs()));
    const us = Math.floor(ns / 1000);
    return `[${String(Math.floor(us / 1_000_000)).padStart(5)}.${String(us % 1_000_000).padStart(6, '0')}]`;
  }

  printk(text: string): void {
    const line = `${this.stamp()} ${text}`;
    this.lines.push(line);
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

  /** The log without timestamps (what tests usually compare). */
  texts(): string[] {
    return this.lines.map((l) => l.slice(l.indexOf('] ') + 2));
  }
}
