/**
 * Interrupt dispatch: GuestView.onInterrupt -> the handlers a driver requested, by legacy
 * IRQ number (INTx through the chipset's PIRQ routing, the ACPI SCI), by MSI vector, or by
 * sPAPR interrupt source. Delivery goes through a 0 ns timer: a device raising an
 * interrupt from inside a guest config write does not re-enter the driver that wrote
 * (the CPU takes the interrupt after the current instruction; a stopped VM takes none).
 */
import type { GuestView, InterruptEvent } from '@plugboard/pci-core';
import type { Scheduler } from './sched.js';

/** A handler returns true when the interrupt was its device's (IRQ_HANDLED). */
export type IrqHandler = (ev: InterruptEvent) => boolean | void;

interface Action {
  name: string;
  handler: IrqHandler;
}

/** An MSI/MSI-X message a driver programs into its device. */
export interface MsiMessage {
  /**
   * False when no CPU had a free vector (x86 reservation mode: the IRQ exists but cannot be
   * activated; request_irq on it fails with -ENOSPC and the driver must not program it).
   */
  readonly active: boolean;
  vector: number;
  /** Linux IRQ number (MSI IRQs are numbered after the 24 IOAPIC GSIs). */
  irq: number;
  address: number;
  data: number;
  free(): void;
}

/**
 * x86 vector space of one CPU (arch/x86/include/asm/irq_vectors.h, kernel/irq/matrix.c):
 * 0x20 (cleanup) up to FIRST_SYSTEM_VECTOR 0xec are device vectors, less 0x20 itself and
 * IA32_SYSCALL_VECTOR 0x80: 202 per CPU.
 */
const FIRST_DEVICE_VECTOR = 0x21;
const FIRST_SYSTEM_VECTOR = 0xec;
const IA32_SYSCALL_VECTOR = 0x80;
const VECTORS_PER_CPU = FIRST_SYSTEM_VECTOR - FIRST_DEVICE_VECTOR - 1; // 202
/**
 * Vectors CPU 0 has activated before the PCIe port services ask for theirs: the timer on 0x30
 * (as the kernel logs it), the ACPI SCI, and 0x21. Calibrated against Linux 6.1 on QEMU 7.2:
 * the first port's MSI data is 0x22 (fixtures/qemu-7.2-linux/pciehp-*.json), and with one
 * vCPU and 240 root ports 199 ports got a vector, the 200th failed with -ENOSPC.
 */
const BOOT_VECTORS_CPU0 = [0x21, 0x30, 0x39];
/**
 * MSI address (arch/x86/kernel/apic: msi_msg): 0xfee in bits 31:20, destination in 19:12,
 * DM (logical) in bit 2. Up to 8 CPUs Linux runs the "flat" logical mode (destination = 1 <<
 * CPU; recorded 0xfee01004 for CPU 0), beyond that physical flat (destination = APIC ID).
 */
const MSI_ADDRESS_BASE = 0xfee00000;
const MSI_ADDR_DEST_MODE_LOGICAL = 0x4;
const APIC_FLAT_MAX_CPUS = 8;
const NR_IRQS_LEGACY_IOAPIC = 24;
/** PIIX/ICH9 PIRQ route register: bit 7 set = this PIRQ is not routed. */
const PIRQ_ROUTE_DISABLED = 0x80;

export class IrqDispatcher {
  private irqs = new Map<number, Action[]>();
  /** Per CPU (APIC ID): vector -> action. */
  private vectors: Array<Map<number, Action | null>>;
  /** Linux IRQ numbers of MSIs in use (first fit from 24, as irq_alloc_descs). */
  private msiIrqs = new Set<number>();
  private spapr = new Map<number, Action[]>();
  private pirqRoute: number[] | undefined;
  private detachView: (() => void) | undefined;
  /** Interrupts taken per source, like /proc/interrupts (`irq:N`, `msi:V`, `spapr:N`). */
  readonly counts = new Map<string, number>();
  /** Interrupts nobody claimed. */
  spurious = 0;

  constructor(
    private readonly view: GuestView,
    private readonly sched: Scheduler,
    private readonly warn: (line: string) => void,
    /** Online CPUs (`-smp`): each has its own vector space. */
    private readonly cpus = 1,
  ) {
    this.vectors = this.bootVectors();
  }

  private bootVectors(): Array<Map<number, Action | null>> {
    return Array.from({ length: Math.max(1, this.cpus) }, (_, i) => new Map(i === 0 ? BOOT_VECTORS_CPU0.map((v) => [v, null] as const) : []));
  }

  /**
   * A new kernel (after a reset): nothing allocated, nothing counted. The tables are replaced,
   * not emptied, so a release left over from the old kernel touches only the old ones.
   */
  reset(): void {
    this.irqs = new Map();
    this.vectors = this.bootVectors();
    this.msiIrqs = new Set();
    this.spapr = new Map();
    this.pirqRoute = undefined;
    this.counts.clear();
    this.spurious = 0;
  }

  attach(): void {
    this.detachView ??= this.view.onInterrupt((ev) => this.sched.defer(`irq:${ev.kind}:${ev.line}`, () => this.dispatch(ev)));
  }

  detach(): void {
    this.detachView?.();
    this.detachView = undefined;
  }

  /**
   * The PIRQ -> IRQ table the firmware programmed (read back from the interrupt router by
   * the kernel). INTx events name a PIRQ; without a table they name the IRQ itself.
   */
  setPirqRouting(route: number[]): void {
    this.pirqRoute = route;
  }

