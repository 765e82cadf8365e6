/**
 * Binding pciehp to a port: pcie_init (pciehp_hpc.c: capabilities, stale events, banner,
 * empty-but-powered slot), then pciehp_probe (pciehp_core.c: slot name, interrupt or poll
 * thread, notifications on, presence check). Runs as a guest task, ports one after the other.
 */
import { caps as C } from '@plugboard/pci-core';
import type { LinuxGuest } from '../../os/linux.js';
import type { PciDev } from '../../os/pci-dev.js';
import type { TaskBody } from '../../os/sched.js';
import { irqThread, ist } from './ctrl.js';
import { Controller, type ControllerOptions } from './hpc.js';
import { HZ, type Jiffies } from './jiffies.js';
import { pciePortProbe, portData, type PortIrq } from './portdrv.js';
import {
  PCI_EXP_LNKCAP_DLLLARC, PCI_EXP_SLTCAP2, PCI_EXP_SLTCAP2_IBPD, PCI_EXP_SLTCAP_ABP, PCI_EXP_SLTCAP_AIP, PCI_EXP_SLTCAP_EIP,
  PCI_EXP_SLTCAP_HPC, PCI_EXP_SLTCAP_HPS, PCI_EXP_SLTCAP_MRLSP, PCI_EXP_SLTCAP_NCCS, PCI_EXP_SLTCAP_PCP, PCI_EXP_SLTCAP_PIP,
  PCI_EXP_SLTCTL_IBPD_DISABLE, PCI_EXP_SLTSTA_ABP, PCI_EXP_SLTSTA_CC, PCI_EXP_SLTSTA_DLLSC, PCI_EXP_SLTSTA_MRLSC, PCI_EXP_SLTSTA_PDC,
  PCI_EXP_SLTSTA_PFD, psn, SlotState,
} from './regs.js';
import { PciehpSlot } from './slot.js';

export const PCIEHP = 'pciehp';
const flag = (v: number, bit: number) => (v & bit ? '+' : '-');
const hexw = (v: number, w: number) => `0x${v.toString(16).padStart(w, '0')}`;

/** What the driver keeps per guest. */
export interface GuestState {
  jiffies: Jiffies;
  /** Slot names in use (pci_slots_kset; slots registered by other drivers are not seen here). */
  names: Set<string>;
  /** Port interrupts set up during this boot (released when the guest boots again). */
  irqs: PortIrq[];
}

/** make_slot_name: `N`, then `N-1`, `N-2`... while the name is taken. */
function uniqueName(names: Set<string>, base: string): string {
  let name = base;
  for (let dup = 1; names.has(name); dup++) name = `${base}-${dup}`;
  names.add(name);
  return name;
}

/** pcie_init. */
function* pcieInit(c: Controller): TaskBody<void> {
  const port = c.port;
  c.slotCap = port.pcieRead32(C.PCI_EXP_SLTCAP);
  // dbg_ctrl reads the registers whether or not debug output is on.
  c.dbg(`Slot Capabilities      : ${hexw(c.slotCap, 8)}`);
  const sta = port.pcieRead16(C.PCI_EXP_SLTSTA);
  c.dbg(`Slot Status            : ${hexw(sta, 4)}`);
  const ctl = port.pcieRead16(C.PCI_EXP_SLTCTL);
  c.dbg(`Slot Control           : ${hexw(ctl, 4)}`);
  c.state = port.subordinate!.devices.length ? SlotState.ON : SlotState.OFF;
  const cap2 = port.pcieRead32(PCI_EXP_SLTCAP2);
  if (cap2 & PCI_EXP_SLTCAP2_IBPD) {
    yield* c.writeCmd(PCI_EXP_SLTCTL_IBPD_DISABLE, PCI_EXP_SLTCTL_IBPD_DISABLE, false);
    c.inbandPresenceDisabled = true;
  }
  const lnkcap = port.pcieRead32(C.PCI_EXP_LNKCAP);
  // Stale events are dropped (QEMU undoes the W1C when a bit written was not set).
  port.pcieWrite16(C.PCI_EXP_SLTSTA, PCI_EXP_SLTSTA_ABP | PCI_EXP_SLTSTA_PFD | PCI_EXP_SLTSTA_MRLSC | PCI_EXP_SLTSTA_CC | PCI_EXP_SLTSTA_DLLSC | PCI_EXP_SLTSTA_PDC);
  const s = c.slotCap;
  c.info(
    `Slot #${psn(s)} AttnBtn${flag(s, PCI_EXP_SLTCAP_ABP)} PwrCtrl${flag(s, PCI_EXP_SLTCAP_PCP)} MRL${flag(s, PCI_EXP_SLTCAP_MRLSP)} ` +
      `AttnInd${flag(s, PCI_EXP_SLTCAP_AIP)} PwrInd${flag(s, PCI_EXP_SLTCAP_PIP)} HotPlug${flag(s, PCI_EXP_SLTCAP_HPC)} ` +
      `Surprise${flag(s, PCI_EXP_SLTCAP_HPS)} Interlock${flag(s, PCI_EXP_SLTCAP_EIP)} NoCompl${flag(s, PCI_EXP_SLTCAP_NCCS)} ` +
      `IbPresDis${flag(cap2, PCI_EXP_SLTCAP2_IBPD)} LLActRep${flag(lnkcap, PCI_EXP_LNKCAP_DLLLARC)}` +
      (c.brokenCmdCompl ? ' (with Cmd Compl erratum)' : ''),
  );
  // An empty slot left powered: notifications off, then power off (both polled: no IRQ yet).
  if (c.has(PCI_EXP_SLTCAP_PCP)) {
    const on = c.getPowerStatus();
    if (!c.cardPresentOrLinkActive() && on) {
      yield* c.disableNotification();
      yield* c.powerOffSlot();
    }
  }
}

