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
  vector: number;
  /** Linux IRQ number (MSI IRQs are numbered after the 24 IOAPIC GSIs). */
  irq: number;
  address: number;
  data: number;
  free(): void;
}

/** arch/x86: device vectors start after the exception and ISA ranges (FIRST_EXTERNAL_VECTOR + 1). */
const FIRST_DEVICE_VECTOR = 0x21;
const ISA_IRQ_VECTOR_FIRST = 0x30;
const ISA_IRQ_VECTOR_LAST = 0x3f;
const NR_VECTORS = 0x100;
const MSI_ADDRESS_BASE = 0xfee00000; // LAPIC of CPU 0, physical destination
const NR_IRQS_LEGACY_IOAPIC = 24;
/** PIIX/ICH9 PIRQ route register: bit 7 set = this PIRQ is not routed. */
const PIRQ_ROUTE_DISABLED = 0x80;

export class IrqDispatcher {
  private readonly irqs = new Map<number, Action[]>();
  private readonly vectors = new Map<number, Action>();
  private readonly spapr = new Map<number, Action[]>();
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
  ) {}

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
    const list = this.irqs.get(irq) ?? [];
    const action = { name, handler };
    this.irqs.set(irq, [...list, action]);
    return () => this.irqs.set(irq, (this.irqs.get(irq) ?? []).filter((a) => a !== action));
  }

  /** An MSI vector with its handler; the caller writes `address`/`data` into the device. */
  allocMsi(name: string, handler: IrqHandler): MsiMessage {
    let vector = FIRST_DEVICE_VECTOR;
    while (vector < NR_VECTORS && (this.vectors.has(vector) || (vector >= ISA_IRQ_VECTOR_FIRST && vector <= ISA_IRQ_VECTOR_LAST))) vector++;
    if (vector >= NR_VECTORS) throw new Error('no free interrupt vector');
    this.vectors.set(vector, { name, handler });
    return {
      vector,
      irq: NR_IRQS_LEGACY_IOAPIC + vector - FIRST_DEVICE_VECTOR,
      address: MSI_ADDRESS_BASE,
      data: vector,
      free: () => this.vectors.delete(vector),
    };
  }

  /** A sPAPR interrupt source (hotplug / EPOW event sources). */
  requestSpapr(line: number, name: string, handler: IrqHandler): () => void {
    const action = { name, handler };
    this.spapr.set(line, [...(this.spapr.get(line) ?? []), action]);
    return () => this.spapr.set(line, (this.spapr.get(line) ?? []).filter((a) => a !== action));
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
        const a = this.vectors.get(ev.line);
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
