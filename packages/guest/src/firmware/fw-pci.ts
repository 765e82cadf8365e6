/**
 * Config-space access the way SeaBIOS does it (src/hw/pci.c): a 16-bit bdf
 * (bus << 8 | devfn), the device walk `pci_next` and `pci_find_capability`. Every access
 * goes through the GuestView, so it is traced like a real firmware's cycles.
 */
import { regs as R, type Bdf, type GuestView } from '@plugboard/pci-core';

export type Size = 1 | 2 | 4;

/** One function as SeaBIOS caches it (src/hw/pcidevice.h struct pci_device). */
export interface FwDevice {
  bdf: number;
  /** The bridge whose secondary bus this function sits on; undefined on a root bus. */
  parent: FwDevice | undefined;
  rootbus: number;
  vendor: number;
  device: number;
  /** Class word (base << 8 | sub). */
  class: number;
  progIf: number;
  revision: number;
  headerType: number;
  secondaryBus: number;
}

export const bdfBus = (bdf: number): number => (bdf >> 8) & 0xff;
export const bdfDevfn = (bdf: number): number => bdf & 0xff;
export const bdfSlot = (bdf: number): number => (bdf >> 3) & 0x1f;
export const bdfFn = (bdf: number): number => bdf & 7;

export const PCI_CLASS_BRIDGE_PCI = 0x0604;
export const PCI_CLASS_STORAGE_IDE = 0x0101;
export const PCI_CLASS_DISPLAY_VGA = 0x0300;
export const PCI_CLASS_SERIAL_USB = 0x0c03;
export const PCI_HEADER_TYPE_CARDBUS = 0x02;

/** Config accessors bound to one PCI domain (host bridge) of the view. */
export class FwPci {
  constructor(
    readonly view: GuestView,
    readonly domain = 0,
  ) {}

  private at(bdf: number): Bdf {
    return { domain: this.domain, bus: bdfBus(bdf), devfn: bdfDevfn(bdf) };
  }

  read(bdf: number, off: number, size: Size): number {
    return this.view.configRead(this.at(bdf), off, size);
  }

  write(bdf: number, off: number, val: number, size: Size): void {
    const mask = size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    // C truncates to the access width; keep the trace showing what the bus carries.
    this.view.configWrite(this.at(bdf), off, (size === 4 ? val >>> 0 : val & mask) >>> 0, size);
  }

  readb = (bdf: number, off: number): number => this.read(bdf, off, 1);
  readw = (bdf: number, off: number): number => this.read(bdf, off, 2);
  readl = (bdf: number, off: number): number => this.read(bdf, off, 4);
  writeb = (bdf: number, off: number, v: number): void => this.write(bdf, off, v, 1);
  writew = (bdf: number, off: number, v: number): void => this.write(bdf, off, v, 2);
  writel = (bdf: number, off: number, v: number): void => this.write(bdf, off, v, 4);

  /** pci_config_maskw: read-modify-write of a 16-bit register. */
  maskw(bdf: number, off: number, clear: number, set: number): void {
    this.writew(bdf, off, (this.readw(bdf, off) & ~clear) | set);
  }

  /** pci_next: the next present function on `bus` after `bdf`, or -1 (src/hw/pci.c). */
  next(bdf: number, bus: number): number {
    // A function 0 without the multi-function bit ends its slot.
    if (bdfFn(bdf) === 0 && (this.readb(bdf, R.PCI_HEADER_TYPE) & R.PCI_HEADER_TYPE_MULTI_FUNCTION) === 0) bdf += 8;
    else bdf += 1;
    for (;;) {
      if (bdfBus(bdf) !== bus) return -1;
      const v = this.readw(bdf, R.PCI_VENDOR_ID);
      if (v !== 0x0000 && v !== 0xffff) return bdf;
      bdf += bdfFn(bdf) === 0 ? 8 : 1;
    }
  }

  /** foreachbdf(BDF, BUS). */
  *functions(bus: number): Generator<number> {
    // pci_next starts from the bdf before the bus's first one (fn 7 of the previous bus).
    for (let bdf = this.next((bus << 8) - 1, bus); bdf >= 0; bdf = this.next(bdf, bus)) yield bdf;
  }

  /** pci_find_capability: first (`from` = 0) or next capability with `id`, 0 if none. */
  findCapability(bdf: number, id: number, from = 0): number {
    if (!(this.readw(bdf, R.PCI_STATUS) & R.PCI_STATUS_CAP_LIST)) return 0;
    let cap = from === 0 ? this.readb(bdf, R.PCI_CAPABILITY_LIST) : this.readb(bdf, from + R.PCI_CAP_LIST_NEXT);
    for (let i = 0; cap && i <= 0xff; i++) {
      if (this.readb(bdf, cap + R.PCI_CAP_LIST_ID) === id) return cap;
      cap = this.readb(bdf, cap + R.PCI_CAP_LIST_NEXT);
    }
    return 0;
  }
}

/** "%pP" of SeaBIOS's debug output: bus:slot.fn in hex. */
export function fmtBdf(bdf: number): string {
  const h = (v: number, w: number) => v.toString(16).padStart(w, '0');
  return `${h(bdfBus(bdf), 2)}:${h(bdfSlot(bdf), 2)}.${h(bdfFn(bdf), 1)}`;
}
