/**
 * shpchp, the Standard Hot Plug Controller driver of Linux 6.1 (drivers/pci/hotplug/
 * shpchp_core.c; spec/guest-shpchp.md), as a hotplug driver of the simulated guest. It binds
 * to PCI-to-PCI bridges (class 0x060400) that have the SHPC capability and whose SHPC the
 * firmware lets it drive (./firmware.ts: q35 grants it through _OSC, pc refuses through
 * OSHP), registers one hotplug slot per SHPC slot, and from then on answers the SHPC's
 * interrupts like Linux: 5 s attention-button wait, 1 s after enabling, commands through
 * BAR0, and the same log lines.
 */
import type { HotplugDriver } from '../../os/drivers.js';
import type { LinuxGuest } from '../../os/linux.js';
import type { PciDev } from '../../os/pci-dev.js';
import type { Task, TaskBody } from '../../os/sched.js';
import { Slot } from './ctrl.js';
import { detectControl, getHotplugControl, registerSlotName, releaseSlotName, type ShpcControl } from './firmware.js';
import { Controller, SHPCHP, controllers, hex, type ControllerOptions } from './hpc.js';
import { POLL_DEFAULT_S } from './regs.js';

export { SHPCHP } from './hpc.js';
export { detectControl, oshpPaths, type ShpcControl } from './firmware.js';

export interface ShpchpOptions {
  /**
   * How firmware answers the request for SHPC control. `auto` (default) follows the
   * machine: the chipset at 00:00.0 is read by the guest's PCI scan (i440FX: `oshp`, refused;
   * Q35 MCH: `osc`, granted; no ACPI chipset: `none`, granted).
   */
  control?: ShpcControl | 'auto';
  /** `shpchp.shpchp_debug=1`: the driver's debug lines (every command, every interrupt). */
  debug?: boolean;
  /** `shpchp.shpchp_poll_mode=1`, `shpchp.shpchp_poll_time=N`. */
  pollMode?: boolean;
  pollTime?: number;
}

/** PCI_CLASS_BRIDGE_PCI_NORMAL (shpcd_pci_tbl). */
const PCI_CLASS_BRIDGE_PCI_NORMAL = 0x060400;
const PCI_CAP_ID_SHPC = 0x0c;
const BANNER = 'Standard Hot Plug PCI Controller Driver version: 0.4';

const slotsOf = new WeakMap<Controller, Slot[]>();

/** The sysfs files of one shpchp slot (/sys/bus/pci/slots/NAME), through hotplug_slot_ops. */
export class ShpchpSlot {
  constructor(readonly slot: Slot) {}
  get name(): string {
    return this.slot.name;
  }
  /** `address`: domain:bus:device. */
  get address(): string {
    const c = this.slot.ctrl;
    return `${c.dev.bus.domain.toString(16).padStart(4, '0')}:${this.slot.busNr.toString(16).padStart(2, '0')}:${this.slot.device.toString(16).padStart(2, '0')}`;
  }
  get bridge(): PciDev {
    return this.slot.ctrl.dev;
  }
  /** The button state machine (0 static, 1 blinking on, 2 blinking off, 3 powering on, 4 powering off). */
  get state(): number {
    return this.slot.state;
  }
  private op(name: string): void {
    this.slot.ctrl.dbg(`${name}: physical_slot = ${this.slot.name}`);
  }
  power(): number {
    this.op('get_power_status');
    return this.slot.powerStatus();
  }
  attention(): number {
    this.op('get_attention_status');
    return this.slot.attentionStatus();
  }
  latch(): number {
    this.op('get_latch_status');
    return this.slot.latchStatus();
  }
  adapter(): number {
    this.op('get_adapter_status');
    return this.slot.adapterStatus();
  }
  /** `echo 1|0 > power`: enable (no 5 s wait) or disable; the task's result is the errno. */
  writePower(value: 0 | 1): Task<number> {
    const s = this.slot;
    this.op(value ? 'enable_slot' : 'disable_slot');
    return s.ctrl.guest.sched.spawn(`${SHPCHP}-${s.name}:sysfs-power`, value ? s.sysfsEnable() : s.sysfsDisable());
  }
  /** `echo 0|1|2 > attention`: off, on, blink. */
  writeAttention(value: 0 | 1 | 2): Task<number> {
    const s = this.slot;
    this.op('set_attention_status');
    s.attentionSave = value;
    return s.ctrl.guest.sched.spawn(`${SHPCHP}-${s.name}:sysfs-attention`, s.ctrl.writeCmd(s.hpSlot, [0x30, 0x10, 0x20][value]!));
  }
}

/** Every slot shpchp registered in `guest`, bridge by bridge. */
export function shpchpSlots(guest: LinuxGuest): ShpchpSlot[] {
  return guest.pci.devices().flatMap((d) => {
    const c = controllers.get(d);
    return c && c.guest === guest ? (slotsOf.get(c) ?? []).map((s) => new ShpchpSlot(s)) : [];
  });
}

