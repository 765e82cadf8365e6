/**
 * The ACPI event path of Linux 6.1 between the SCI and acpiphp (guest-acpiphp.md §1, §3):
 * GPE block set-up (drivers/acpi/acpica/evgpeblk.c, hwgpe.c), the SCI handler's fixed-event
 * and GPE detection reads (evevent.c, evgpe.c acpi_ev_gpe_detect / acpi_ev_detect_gpe), GPE
 * dispatch (disable, clear if edge, queue the `_Exx` method), and the three ordered work queues
 * of drivers/acpi/osl.c: kacpid (GPE methods), kacpi_notify (Notify handlers, then the GPE
 * re-enable) and kacpi_hotplug (acpi_device_hotplug). No sleeps anywhere (guest-timing.md #15).
 */
import type { LinuxGuest } from '../../os/linux.js';
import type { TaskBody } from '../../os/sched.js';
import { AmlInterpreter, type AmlNode, type AmlNotify } from './aml.js';

/** Where the FADT puts the chipset's ACPI blocks (QEMU: hw/i386/acpi-build.c, from PMBASE). */
export interface AcpiHardware {
  pm1Event: number;
  gpe0: number;
  /** GPE0 block length in bytes: half status, half enable. */
  gpe0Len: number;
  sciIrq: number;
}

const PM1_STS = 0;
const PM1_EN = 2;
const GPES_PER_REGISTER = 8;

/** An ordered single-threaded workqueue (alloc_ordered_workqueue). */
export class WorkQueue {
  private readonly items: Array<{ label: string; body: () => TaskBody }> = [];
  private running = false;

  constructor(
    private readonly guest: LinuxGuest,
    readonly name: string,
  ) {}

  get idle(): boolean {
    return !this.running && this.items.length === 0;
  }

  queue(label: string, body: () => TaskBody): void {
    this.items.push({ label, body });
    if (this.running) return;
    this.running = true;
    const self = this;
    this.guest.sched.spawn(this.name, (function* (): TaskBody {
      while (self.items.length) yield* self.items.shift()!.body();
      self.running = false;
    })());
  }

  clear(): void {
    this.items.length = 0;
  }
}

export class AcpiEvents {
  readonly kacpid: WorkQueue;
  readonly notifyWq: WorkQueue;
  readonly hotplugWq: WorkQueue;
  /** GPE numbers with an `_Exx` (edge) or `_Lxx` (level) method. */
  readonly gpeMethods = new Map<number, { node: AmlNode; edge: boolean }>();
  private unrequest: (() => void) | undefined;

  constructor(
    readonly guest: LinuxGuest,
    readonly aml: AmlInterpreter,
    readonly hw: AcpiHardware,
    /** acpi_bus_notify: the global system-notify handler (Notify 0/1/3 -> hotplug). */
    private readonly onNotify: (n: AmlNotify) => void,
  ) {
    this.kacpid = new WorkQueue(guest, 'kacpid');
    this.notifyWq = new WorkQueue(guest, 'kacpi_notify');
    this.hotplugWq = new WorkQueue(guest, 'kacpi_hotplug');
  }

  private get view() {
    return this.guest.view;
  }

  private get registers(): number {
    return this.hw.gpe0Len / 2;
  }

  /**
   * acpi_ev_create_gpe_block + acpi_ev_initialize_gpe_block + acpi_enable_all_runtime_gpes:
   * every enable byte 0, every status byte cleared, then each GPE with a method enabled
   * (read-modify-write of its enable byte). Logs `ACPI: Enabled N GPEs in block 00 to XX`.
   */
  initGpes(): void {
    const regs = this.registers;
    for (let i = 0; i < regs; i++) {
      this.view.ioWrite(this.hw.gpe0 + regs + i, 0x00, 1);
      this.view.ioWrite(this.hw.gpe0 + i, 0xff, 1);
    }
    const gpeScope = this.aml.find('\\_GPE');
    for (const [seg, node] of gpeScope?.children ?? []) {
      const m = /^_([EL])([0-9A-F]{2})$/.exec(seg);
      if (!m || node.kind !== 'method') continue;
      const gpe = parseInt(m[2]!, 16);
      if (gpe >= regs * GPES_PER_REGISTER) continue;
      this.gpeMethods.set(gpe, { node, edge: m[1] === 'E' });
    }
    for (const gpe of [...this.gpeMethods.keys()].sort((a, b) => a - b)) this.setEnable(gpe, true);
    const last = (regs * GPES_PER_REGISTER - 1).toString(16).toUpperCase().padStart(2, '0');
    this.guest.printk(`ACPI: Enabled ${this.gpeMethods.size} GPEs in block 00 to ${last}`);
    this.unrequest = this.guest.irq.requestIrq(this.hw.sciIrq, 'acpi', () => this.sci());
  }

