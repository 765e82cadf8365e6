/**
 * pciehp, Linux 6.1's native PCIe hotplug driver, as a hotplug driver of the simulated guest
 * (spec/guest-pciehp.md). Offered every bridge at boot and every hot-added one, it runs the
 * PCIe port driver on PCIe ports and binds to root/downstream ports whose slot is Hot-Plug
 * Capable and for which the platform grants native hotplug.
 *
 * Which ports are native is a firmware question (ACPI `_OSC`, evaluated for the host bridge:
 * LinuxGuest.nativePcieHotplug). QEMU 7.2's q35 with its default ACPI PCI hotplug withholds
 * PCIeHotplug while its ports keep SLTCAP.HPC (x-keep-pci-slot-hpc, read back through
 * CF8/CFC: SLTCAP 0x000a007b), so pciehp binds no port there, as the acpiphp-q35 recording
 * shows ("_OSC: platform does not support [PCIeHotplug LTR]", no pciehp line). Without ACPI
 * the ports are native. `nativeHotplug` overrides the decision per port.
 */
import { caps as C } from '@plugboard/pci-core';
import type { HotplugDriver } from '../../os/drivers.js';
import type { LinuxGuest } from '../../os/linux.js';
import type { PciDev } from '../../os/pci-dev.js';
import type { TaskBody } from '../../os/sched.js';
import type { ControllerOptions } from './hpc.js';
import { Jiffies, kernelEpochNs } from './jiffies.js';
import { PCIEHP, probePort, removeController, type GuestState } from './probe.js';
import type { PciehpSlot } from './slot.js';

export { PciehpSlot, type PciehpState } from './slot.js';
export { HZ, INITIAL_JIFFIES, wheelExpiry } from './jiffies.js';
export { PCIEHP } from './probe.js';

export interface PciehpOptions extends Partial<ControllerOptions> {
  /**
   * Does the platform let the OS drive this port's hotplug natively (`_OSC` PCIeHotplug)?
   * Asked only for ports whose SLTCAP.HPC is set. Default: what `_OSC` granted, yes without ACPI.
   */
  nativeHotplug?: (port: PciDev, guest: LinuxGuest) => boolean;
}

interface ProbeQueue extends GuestState {
  /** Ports waiting for the port driver / pciehp probe, in the order they were offered. */
  queue: Array<{ port: PciDev; native: boolean }>;
  probing: boolean;
}

const isPciePort = (p: PciDev) =>
  p.isPcie && (p.pcieType === C.PCI_EXP_TYPE_ROOT_PORT || p.pcieType === C.PCI_EXP_TYPE_UPSTREAM || p.pcieType === C.PCI_EXP_TYPE_DOWNSTREAM);

/** The slot pciehp registered for `port`, if it bound to it. */
export function pciehpSlot(port: PciDev): PciehpSlot | undefined {
  return port.driverData.get(PCIEHP) as PciehpSlot | undefined;
}

/** Every pciehp slot of a guest, in bus order. */
export function pciehpSlots(guest: LinuxGuest): PciehpSlot[] {
  return guest.ports().map(pciehpSlot).filter((s): s is PciehpSlot => s !== undefined);
}

/**
 * A pciehp driver instance. Options: `debug` (dyndbg "module pciehp +p": the ctrl_dbg
 * lines), `pollMode` / `pollTime` (the module parameters), `nativeHotplug` (above).
 */
export function createPciehpDriver(opts: PciehpOptions = {}): HotplugDriver {
  const copts: ControllerOptions = { debug: opts.debug ?? false, pollMode: opts.pollMode ?? false, pollTime: opts.pollTime ?? 2 };
  const nativeHotplug = opts.nativeHotplug ?? ((_port: PciDev, guest: LinuxGuest) => guest.nativePcieHotplug ?? true);
  const states = new WeakMap<LinuxGuest, ProbeQueue>();

  /** Per boot: jiffies count from the kernel's start, names and queue start empty. */
  const freshState = (guest: LinuxGuest): ProbeQueue => {
    // A reboot: the previous boot's vectors go back to the interrupt allocator.
    for (const irq of states.get(guest)?.irqs ?? []) irq.release();
    const jiffies = new Jiffies(guest.sched, kernelEpochNs(guest.klog.stamp(), guest.sched.now()));
    const st: ProbeQueue = { jiffies, names: new Set(), irqs: [], queue: [], probing: false };
    states.set(guest, st);
    return st;
  };

  /** Ports probe one after the other, like the boot thread binding them in bus order. */
  const enqueue = (guest: LinuxGuest, st: ProbeQueue, port: PciDev, native: boolean): void => {
    st.queue.push({ port, native });
    if (st.probing) return;
    st.probing = true;
    guest.sched.spawn('pcieport-probe', (function* (): TaskBody<void> {
      for (let next = st.queue.shift(); next; next = st.queue.shift()) yield* probePort(guest, st, copts, next.port, next.native);
      st.probing = false;
    })());
  };

  return {
    name: PCIEHP,
    // pcieport is a PCI driver of every PCIe port (drivers/pci/pcie/portdrv_pci.c): on a port
    // acpiphp drives, it still runs the PME and AER services (recorded acpiphp-q35: the root
    // port ends with MSI-X on, bus mastering and INTx disabled).
    seesClaimedPorts: true,
    init(guest) {
      freshState(guest);
    },
    probe(port, guest) {
      if (!isPciePort(port)) return false;
      const st = states.get(guest) ?? freshState(guest);
      // A port another hotplug driver claimed gets the port services only.
      const native = port.hotplugDriver === undefined && port.isHotplugBridge && nativeHotplug(port, guest);
      enqueue(guest, st, port, native);
      return native && port.subordinate !== undefined;
    },
    remove(port, guest) {
      const st = states.get(guest);
      if (st) st.queue = st.queue.filter((q) => q.port !== port);
      const slot = pciehpSlot(port);
      if (slot) removeController(slot.ctrl, st);
    },
  };
}

/** The built-in instance LinuxGuest loads by default. */
export const pciehpDriver: HotplugDriver = createPciehpDriver();
