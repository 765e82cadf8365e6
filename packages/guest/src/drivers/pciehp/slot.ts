/**
 * A pciehp slot as user space sees it in /sys/bus/pci/slots/NAME/ (pciehp_core.c ops,
 * pci_hotplug_core.c): reads are live register reads, writes go through the controller like
 * a process writing the file (and blocking until the IRQ thread is done).
 */
import type { PciDev } from '../../os/pci-dev.js';
import type { TaskBody } from '../../os/sched.js';
import { sysfsDisableSlot, sysfsEnableSlot } from './ctrl.js';
import type { Controller } from './hpc.js';
import { PCI_EXP_SLTCAP_AIP, PCI_EXP_SLTCAP_MRLSP, PCI_EXP_SLTCTL_ATTN_IND_OFF, PCI_EXP_SLTCTL_ATTN_IND_SHIFT, SlotState } from './regs.js';

export type PciehpState = 'off' | 'blinking-on' | 'blinking-off' | 'powering-on' | 'powering-off' | 'on';
const STATE_NAMES: readonly PciehpState[] = ['off', 'blinking-on', 'blinking-off', 'powering-on', 'powering-off', 'on'];

export class PciehpSlot {
  constructor(
    /** @internal */
    readonly ctrl: Controller,
  ) {}

  /** Slot name: the Physical Slot Number, with `-1`, `-2`... when taken (`0`, `0-1`). */
  get name(): string {
    return this.ctrl.name;
  }

  /** The root or downstream port. */
  get port(): PciDev {
    return this.ctrl.port;
  }

  /** `address`: domain:bus:slot of the slot's secondary bus, e.g. `0000:01:00`. */
  get address(): string {
    return `${this.ctrl.port.subordinate?.name ?? '????:??'}:00`;
  }

  /** pciehp's state machine (OFF_STATE ... ON_STATE). */
  get state(): PciehpState {
    return STATE_NAMES[this.ctrl.state]!;
  }

  /** `power`: 1 when Slot Control says the slot is powered. */
  get power(): number {
    return this.ctrl.getPowerStatus();
  }

  /** `adapter`: Presence Detect State, or Data Link Layer Link Active when PDS is 0. */
  get adapter(): number {
    return Math.max(0, this.ctrl.cardPresentOrLinkActive());
  }

  /** `attention`: 0 off, 1 on, 2 blinking (only with an attention indicator). */
  get attention(): number | undefined {
    return this.ctrl.has(PCI_EXP_SLTCAP_AIP) ? this.ctrl.getAttentionStatus() : undefined;
  }

  /** `latch`: only with an MRL sensor. */
  get latch(): number | undefined {
    return this.ctrl.has(PCI_EXP_SLTCAP_MRLSP) ? this.ctrl.getLatchStatus() : undefined;
  }

  /**
   * `echo 1|0 > power`: resolves with 0 or a negative errno (-19 ENODEV, -22 EINVAL) once the
   * guest finished, so the clock must run for it to settle. Power off skips the 5 s button
   * wait: unbind, power off, 1 s, indicator off (on QEMU the device is then deleted).
   */
  setPower(on: boolean): Promise<number> {
    return this.run(`sysfs-power:${this.name}`, on ? sysfsEnableSlot(this.ctrl) : sysfsDisableSlot(this.ctrl));
  }

  /** `echo N > attention`: 0 off, 1 on, 2 blink (set_attention_status, no completion wait). */
  setAttention(value: number): Promise<number> {
    const c = this.ctrl;
    const aic = value ? (value << PCI_EXP_SLTCTL_ATTN_IND_SHIFT) & 0xff : PCI_EXP_SLTCTL_ATTN_IND_OFF;
    return this.run(`sysfs-attention:${this.name}`, (function* (): TaskBody<number> {
      yield* c.setIndicators(undefined, aic);
      return 0;
    })());
  }

  private run(name: string, body: TaskBody<number>): Promise<number> {
    return new Promise((resolve) => this.ctrl.sched.spawn(name, body).onDone((r) => resolve(r ?? -4 /* EINTR: the guest went away */)));
  }

  /** True while nothing is pending for the slot (no button wait, no queued event, thread idle). */
  get idle(): boolean {
    const c = this.ctrl;
    return !c.pendingEvents && !c.istRunning && !c.buttonTimer?.active && (c.state === SlotState.ON || c.state === SlotState.OFF);
  }
}
