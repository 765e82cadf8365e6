/**
 * acpiphp (Linux 6.1 drivers/pci/hotplug/acpiphp_glue.c, acpiphp_core.c): slots from the ACPI
 * namespace, Notify handling (hotplug_event), rescans, bus re-checks, eject through `_EJ0`.
 * guest-acpiphp.md §1, §4-§7. The AML does every port access; this code only decides which
 * objects to evaluate and which config cycles Linux makes.
 */
import { regs as R } from '@plugboard/pci-core';
import type { LinuxGuest } from '../../os/linux.js';
import type { GuestPciBus, PciDev, PciResource } from '../../os/pci-dev.js';
import type { TaskBody } from '../../os/sched.js';
import { assignBusResources } from '../../os/setup-bus.js';
import { nodePath, type AmlInterpreter, type AmlNode, type AmlNotify } from './aml.js';
import type { AcpiEvents } from './acpi.js';

export const ACPI_NOTIFY_BUS_CHECK = 0;
export const ACPI_NOTIFY_DEVICE_CHECK = 1;
export const ACPI_NOTIFY_EJECT_REQUEST = 3;
/** PCI Firmware Spec `_DSM` (Device Labeling Interface), queried by drivers/pci/pci-label.c. */
const PCI_DSM_UUID = [0xd0, 0x37, 0xc9, 0xe5, 0x53, 0x35, 0x7a, 0x4d, 0x91, 0x17, 0xea, 0x4d, 0x19, 0xc3, 0x43, 0x4d];
const DSM_REV = 2;
/**
 * `_DSM` function-0 evaluations per function with an ACPI companion when it is added
 * (pci-label.c attribute visibility checks and the ACPI glue; observed: 4 AIDX port triples
 * per added function in every recording).
 */
const DSM_QUERIES_PER_ADD = 4;

export interface AcpiphpFunc {
  node: AmlNode;
  fn: number;
  hasEj0: boolean;
  hasSta: boolean;
}

export interface AcpiphpSlot {
  bridge: AcpiphpBridge;
  device: number;
  funcs: AcpiphpFunc[];
  /** Registered name (`_SUN`, de-duplicated) when exposed to user space. */
  name: string | undefined;
  enabled: boolean;
  goingAway: boolean;
}

export interface AcpiphpBridge {
  bus: GuestPciBus;
  node: AmlNode;
  slots: AcpiphpSlot[];
}

const intOf = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

export class AcpiphpGlue {
  readonly bridges: AcpiphpBridge[] = [];
  private readonly slotNames = new Set<string>();
  /** Functions scanned by a rescan but not yet added (pci_dev_is_added false). */
  private readonly pendingAdd = new Set<PciDev>();

  constructor(
    readonly guest: LinuxGuest,
    readonly aml: AmlInterpreter,
    readonly events: AcpiEvents,
    readonly rootWindows: PciResource[],
    /** pciehp/SHPC own this bridge's slots (hotplug_is_native). */
    readonly isNative: (bridge: PciDev) => boolean,
  ) {}

  /** ACPI companion of a PCI bus: PCI0 for the root, the bridge's `_ADR` child below. */
  busNode(bus: GuestPciBus): AmlNode | undefined {
    if (!bus.self) return bus.number === 0 ? this.aml.find('\\_SB.PCI0') : undefined;
    const parent = this.busNode(bus.self.bus);
    return parent && this.childByAdr(parent, bus.self.slot, bus.self.fn);
  }

  childByAdr(scope: AmlNode, slot: number, fn: number): AmlNode | undefined {
    for (const c of scope.children.values()) {
      if (c.kind !== 'device') continue;
      const adr = c.children.get('_ADR');
      if (adr && intOf(this.aml.evaluate(adr)) === ((slot << 16) | fn)) return c;
    }
    return undefined;
  }

  /** acpiphp_enumerate_slots: one context per `_ADR` child; ejectable ones become named slots. */
  enumerate(bus: GuestPciBus): AcpiphpBridge | undefined {
    const node = this.busNode(bus);
    if (!node || this.bridges.some((b) => b.bus === bus)) return undefined;
    const bridge: AcpiphpBridge = { bus, node, slots: [] };
    const native = bus.self ? this.isNative(bus.self) : false;
    for (const c of node.children.values()) {
      const adrNode = c.kind === 'device' ? c.children.get('_ADR') : undefined;
      const adr = adrNode && intOf(this.aml.evaluate(adrNode));
      if (adr === undefined) continue;
      const device = (adr >>> 16) & 0xffff;
      const func: AcpiphpFunc = { node: c, fn: adr & 0xffff, hasEj0: c.children.has('_EJ0'), hasSta: c.children.has('_STA') };
      let slot = bridge.slots.find((s) => s.device === device);
      if (!slot) {
        slot = { bridge, device, funcs: [], name: undefined, enabled: false, goingAway: false };
        bridge.slots.push(slot);
        if (func.hasEj0 && !native) this.register(slot, c, bridge);
      }
      slot.funcs.push(func);
      const v = this.guest.view.configRead({ domain: bus.domain, bus: bus.number, devfn: R.PCI_DEVFN(device, func.fn) }, R.PCI_VENDOR_ID, 4);
      if (v !== 0xffffffff) slot.enabled = true;
    }
    this.bridges.push(bridge);
    return bridge;
  }

