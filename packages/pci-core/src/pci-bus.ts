/**
 * PCI and PCIe buses: 32 slots x 8 functions, bus numbers, INTx routing
 * (hw/pci/pci.c, hw/pci/pci_bus.h).
 */
import { Bus, type Device } from '@plugboard/qdev';
import type { PCIDevice, PciInterruptSink } from './pci-device.js';
import { PCI_HEADER_TYPE_MULTI_FUNCTION, PCI_SECONDARY_BUS, PCI_DEVFN, PCI_FUNC, PCI_HEADER_TYPE } from './regs.js';
import { formatQtreePciLines } from './info-pci.js';

export const TYPE_PCI_BUS = 'PCI';
export const TYPE_PCIE_BUS = 'PCIE';

/** Where INTx of a root bus goes: the host bridge's interrupt router. */
export interface IntxSink {
  /** `dev` is the root-bus device the interrupt arrives through, `pin` 0..3 swizzled to it. */
  intx(dev: PCIDevice, pin: number, level: number): void;
}

export class PCIBus extends Bus {
  readonly devfns: Array<PCIDevice | undefined> = new Array(256).fill(undefined);
  /** Root bus of a host bridge (no parent bridge). */
  readonly isRoot: boolean;
  /** First devfn used by automatic allocation. */
  minDevfn = 0;
  /** Slots the board keeps for itself (bit per slot). */
  slotReservedMask = 0;
  /** For root buses: the bus number (0 for the main root). */
  rootBusNumber = 0;
  intxSink: IntxSink | undefined;
  /** Root buses: where MSI writes land (the machine wires it to the guest view). */
  msiSink: PciInterruptSink | undefined;

  constructor(name: string, opts: { express: boolean; root: boolean }) {
    super(name, opts.express ? [TYPE_PCIE_BUS, TYPE_PCI_BUS, 'bus'] : [TYPE_PCI_BUS, 'bus']);
    this.isRoot = opts.root;
  }

  get isExpress(): boolean {
    return this.isA(TYPE_PCIE_BUS);
  }

  /** The bridge whose secondary bus this is. */
  get bridge(): PCIDevice | undefined {
    return this.isRoot ? undefined : (this.parentDevice as PCIDevice | undefined);
  }

  /** pci_bus_num: root number, else the parent bridge's secondary bus register. */
  get number(): number {
    const br = this.bridge;
    return br ? br.config.get8(PCI_SECONDARY_BUS) : this.rootBusNumber;
  }

  /** pcie_has_upstream_port: the bus is the secondary bus of a PCIe root or downstream port. */
  get hasUpstreamPort(): boolean {
    return !!this.bridge?.type.isA('pcie-slot');
  }

  deviceAt(devfn: number): PCIDevice | undefined {
    return this.devfns[devfn];
  }

  isReserved(devfn: number): boolean {
    return (this.slotReservedMask & (1 << (devfn >> 3))) !== 0;
  }

  place(dev: PCIDevice): void {
    this.devfns[dev.devfn] = dev;
    this.present = undefined;
  }

  unplace(dev: PCIDevice): void {
    if (this.devfns[dev.devfn] === dev) this.devfns[dev.devfn] = undefined;
    this.present = undefined;
  }

  /** The devices present, in devfn order (cached: address decoding walks it per access). */
  devices(): readonly PCIDevice[] {
    return (this.present ??= this.devfns.filter((d): d is PCIDevice => d !== undefined));
  }

  private present: PCIDevice[] | undefined;

  /** Devices in devfn order (query-pci, scans). */
  *inDevfnOrder(): Generator<PCIDevice> {
    yield* this.devices();
  }

  /**
   * What a config access at `devfn` reaches: functions > 0 are invisible while
   * function 0 of their slot is absent (multifunction hotplug adds them first).
   */
  visibleAt(devfn: number): PCIDevice | undefined {
    const d = this.devfns[devfn];
    if (!d) return undefined;
    if (PCI_FUNC(devfn) !== 0 && !this.devfns[PCI_DEVFN(devfn >> 3, 0)]) return undefined;
    return d;
  }

  /** Whether function 0 of `slot` announces more functions. */
  isMultifunctionSlot(slot: number): boolean {
    const f0 = this.devfns[PCI_DEVFN(slot, 0)];
    return !!f0 && (f0.config.get8(PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MULTI_FUNCTION) !== 0;
  }

  /**
   * INTx from a device: each bridge swizzles by the slot of the device below it
   * (pci_swizzle_map_irq_fn); the root sink gets the root-bus device and its pin.
   */
  intx(dev: PCIDevice, level: number): void {
    let pin = dev.identity.interruptPin - 1;
    let cur = dev;
    while (!cur.pciBus.isRoot) {
      pin = (pin + cur.slot) % 4;
      cur = cur.pciBus.bridge!;
    }
    cur.pciBus.intxSink?.intx(cur, pin, level);
  }

  override printDevice(dev: Device): string[] {
    return formatQtreePciLines(dev as PCIDevice);
  }
}