export function shpchpSlot(guest: LinuxGuest, name: string): ShpchpSlot | undefined {
  return shpchpSlots(guest).find((s) => s.name === name);
}

/** init_slots: one hotplug slot per SHPC slot, named by physical slot number. */
function initSlots(c: Controller): Slot[] {
  const slots: Slot[] = [];
  const busNr = c.dev.subordinate?.number ?? 0;
  for (let i = 0; i < c.numSlots; i++) {
    const device = c.slotDeviceOffset + i;
    const number = c.firstSlot + c.slotNumInc * i;
    c.dbg(`Registering domain:bus:dev=${c.dev.bus.domain.toString(16).padStart(4, '0')}:${busNr.toString(16).padStart(2, '0')}:${device.toString(16).padStart(2, '0')} hp_slot=${hex(i)} sun=${hex(number)} slot_device_offset=${hex(c.slotDeviceOffset)}`);
    const slot = new Slot(c, i, device, registerSlotName(c.guest, String(number)));
    const files = new ShpchpSlot(slot);
    slot.pwrSave = files.power();
    slot.attentionSave = files.attention();
    slot.latchSave = files.latch();
    slot.presenceSave = files.adapter();
    slots.push(slot);
  }
  return slots;
}

/** Bridges the driver core already offered to shpchp (it probes each device once). */
const tried = new WeakSet<PciDev>();

/** shpc_probe. */
function probe(guest: LinuxGuest, pdev: PciDev, control: ShpcControl, copts: ControllerOptions): boolean {
  if (tried.has(pdev)) return controllers.has(pdev);
  tried.add(pdev);
  // A bridge left without a secondary bus (no bus number was free when it was hot-added):
  // Linux 6.1 would dereference pdev->subordinate and oops; the simulated guest declines.
  if (!pdev.subordinate) return false;
  if (!pdev.findCapability(PCI_CAP_ID_SHPC) || !getHotplugControl(guest, pdev, control, SHPCHP)) return false;
  const c = new Controller(guest, pdev, copts);
  controllers.set(pdev, c);
  if (!c.init()) {
    c.dbg('Controller initialization failed');
    controllers.delete(pdev);
    return false;
  }
  c.onSlotEvent = (i, reg) => slotsOf.get(c)?.[i]?.handleEvents(reg);
  slotsOf.set(c, initSlots(c));
  pdev.driverData.set(SHPCHP, c); // pdev->shpc_managed
  return true;
}

/** shpc_remove: controller released, slots unregistered. */
function remove(guest: LinuxGuest, pdev: PciDev): void {
  const c = controllers.get(pdev);
  if (!c) return;
  for (const s of slotsOf.get(c) ?? []) {
    s.cleanup();
    releaseSlotName(guest, s.name);
  }
  c.release();
  controllers.delete(pdev);
  pdev.driverData.delete(SHPCHP);
}

export function createShpchpDriver(opts: ShpchpOptions = {}): HotplugDriver {
  const copts: ControllerOptions = { debug: opts.debug ?? false, pollMode: opts.pollMode ?? false, pollTime: opts.pollTime ?? POLL_DEFAULT_S };
  const controlFor = (guest: LinuxGuest): ShpcControl => (!opts.control || opts.control === 'auto' ? detectControl(guest) : opts.control);
  const eligible = (d: PciDev) => d.isBridge && d.class === PCI_CLASS_BRIDGE_PCI_NORMAL;
  /** Guests whose module init (the boot-time probes) has not run yet. */
  const initPending = new WeakSet<LinuxGuest>();
  return {
    name: SHPCHP,
    /**
     * shpcd_init: pci_register_driver probes every bridge there is, then the banner. It runs
     * as a work item so that the PCIe port driver, whose probes run as tasks started just
     * before, has set its ports up first, as device_initcall order has it on Linux
     * (recorded: the root port's MSI is IRQ 24, the SHPC's 25).
     */
    init(guest) {
      initPending.add(guest);
      guest.sched.spawn(`${SHPCHP}:init`, (function* (): TaskBody<void> {
        initPending.delete(guest);
        const control = controlFor(guest);
        for (const d of guest.pci.devices().filter(eligible)) probe(guest, d, control, copts);
        if (copts.debug) guest.printk(`${SHPCHP}: shpcd_init: pci_register_driver = 0`);
        guest.printk(`${SHPCHP}: ${BANNER}`);
      })());
    },
    /**
     * Claims the bridges it drives. Before the module init ran this is a promise (the SHPC
     * capability is there and firmware will let go); a bridge that appears later is probed here.
     */
    probe(port, guest) {
      if (!eligible(port)) return false;
      if (initPending.has(guest)) return !!port.subordinate && port.findCapability(PCI_CAP_ID_SHPC) !== 0 && controlFor(guest) !== 'oshp';
      return probe(guest, port, controlFor(guest), copts);
    },
    remove(port, guest) {
      remove(guest, port);
    },
  };
}

/** The driver with Linux's defaults (no debug, interrupt mode, control by machine type). */
export const shpchpDriver: HotplugDriver = createShpchpDriver();