  private register(slot: AcpiphpSlot, c: AmlNode, bridge: AcpiphpBridge): void {
    const sunNode = c.children.get('_SUN');
    const sun = sunNode ? intOf(this.aml.evaluate(sunNode)) : undefined;
    const base = String(sun ?? bridge.slots.filter((s) => s.name).length + 1);
    // pci_create_slot: a taken name gets "-1", "-2"...
    let name = base;
    for (let i = 1; this.slotNames.has(name); i++) name = `${base}-${i}`;
    this.slotNames.add(name);
    slot.name = name;
    this.guest.printk(`acpiphp: Slot [${name}] registered`);
  }

  /** acpi_bus_notify -> acpi_hotplug_schedule: Device/Bus Check and Eject Request go to the hotplug queue. */
  notify(n: AmlNotify): void {
    if (![ACPI_NOTIFY_BUS_CHECK, ACPI_NOTIFY_DEVICE_CHECK, ACPI_NOTIFY_EJECT_REQUEST].includes(n.value)) return;
    this.events.hotplugWq.queue(`hotplug:${n.value}`, () => this.hotplugEvent(n));
  }

  private findFunc(node: AmlNode): { slot: AcpiphpSlot; func: AcpiphpFunc } | undefined {
    for (const b of this.bridges) for (const slot of b.slots) for (const func of slot.funcs) if (func.node === node) return { slot, func };
    return undefined;
  }

  /** acpi_device_hotplug -> acpiphp_hotplug_notify -> hotplug_event. */
  private *hotplugEvent(n: AmlNotify): TaskBody {
    // acpi_os_wait_events_complete: GPE methods and notify handlers already queued run first.
    while (!this.events.kacpid.idle || !this.events.notifyWq.idle) yield this.guest.sched.sleep(0);
    const bridge = this.bridges.find((b) => b.node === n.node);
    const hit = this.findFunc(n.node);
    if (!bridge && !hit) return;
    switch (n.value) {
      case ACPI_NOTIFY_BUS_CHECK:
        if (bridge) yield* this.checkBridge(bridge);
        else if (!hit!.slot.goingAway) yield* this.enableSlot(hit!.slot);
        return;
      case ACPI_NOTIFY_DEVICE_CHECK:
        if (bridge) yield* this.checkBridge(bridge);
        else if (!hit!.slot.goingAway && (yield* this.rescanSlot(hit!.slot)) > 0) yield* this.checkBridge(hit!.slot.bridge);
        return;
      case ACPI_NOTIFY_EJECT_REQUEST:
        if (this.guest.policy.name === 'ignore-unplug' || !hit) return;
        this.disableAndEject(hit.slot);
    }
  }

  /**
   * acpiphp_rescan_slot -> pci_scan_slot (drivers/pci/probe.c): function 0, then 1-7 of a
   * multi-function device; each new function is "added" (its `_DSM` queried) as soon as it is
   * set up, before the next function is probed, as pci_scan_single_device does.
   */
  private *rescanSlot(slot: AcpiphpSlot): TaskBody<number> {
    const bus = slot.bridge.bus;
    const base = R.PCI_DEVFN(slot.device, 0);
    // only_one_child: below a PCIe downstream port only device 0 exists.
    if (bus.self?.isPcieDownstreamPort && slot.device > 0) return 0;
    let found = 0;
    for (let fn = 0; fn >= 0; ) {
      const existing = bus.devices.find((d) => d.devfn === base + fn);
      const dev = existing ?? (yield* this.guest.pci.scanDevice(bus, base + fn));
      if (dev && !existing) {
        found++;
        this.pendingAdd.add(dev);
        this.deviceAdded(slot, dev);
      }
      if (dev && fn > 0) dev.multifunction = true;
      if (!dev && fn === 0) break;
      fn = fn >= 7 || (dev && !dev.multifunction) ? -1 : fn + 1;
    }
    return found;
  }

  /** pci_device_add -> device_add: sysfs `label`/`acpi_index` checks run `_DSM` function 0 (AIDX). */
  private deviceAdded(slot: AcpiphpSlot, dev: PciDev): void {
    const func = slot.funcs.find((f) => f.fn === dev.fn);
    const dsm = func?.node.children.get('_DSM');
    if (!dsm) return;
    for (let i = 0; i < DSM_QUERIES_PER_ADD; i++) this.evaluateOrLog(dsm, [Uint8Array.from(PCI_DSM_UUID), DSM_REV, 0, []]);
  }