/** pcie_portdrv_probe, then (hotplug service) pciehp_probe. */
export function* probePort(guest: LinuxGuest, st: GuestState, copts: ControllerOptions, port: PciDev, native: boolean): TaskBody<void> {
  const known = portData(port) !== undefined;
  const data = pciePortProbe(guest, port, native);
  if (!known && data?.irq) st.irqs.push(data.irq);
  if (!data?.services.hp) return;
  if (!port.subordinate) {
    guest.log('pcieport', port, 'Hotplug bridge without secondary bus, ignoring');
    return;
  }
  const c = new Controller(guest, port, copts, st.jiffies);
  yield* pcieInit(c);
  c.name = uniqueName(st.names, String(psn(c.slotCap)));
  // pcie_init_notification: the interrupt (or the poll thread), then events on.
  if (copts.pollMode) c.thread = guest.sched.spawn(`pciehp_poll-${c.name}`, pollThread(c));
  else {
    const free = data.irq?.request(PCIEHP, () => {
      const r = c.isr();
      if (r === 'wake') c.wakeThread();
      return r !== 'none';
    });
    if (!data.irq || !free) {
      c.info(`Cannot get irq ${data.irq?.irq ?? port.irq} for the hotplug controller`);
      c.info('Notification initialization failed (-1)');
      st.names.delete(c.name);
      return;
    }
    c.irq = data.irq;
    c.freeIrq = free;
    c.thread = guest.sched.spawn(`irq/${data.irq.irq}-pciehp`, irqThread(c));
  }
  yield* c.enableNotification();
  c.notificationEnabled = true;
  port.driverData.set(PCIEHP, new PciehpSlot(c));
  // pciehp_check_presence: latched events are stale; bring the slot in line with presence.
  const occupied = c.cardPresentOrLinkActive();
  const off = c.state === SlotState.OFF || c.state === SlotState.BLINKINGON;
  const on = c.state === SlotState.ON || c.state === SlotState.BLINKINGOFF;
  if ((occupied > 0 && off) || (!occupied && on)) c.request(PCI_EXP_SLTSTA_PDC);
}

/** pciehp_poll: first look 10 s after probe, then every pciehp_poll_time seconds (1..60, else 2). */
function* pollThread(c: Controller): TaskBody<void> {
  yield { kind: 'sleep', ns: c.jiffies.timerNs(10 * HZ) };
  for (;;) {
    while (c.isr() === 'wake' || c.pendingEvents) yield* ist(c);
    const t = c.opts.pollTime <= 0 || c.opts.pollTime > 60 ? 2 : c.opts.pollTime;
    yield { kind: 'sleep', ns: c.jiffies.timerNs(t * HZ) };
  }
}

/** pciehp_remove, without the notification-disable command (its port is going away, or the guest). */
export function removeController(c: Controller, st: GuestState | undefined): void {
  c.cancelButtonWork();
  c.thread?.cancel();
  c.freeIrq?.();
  st?.names.delete(c.name);
  c.port.driverData.delete(PCIEHP);
}