  /** request_irq with IRQF_SHARED: legacy IRQ `irq` (INTx via PIRQ, or the SCI). */
  requestIrq(irq: number, name: string, handler: IrqHandler): () => void {
    const irqs = this.irqs;
    const action = { name, handler };
    irqs.set(irq, [...(irqs.get(irq) ?? []), action]);
    return () => irqs.set(irq, (irqs.get(irq) ?? []).filter((a) => a !== action));
  }

  /**
   * An MSI IRQ with its handler; the caller writes `address`/`data` into the device when
   * `active`. The vector comes from the CPU with the most free ones (matrix_find_best_cpu),
   * lowest free vector first.
   */
  allocMsi(name: string, handler: IrqHandler): MsiMessage {
    const irq = this.takeIrq();
    let best = -1;
    let bestFree = 0;
    this.vectors.forEach((used, cpu) => {
      const free = VECTORS_PER_CPU - used.size;
      if (free > bestFree) [best, bestFree] = [cpu, free];
    });
    const taken = this.msiIrqs;
    const releaseIrq = () => taken.delete(irq);
    if (best < 0) return { active: false, vector: 0, irq, address: 0, data: 0, free: releaseIrq };
    const used = this.vectors[best]!;
    let vector = FIRST_DEVICE_VECTOR;
    while (used.has(vector) || vector === IA32_SYSCALL_VECTOR) vector++;
    used.set(vector, { name, handler });
    let freed = false;
    return {
      active: true,
      vector,
      irq,
      address: this.msiAddress(best),
      data: vector,
      free: () => {
        if (freed) return;
        freed = true;
        used.delete(vector);
        releaseIrq();
      },
    };
  }

  /** The lowest free Linux IRQ number from 24 (irq_alloc_descs is first fit). */
  private takeIrq(): number {
    let irq = NR_IRQS_LEGACY_IOAPIC;
    while (this.msiIrqs.has(irq)) irq++;
    this.msiIrqs.add(irq);
    return irq;
  }

  private get logicalFlat(): boolean {
    return this.vectors.length <= APIC_FLAT_MAX_CPUS;
  }

  private msiAddress(cpu: number): number {
    return this.logicalFlat ? (MSI_ADDRESS_BASE | ((1 << cpu) << 12) | MSI_ADDR_DEST_MODE_LOGICAL) >>> 0 : (MSI_ADDRESS_BASE | (cpu << 12)) >>> 0;
  }

  /** The CPU an MSI's destination field names. */
  private msiCpu(dest: number): number {
    return this.logicalFlat ? Math.max(0, Math.log2(dest & -dest)) : dest;
  }

  /** The Linux IRQ numbers of MSI/MSI-X interrupts allocated now (/proc/interrupts' IRQ column), ascending. */
  msiIrqNumbers(): number[] {
    return [...this.msiIrqs].sort((a, b) => a - b);
  }

  /**
   * IRQ numbers for MSI-X vectors a driver allocates but does not request yet (x86 reservation
   * mode: no vector until request_irq, e.g. a NIC's vectors before the interface is up).
   */
  reserveMsiIrqs(count: number): { irqs: number[]; free(): void } {
    const irqs = Array.from({ length: count }, () => this.takeIrq());
    const taken = this.msiIrqs;
    return { irqs, free: () => irqs.forEach((irq) => taken.delete(irq)) };
  }

  /** A sPAPR interrupt source (hotplug / EPOW event sources). */
  requestSpapr(line: number, name: string, handler: IrqHandler): () => void {
    const action = { name, handler };
    const spapr = this.spapr;
    spapr.set(line, [...(spapr.get(line) ?? []), action]);
    return () => spapr.set(line, (spapr.get(line) ?? []).filter((a) => a !== action));
  }

  /** Which legacy IRQ an INTx event reaches, or undefined when its PIRQ is not routed. */
  intxIrq(pirq: number): number | undefined {
    if (!this.pirqRoute) return pirq;
    const r = this.pirqRoute[pirq];
    return r === undefined || r & PIRQ_ROUTE_DISABLED ? undefined : r & 0x0f;
  }

  private dispatch(ev: InterruptEvent): void {
    switch (ev.kind) {
      case 'msi': {
        // The destination APIC ID sits in address bits 19:12 (the sink may hand a bigint).
        const address = (ev.data as { address?: number | bigint } | undefined)?.address;
        const cpu = address === undefined ? 0 : this.msiCpu(Number((BigInt(address) >> 12n) & 0xffn));
        const a = this.vectors[cpu]?.get(ev.line);
        this.count(`msi:${ev.line}`);
        if (!a) {
          this.spurious++;
          this.warn(`__common_interrupt: 0.${ev.line} No irq handler for vector`);
          return;
        }
        a.handler(ev);
        return;
      }
      case 'intx':
      case 'sci': {
        // Level-triggered lines: the assertion is the event; a deassertion needs no handler.
        if (ev.level === 0) return;
        const irq = ev.kind === 'sci' ? ev.line : this.intxIrq(ev.line);
        if (irq === undefined) return void this.spurious++;
        this.count(`irq:${irq}`);
        this.runShared(this.irqs.get(irq), ev);
        return;
      }
      case 'spapr':
        this.count(`spapr:${ev.line}`);
        this.runShared(this.spapr.get(ev.line), ev);
        return;
    }
  }

  /** Shared line: every handler runs (each checks whether its device interrupted). */
  private runShared(actions: Action[] | undefined, ev: InterruptEvent): void {
    let handled = false;
    for (const a of actions ?? []) if (a.handler(ev)) handled = true;
    if (!handled) this.spurious++;
  }

  private count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
}
