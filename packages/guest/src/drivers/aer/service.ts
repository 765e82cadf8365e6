/**
 * The AER port service on a root port (drivers/pci/pcie/aer.c): aer_probe and
 * aer_enable_rootport, the hard interrupt handler (aer_irq: read and clear Root Error
 * Status, queue it) and the threaded part (aer_isr_one_error: find the functions that
 * logged the error, print them, clear or recover). Interrupts reach it through whatever the
 * port driver set up (MSI-X, MSI or INTx, shared with pciehp and PME).
 */
import { caps as C } from '@plugboard/pci-core';
import type { LinuxGuest } from '../../os/linux.js';
import type { PciDev } from '../../os/pci-dev.js';
import type { Signal, Task, TaskBody } from '../../os/sched.js';
import { boundDriver } from './handlers.js';
import { errorLines, portInfoLine, type AerErrInfo } from './print.js';
import { aerInfo, pcieClearDeviceStatus, pcieDoRecovery } from './recovery.js';
import {
  AER_CORRECTABLE, AER_ERR_STATUS_MASK, AER_FATAL, AER_LOG_TLP_MASKS, AER_NONFATAL, PCI_ERR_CAP, PCI_ERR_CAP_FEP_MASK, PCI_ERR_COR_MASK,
  PCI_ERR_COR_STATUS, PCI_ERR_HEADER_LOG, PCI_ERR_ROOT_COMMAND, PCI_ERR_ROOT_COR_RCV, PCI_ERR_ROOT_ERR_SRC, PCI_ERR_ROOT_FATAL_RCV,
  PCI_ERR_ROOT_MULTI_COR_RCV, PCI_ERR_ROOT_MULTI_UNCOR_RCV, PCI_ERR_ROOT_STATUS, PCI_ERR_ROOT_UNCOR_RCV, PCI_ERR_UNCOR_MASK,
  PCI_ERR_UNCOR_STATUS, PCI_EXP_AER_FLAGS, PCI_EXP_RTCTL, ROOT_PORT_INTR_ON_MESG_MASK, SYSTEM_ERROR_INTR_ON_MESG_MASK,
} from './regs.js';
import { aerCapOf } from './state.js';

/** The port's interrupt as the port driver hands it to a service (PortIrq of portdrv). */
export interface AerIrq {
  /** Linux IRQ number printed by "enabled with IRQ N". */
  irq: number;
  /**
   * request_irq(IRQF_SHARED); the handler returns IRQ_HANDLED as true. Returns free_irq, or
   * undefined when the IRQ cannot be activated (-ENOSPC: no free vector).
   */
  request(name: string, handler: () => boolean): (() => void) | undefined;
}

/** AER_ERROR_SOURCES_MAX: the kfifo of error sources between aer_irq and aer_isr. */
const AER_ERROR_SOURCES_MAX = 128;
/** AER_MAX_MULTI_ERR_DEVICES */
const AER_MAX_MULTI_ERR_DEVICES = 5;
const KEY = 'aer';

interface ErrSource {
  status: number;
  id: number;
}

const isPort = (t: number) => t === C.PCI_EXP_TYPE_ROOT_PORT || t === C.PCI_EXP_TYPE_UPSTREAM || t === C.PCI_EXP_TYPE_DOWNSTREAM;

/** pci_enable_pcie_error_reporting, when AER is native (the function has the capability). */
export function pciEnablePcieErrorReporting(dev: PciDev): void {
  if (aerCapOf(dev)) dev.pcieClearAndSet16(C.PCI_EXP_DEVCTL, 0, PCI_EXP_AER_FLAGS);
}

export class AerService {
  readonly aer: number;
  private readonly fifo: ErrSource[] = [];
  private readonly wake: Signal;
  private readonly task: Task<void>;
  private freeIrq: (() => void) | undefined;
  /** Error sources handled (rpc counters in /sys: aer_rootport_total_err_*). */
  readonly stats = { cor: 0, fatal: 0, nonfatal: 0 };

  constructor(
    readonly guest: LinuxGuest,
    readonly port: PciDev,
    aer: number,
    irq: AerIrq,
  ) {
    this.aer = aer;
    this.wake = guest.sched.signal(`aer:${port.name}`);
    this.freeIrq = irq.request('aerdrv', () => this.irq());
    this.enableRootport();
    aerInfo(guest, port, `enabled with IRQ ${irq.irq}`);
    this.task = guest.sched.spawn(`aer:${port.name}`, this.isrThread());
  }