  private evaluateOrLog(node: AmlNode, args: Array<number | Uint8Array | never[]>): boolean {
    try {
      this.aml.evaluate(node, args);
      return true;
    } catch (e) {
      this.guest.printk(`ACPI Error: Aborting method ${nodePath(node)} (${e instanceof Error ? e.message : String(e)})`);
      return false;
    }
  }

  /** get_slot_status: vendor-ID read of each described function, then of function 0; 0x0F if present. */
  private slotPresent(slot: AcpiphpSlot): boolean {
    const bus = slot.bridge.bus;
    const read = (fn: number) => this.guest.view.configRead({ domain: bus.domain, bus: bus.number, devfn: R.PCI_DEVFN(slot.device, fn) }, R.PCI_VENDOR_ID, 4);
    const alive = (v: number) => v !== 0xffffffff && v !== 0 && v !== 0xffff && v !== 0xffff0000;
    for (const f of slot.funcs) if (alive(read(f.fn))) return true;
    return alive(read(0));
  }

  /** acpiphp_check_bridge: each slot in namespace order: trim dead functions and enable, or disable. */
  private *checkBridge(bridge: AcpiphpBridge): TaskBody {
    for (const slot of bridge.slots) {
      if (this.slotPresent(slot)) {
        for (const dev of [...bridge.bus.devices].reverse()) if (dev.slot === slot.device) this.trimStale(dev);
        yield* this.enableSlot(slot);
      } else this.disableSlot(slot);
    }
  }

  /** trim_stale_devices: no `_STA` in QEMU, so pci_device_is_present (a vendor-ID read); bridges recurse. */
  private trimStale(dev: PciDev): void {
    const v = dev.read32(R.PCI_VENDOR_ID);
    if (v === 0xffffffff || v === 0) {
      this.guest.removeDevice(dev);
      return;
    }
    if (dev.subordinate) for (const child of [...dev.subordinate.devices].reverse()) this.trimStale(child);
  }

  /**
   * enable_slot: rescan the slot, number and scan bridges found in it, assign the bus' unassigned
   * resources, then pci_bus_add_devices (driver probe) for everything not yet added.
   */
  private *enableSlot(slot: AcpiphpSlot): TaskBody {
    const bus = slot.bridge.bus;
    yield* this.rescanSlot(slot);
    let max = bus.busnEnd;
    for (const pass of [0, 1]) {
      for (const dev of bus.devices.filter((d) => d.isBridge && d.slot === slot.device && !d.subordinate)) {
        max = yield* this.guest.pci.scanBridge(bus, dev, max, pass);
      }
    }
    const fresh = [...this.pendingAdd].filter((d) => d.bus === bus || isBelow(d.bus, bus));
    assignBusResources(this.guest, bus, fresh, bus.self ? bus.windows : this.rootWindows);
    for (const dev of fresh) {
      this.pendingAdd.delete(dev);
      this.guest.bindDriver(dev);
      if (dev.isBridge) {
        this.guest.offerNewPort(dev);
        if (dev.subordinate) this.enumerate(dev.subordinate);
      }
    }
    slot.enabled = slot.funcs.every((f) => bus.devices.some((d) => d.devfn === R.PCI_DEVFN(slot.device, f.fn)));
  }

  /** disable_slot: remove the slot's functions (reverse bus order), trim their ACPI objects. */
  private disableSlot(slot: AcpiphpSlot): void {
    for (const dev of [...slot.bridge.bus.devices].reverse()) if (dev.slot === slot.device) this.guest.removeDevice(dev);
    slot.enabled = false;
  }

  /** acpiphp_disable_and_eject_slot: unconfigure, then `_EJ0(1)` on the first function that has one. */
  disableAndEject(slot: AcpiphpSlot): void {
    this.disableSlot(slot);
    const func = slot.funcs.find((f) => f.hasEj0);
    if (!func) return;
    const ej0 = func.node.children.get('_EJ0')!;
    if (!this.evaluateOrLog(ej0, [1])) this.guest.printk(`ACPI: ${acpiName(func.node)}: _EJ0 failed`);
  }
}

function isBelow(bus: GuestPciBus, top: GuestPciBus): boolean {
  for (let b: GuestPciBus | undefined = bus.parent; b; b = b.parent) if (b === top) return true;
  return false;
}

/** `\_SB_.PCI0.S28_`: ACPICA's full pathname with 4-character segments (acpi_handle_err prefix). */
export function acpiName(node: AmlNode): string {
  return nodePath(node);
}