  stop(): void {
    this.unrequest?.();
    this.unrequest = undefined;
    for (const q of [this.kacpid, this.notifyWq, this.hotplugWq]) q.clear();
  }

  /** acpi_hw_low_set_gpe: read the enable byte, flip the GPE's bit, write it back. */
  private setEnable(gpe: number, on: boolean): void {
    const port = this.hw.gpe0 + this.registers + (gpe >> 3);
    const bit = 1 << (gpe & 7);
    const en = this.view.ioRead(port, 1);
    this.view.ioWrite(port, on ? en | bit : en & ~bit, 1);
  }

  /**
   * acpi_ev_sci_xrupt_handler: fixed events (PM1 status and enable read, nothing else modelled),
   * then GPE detection: for each register with a runtime GPE, for each of its 8 GPEs read the
   * enable and the status byte; a GPE set in both is dispatched at once.
   */
  sci(): boolean {
    this.view.ioRead(this.hw.pm1Event + PM1_STS, 2);
    this.view.ioRead(this.hw.pm1Event + PM1_EN, 2);
    let handled = false;
    for (let reg = 0; reg < this.registers; reg++) {
      if (![...this.gpeMethods.keys()].some((g) => g >> 3 === reg)) continue;
      for (let i = 0; i < GPES_PER_REGISTER; i++) {
        const en = this.view.ioRead(this.hw.gpe0 + this.registers + reg, 1);
        const sts = this.view.ioRead(this.hw.gpe0 + reg, 1);
        if (en & sts & (1 << i)) {
          this.dispatch(reg * GPES_PER_REGISTER + i);
          handled = true;
        }
      }
    }
    return handled;
  }

  /** acpi_ev_gpe_dispatch: disable, clear (edge), queue the method on kacpid. */
  private dispatch(gpe: number): void {
    const m = this.gpeMethods.get(gpe);
    this.setEnable(gpe, false);
    if (!m) return;
    if (m.edge) this.view.ioWrite(this.hw.gpe0 + (gpe >> 3), 1 << (gpe & 7), 1);
    this.kacpid.queue(`gpe:${gpe}`, () => this.runGpeMethod(gpe, m.node, m.edge));
  }

  /**
   * acpi_ev_asynch_execute_gpe_method: run `_Exx`; its Notifies go to kacpi_notify, and the
   * re-enable (acpi_ev_asynch_enable_gpe) is queued behind them. A level GPE would clear its
   * status first; QEMU's `_E01` is edge.
   */
  private *runGpeMethod(gpe: number, node: AmlNode, edge: boolean): TaskBody {
    const notifies: AmlNotify[] = [];
    try {
      this.aml.evaluate(node, [], notifies);
    } catch (e) {
      this.guest.printk(`ACPI Error: Aborting method \\_GPE.${node.seg} due to previous error (${e instanceof Error ? e.message : String(e)})`);
    }
    for (const n of notifies) this.notifyWq.queue('notify', () => this.deliver(n));
    this.notifyWq.queue(`gpe-enable:${gpe}`, () => this.reenable(gpe, edge));
  }

  private *deliver(n: AmlNotify): TaskBody {
    this.onNotify(n);
  }

  private *reenable(gpe: number, edge: boolean): TaskBody {
    if (!edge) this.view.ioWrite(this.hw.gpe0 + (gpe >> 3), 1 << (gpe & 7), 1);
    this.setEnable(gpe, true);
  }
}