  /** aer_enable_rootport */
  private enableRootport(): void {
    const p = this.port;
    const a = this.aer;
    pcieClearDeviceStatus(p);
    p.pcieClearAndSet16(PCI_EXP_RTCTL, SYSTEM_ERROR_INTR_ON_MESG_MASK, 0);
    for (const reg of [PCI_ERR_ROOT_STATUS, PCI_ERR_COR_STATUS, PCI_ERR_UNCOR_STATUS]) p.write32(a + reg, p.read32(a + reg));
    // set_downstream_devices_error_reporting: the ports at and below this one.
    for (const d of [p, ...(p.subordinate ? p.subordinate.walk() : [])]) if (d.isPcie && isPort(d.pcieType)) pciEnablePcieErrorReporting(d);
    p.write32(a + PCI_ERR_ROOT_COMMAND, p.read32(a + PCI_ERR_ROOT_COMMAND) | ROOT_PORT_INTR_ON_MESG_MASK);
  }

  /** aer_irq: not ours unless a message arrived; the status is cleared here, decoded later. */
  private irq(): boolean {
    const status = this.port.read32(this.aer + PCI_ERR_ROOT_STATUS);
    if (!(status & AER_ERR_STATUS_MASK)) return false;
    const id = this.port.read32(this.aer + PCI_ERR_ROOT_ERR_SRC);
    this.port.write32(this.aer + PCI_ERR_ROOT_STATUS, status);
    if (this.fifo.length < AER_ERROR_SOURCES_MAX) {
      this.fifo.push({ status, id });
      this.wake.wake();
    }
    return true;
  }

  /** aer_isr: the irq thread drains the fifo. */
  private *isrThread(): TaskBody {
    for (;;) {
      while (this.fifo.length) yield* this.oneError(this.fifo.shift()!);
      yield this.guest.sched.wait(this.wake);
    }
  }

  /** aer_isr_one_error: correctable first, then uncorrectable. */
  private *oneError(src: ErrSource): TaskBody {
    if (src.status & PCI_ERR_ROOT_COR_RCV) {
      this.stats.cor++;
      const info = this.info(src.id & 0xffff, AER_CORRECTABLE, (src.status & PCI_ERR_ROOT_MULTI_COR_RCV) !== 0);
      yield* this.processErrors(info);
    }
    if (src.status & PCI_ERR_ROOT_UNCOR_RCV) {
      const fatal = (src.status & PCI_ERR_ROOT_FATAL_RCV) !== 0;
      if (fatal) this.stats.fatal++;
      else this.stats.nonfatal++;
      const info = this.info(src.id >>> 16, fatal ? AER_FATAL : AER_NONFATAL, (src.status & PCI_ERR_ROOT_MULTI_UNCOR_RCV) !== 0);
      yield* this.processErrors(info);
    }
  }

  private info(id: number, severity: number, multi: boolean): AerErrInfo {
    return { id, severity, multiErrorValid: multi, status: 0, mask: 0, firstError: -1, tlp: undefined, errorDevNum: 0 };
  }

  private *processErrors(info: AerErrInfo): TaskBody {
    this.guest.log(boundDriver(this.port).name ?? 'pci', this.port, portInfoLine(info, this.port.bus.domain));
    const devs = this.findSourceDevices(info);
    info.errorDevNum = devs.length;
    if (!devs.length) return;
    // Report all before handling them: a reset must not lose records (aer_process_err_devices).
    for (const d of devs) if (this.getDeviceErrorInfo(d, info)) for (const l of errorLines(d, info)) this.guest.log(boundDriver(d).name ?? 'pci', d, l);
    for (const d of devs) if (this.getDeviceErrorInfo(d, info)) yield* this.handleErrorSource(d, info);
  }

  /** is_error_source */
  private isErrorSource(dev: PciDev, info: AerErrInfo): boolean {
    if (info.id >> 8 !== 0) {
      if (info.id === ((dev.bus.number << 8) | dev.devfn)) return true;
      if (!info.multiErrorValid) return false;
    }
    if (dev.enableCount === 0 && !(dev.isBridge && dev.isPcie)) return false; // ports are enabled by portdrv
    if (!(dev.pcieRead16(C.PCI_EXP_DEVCTL) & PCI_EXP_AER_FLAGS)) return false;
    const aer = aerCapOf(dev);
    if (!aer) return false;
    const cor = info.severity === AER_CORRECTABLE;
    const status = dev.read32(aer + (cor ? PCI_ERR_COR_STATUS : PCI_ERR_UNCOR_STATUS));
    const mask = dev.read32(aer + (cor ? PCI_ERR_COR_MASK : PCI_ERR_UNCOR_MASK));
    return (status & ~mask) !== 0;
  }

  /** find_source_device: the root port itself, then everything below it. */
  private findSourceDevices(info: AerErrInfo): PciDev[] {
    const found: PciDev[] = [];
    const consider = (d: PciDev): boolean => {
      if (!this.isErrorSource(d, info)) return false;
      if (found.length >= AER_MAX_MULTI_ERR_DEVICES) return true;
      found.push(d);
      return !info.multiErrorValid;
    };
    if (!consider(this.port) && this.port.subordinate) for (const d of this.port.subordinate.walk()) if (consider(d)) break;
    if (!found.length) aerInfo(this.guest, this.port, `can't find device of ID${info.id.toString(16).padStart(4, '0')}`);
    return found;
  }

  /** aer_get_device_error_info: status and mask; first error and header for readable uncorrectable ones. */
  private getDeviceErrorInfo(dev: PciDev, info: AerErrInfo): boolean {
    info.status = 0;
    info.tlp = undefined;
    const aer = aerCapOf(dev);
    if (!aer) return false;
    if (info.severity === AER_CORRECTABLE) {
      info.status = dev.read32(aer + PCI_ERR_COR_STATUS);
      info.mask = dev.read32(aer + PCI_ERR_COR_MASK);
      return (info.status & ~info.mask) !== 0;
    }
    const t = dev.pcieType;
    // A fatal error makes the link of an endpoint or upstream port unreliable: not read.
    if (t === C.PCI_EXP_TYPE_ROOT_PORT || t === C.PCI_EXP_TYPE_DOWNSTREAM || info.severity === AER_NONFATAL) {
      info.status = dev.read32(aer + PCI_ERR_UNCOR_STATUS);
      info.mask = dev.read32(aer + PCI_ERR_UNCOR_MASK);
      if (!(info.status & ~info.mask)) return false;
      info.firstError = dev.read32(aer + PCI_ERR_CAP) & PCI_ERR_CAP_FEP_MASK;
      if (info.status & AER_LOG_TLP_MASKS) info.tlp = [0, 4, 8, 12].map((o) => dev.read32(aer + PCI_ERR_HEADER_LOG + o));
    }
    return true;
  }

  /** handle_error_source: correctable ones are only cleared; the others go to recovery. */
  private *handleErrorSource(dev: PciDev, info: AerErrInfo): TaskBody {
    if (info.severity === AER_CORRECTABLE) {
      const aer = aerCapOf(dev);
      if (aer) dev.write32(aer + PCI_ERR_COR_STATUS, info.status);
      pcieClearDeviceStatus(dev);
      return;
    }
    yield* pcieDoRecovery(this.guest, dev, info.severity === AER_FATAL ? 'frozen' : 'normal');
  }

  /** aer_remove: Root Error Command off, status cleared, interrupt freed. */
  remove(): void {
    const p = this.port;
    p.write32(this.aer + PCI_ERR_ROOT_COMMAND, p.read32(this.aer + PCI_ERR_ROOT_COMMAND) & ~ROOT_PORT_INTR_ON_MESG_MASK);
    p.write32(this.aer + PCI_ERR_ROOT_STATUS, p.read32(this.aer + PCI_ERR_ROOT_STATUS));
    this.freeIrq?.();
    this.freeIrq = undefined;
    this.task.cancel();
    p.driverData.delete(KEY);
  }
}

/** aer_probe for a root port (other port types have no AER service). */
export function aerServiceProbe(guest: LinuxGuest, port: PciDev, aer: number, irq: AerIrq): AerService | undefined {
  if (!port.isPcie || port.pcieType !== C.PCI_EXP_TYPE_ROOT_PORT || !aer) return undefined;
  const existing = port.driverData.get(KEY) as AerService | undefined;
  if (existing) return existing;
  // aer_probe: request_irq first; without it the service's probe fails (drivers/pci/pcie/aer.c).
  let pending: (() => boolean) | undefined;
  const free = irq.request('aerdrv', () => pending?.() ?? false);
  if (!free) {
    aerInfo(guest, port, `request AER IRQ ${irq.irq} failed`);
    guest.printk(`aer: probe of ${port.name}:pcie002 failed with error -28`);
    return undefined;
  }
  const s = new AerService(guest, port, aer, { irq: irq.irq, request: (_name, handler) => ((pending = handler), free) });
  port.driverData.set(KEY, s);
  return s;
}

export function aerServiceOf(port: PciDev): AerService | undefined {
  return port.driverData.get(KEY) as AerService | undefined;
}
