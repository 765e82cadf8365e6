/**
 * The AER state of one PCI function (hw/pci/pcie_aer.c): the capability's write masks as
 * QEMU 7.2 builds them, the queue of errors waiting for the header log (multiple header
 * recording, `aer_log_max`), what a config write does to the first-error pointer and the
 * log, and a root port's Root Error Command/Status interrupt rules. Everything else lives
 * in config space, as in QEMU.
 *
 * Attached to every PCI function through the plugin's type extension; functions without the
 * capability keep an inert model (injection still reaches them: they only lack AER).
 */
import { PCIDevice, caps, regs, type PciFunctionModel } from '@plugboard/pci-core';
import {
  PCIE_AER_ERR_HEADER_VALID, PCIE_AER_ERR_TLP_PREFIX_PRESENT, PCIE_AER_LOG_MAX_DEFAULT, PCI_ERR_CAP, PCI_ERR_CAP_ECRC_CHKE,
  PCI_ERR_CAP_ECRC_GENE, PCI_ERR_CAP_FEP_MASK, PCI_ERR_CAP_MHRC, PCI_ERR_CAP_MHRE, PCI_ERR_CAP_TLP, PCI_ERR_COR_STATUS,
  PCI_ERR_COR_SUPPORTED, PCI_ERR_COR_MASK, PCI_ERR_HEADER_LOG, PCI_ERR_HEADER_LOG_SIZE, PCI_ERR_ROOT_CMD_COR_EN,
  PCI_ERR_ROOT_CMD_EN_MASK, PCI_ERR_ROOT_CMD_FATAL_EN, PCI_ERR_ROOT_CMD_NONFATAL_EN, PCI_ERR_ROOT_COMMAND, PCI_ERR_ROOT_COR_RCV,
  PCI_ERR_ROOT_FATAL_RCV, PCI_ERR_ROOT_IRQ, PCI_ERR_ROOT_IRQ_SHIFT, PCI_ERR_ROOT_NONFATAL_RCV, PCI_ERR_ROOT_STATUS,
  PCI_ERR_ROOT_STATUS_REPORT_MASK, PCI_ERR_TLP_PREFIX_LOG, PCI_ERR_TLP_PREFIX_LOG_SIZE, PCI_ERR_UNC_SUPPORTED,
  PCI_ERR_UNCOR_MASK, PCI_ERR_UNCOR_SEVER, PCI_ERR_UNCOR_STATUS, PCI_EXP_DEVCAP2_EETLPP, PCI_SEC_STATUS_RCV_SYSTEM_ERROR,
} from './regs.js';

/** One error as the injector describes it (PCIEAERErr). */
export interface AerError {
  /** Exactly one status bit. */
  status: number;
  /** Requester ID of the function that detected it (bus << 8 | devfn). */
  sourceId: number;
  flags: number;
  header: readonly number[];
  prefix: readonly number[];
}

const PROP_AER_LOG_MAX = 'aer_log_max';
const PROP_VIRTIO_AER = 'aer';
/** virtio_pci_realize puts the capability at the start of extended config space. */
const VIRTIO_AER_OFFSET = regs.PCI_CONFIG_SPACE_SIZE;
/** The port models whose write_config calls pcie_aer_write_config (pcie_root_port, xio3130_*). */
const TYPE_PCIE_PORT = 'pcie-port';
const TYPE_VIRTIO_PCI = 'virtio-pci';
/** ioh3420_aer_vector: with two MSI vectors allocated AER uses the second. */
const TYPE_IOH3420 = 'ioh3420';
const IOH3420_AER_VECTOR_WITH_TWO = 1;
/**
 * Functions QEMU 7.2 builds without pcie_cap_deverr_init (observed read-only error-reporting
 * enables and non-W1C error status): nothing they detect is ever reported by DEVCTL.
 */
const TYPES_WITHOUT_DEVERR = ['e1000e', 'nvme'];
const DEVCTL_ERROR_ENABLES = 0x000f;
const DEVSTA_ERRORS = 0x000f;
/** pcie_cap_init: every version 2 capability advertises Extended Fmt Field and End-End TLP Prefix. */
const PCI_EXP_DEVCAP2_EFF = 0x00100000;
const PCI_EXP_FLAGS_VERS = 0x000f;

const models = new WeakMap<PCIDevice, PcieAer>();

/** The AER model of a function (created on demand for functions built without the plugin). */
export function pcieAerOf(dev: PCIDevice): PcieAer {
  return models.get(dev) ?? new PcieAer(dev);
}

/** pcie_aer_status_to_cmd: the Root Error Command enables a Root Error Status asks for. */
export function rootStatusToCommand(status: number): number {
  let cmd = 0;
  if (status & PCI_ERR_ROOT_COR_RCV) cmd |= PCI_ERR_ROOT_CMD_COR_EN;
  if (status & PCI_ERR_ROOT_NONFATAL_RCV) cmd |= PCI_ERR_ROOT_CMD_NONFATAL_EN;
  if (status & PCI_ERR_ROOT_FATAL_RCV) cmd |= PCI_ERR_ROOT_CMD_FATAL_EN;
  return cmd;
}

const ctz32 = (v: number): number => 31 - Math.clz32(v & -v);

export class PcieAer implements PciFunctionModel {
  /** Offsets of the AER and PCI Express capabilities, 0 when absent. */
  aer = 0;
  exp = 0;
  /** Headers that can wait while the first error is pending (0: no multiple header recording). */
  logMax = 0;
  /** Errors waiting for the header log (QEMU's PCIEAERLog). */
  readonly log: AerError[] = [];

  constructor(readonly dev: PCIDevice) {
    models.set(dev, this);
    if (dev.config) this.locate();
  }

  private locate(): void {
    this.exp = this.dev.caps.get(regs.PCI_CAP_ID_EXP) ?? 0;
    this.aer = this.dev.extCaps.get(regs.PCI_EXT_CAP_ID_ERR) ?? 0;
    const t = this.dev.type;
    this.logMax = t.property(PROP_AER_LOG_MAX) ? (this.dev.prop<number>(PROP_AER_LOG_MAX) ?? PCIE_AER_LOG_MAX_DEFAULT) : 0;
  }

  get isRootPort(): boolean {
    return this.exp !== 0 && caps.PCI_EXP_TYPE_ROOT_PORT === (this.dev.config.get16(this.exp + caps.PCI_EXP_FLAGS) & 0x00f0) >> 4;
  }

  private get c() {
    return this.dev.config;
  }

  // ---- PciFunctionModel ----------------------------------------------------------------------

  /** pcie_aer_init / pcie_aer_root_init with the masks observed on 7.2 (the catalog's aerInit differs). */
  realize(dev: PCIDevice): void {
    const c = dev.config;
    // pci_is_express, not the bus: a PCIe function on a conventional bus keeps its capabilities.
    const express = !!dev.identity.express && dev.caps.has(regs.PCI_CAP_ID_EXP);
    // pci_init_wmask: `command_serr_enable` (default on) makes SERR# writable on every function
    // (observed on e1000, e1000e, virtio, nvme; pci-core has it on bridges only).
    c.setMask16(c.wmask, regs.PCI_COMMAND, c.get16Mask(regs.PCI_COMMAND) | regs.PCI_COMMAND_SERR);
    if (express) this.fixPcieCapability(dev);
    // virtio_pci_realize: `aer=on` adds the capability to a PCIe-mode proxy.
    const wantsAer = dev.type.isA(TYPE_VIRTIO_PCI) && !!dev.type.property(PROP_VIRTIO_AER) && [true, 'on'].includes(dev.prop<boolean | string>(PROP_VIRTIO_AER));
    if (express && wantsAer && !dev.extCaps.has(regs.PCI_EXT_CAP_ID_ERR)) caps.aerInit(dev, VIRTIO_AER_OFFSET, { rootPort: false });
    this.locate();
    const a = this.aer;
    if (!a) return;
    c.setMask32(c.w1cmask, a + PCI_ERR_UNCOR_STATUS, PCI_ERR_UNC_SUPPORTED);
    c.setMask32(c.wmask, a + PCI_ERR_UNCOR_MASK, 0); // observed read-only in 7.2
    c.setMask32(c.wmask, a + PCI_ERR_UNCOR_SEVER, PCI_ERR_UNC_SUPPORTED);
    c.setMask32(c.w1cmask, a + PCI_ERR_COR_STATUS, PCI_ERR_COR_SUPPORTED);
    c.setMask32(c.wmask, a + PCI_ERR_COR_MASK, PCI_ERR_COR_SUPPORTED);
    let capWmask = PCI_ERR_CAP_ECRC_GENE | PCI_ERR_CAP_ECRC_CHKE;
    if (this.logMax > 0) {
      c.set32(a + PCI_ERR_CAP, c.get32(a + PCI_ERR_CAP) | PCI_ERR_CAP_MHRC);
      capWmask |= PCI_ERR_CAP_MHRE;
    }
    c.setMask32(c.wmask, a + PCI_ERR_CAP, capWmask);
    if (this.isRootPort) {
      c.setMask32(c.wmask, a + PCI_ERR_ROOT_COMMAND, PCI_ERR_ROOT_CMD_EN_MASK);
      c.setMask32(c.w1cmask, a + PCI_ERR_ROOT_STATUS, PCI_ERR_ROOT_STATUS_REPORT_MASK);
      this.updateVector();
    }
  }

  /** The error-related parts of the PCI Express capability as QEMU 7.2 builds them (observed). */
  private fixPcieCapability(dev: PCIDevice): void {
    const c = dev.config;
    const exp = dev.caps.get(regs.PCI_CAP_ID_EXP)!;
    const t = dev.type;
    if (TYPES_WITHOUT_DEVERR.some((n) => t.isA(n))) {
      c.setMask16(c.wmask, exp + caps.PCI_EXP_DEVCTL, c.get16Mask(exp + caps.PCI_EXP_DEVCTL) & ~DEVCTL_ERROR_ENABLES);
      const w1c = c.w1cmask[exp + caps.PCI_EXP_DEVSTA]! | (c.w1cmask[exp + caps.PCI_EXP_DEVSTA + 1]! << 8);
      c.setMask16(c.w1cmask, exp + caps.PCI_EXP_DEVSTA, w1c & ~DEVSTA_ERRORS);
    }
    // A version 1 capability (e1000e) has no Device Capabilities 2.
    if ((c.get16(exp + caps.PCI_EXP_FLAGS) & PCI_EXP_FLAGS_VERS) >= 2) {
      c.set32(exp + caps.PCI_EXP_DEVCAP2, (c.get32(exp + caps.PCI_EXP_DEVCAP2) | PCI_EXP_DEVCAP2_EFF | PCI_EXP_DEVCAP2_EETLPP) >>> 0);
    }
    // Observed on every PCIe port: "received system error" in Secondary Status stays set
    // when the guest writes 1 to it (the error path sets it, nothing clears it).
    if (dev.isBridge) c.w1cmask[regs.PCI_SEC_STATUS + 1]! &= ~(PCI_SEC_STATUS_RCV_SYSTEM_ERROR >> 8);
  }

  /** rp_reset_hold: Root Error Command cleared, message number re-evaluated. Logs and status stay. */
  reset(): void {
    if (!this.aer || !this.isRootPort) return;
    this.c.set32(this.aer + PCI_ERR_ROOT_COMMAND, 0);
    this.updateVector();
  }

  /** rp_write_config / xio3130_*_write_config, in QEMU's order after the default write. */
  afterConfigWrite(dev: PCIDevice, _off: number, _value: number, _len: number, before: Uint8Array): void {
    if (!this.aer) return;
    const root = this.isRootPort;
    if (root) this.updateVector();
    if (dev.type.isA(TYPE_PCIE_PORT)) this.writeConfig();
    if (root) this.rootWriteConfig(new DataView(before.buffer, before.byteOffset).getUint32(this.aer + PCI_ERR_ROOT_COMMAND, true));
  }

  // ---- root ports -------------------------------------------------------------------------

  /** rp_aer_vector_update: the Advanced Error Interrupt Message Number (Root Error Status 31:27). */
  updateVector(): void {
    let vector = 0;
    if (this.dev.type.isA(TYPE_IOH3420)) {
      const msi = this.dev.caps.get(regs.PCI_CAP_ID_MSI);
      const allocated = msi === undefined ? 1 : 1 << ((this.c.get16(msi + regs.PCI_MSI_FLAGS) & regs.PCI_MSI_FLAGS_QSIZE) >> 4);
      if (allocated === 2) vector = IOH3420_AER_VECTOR_WITH_TWO;
    }
    const off = this.aer + PCI_ERR_ROOT_STATUS;
    this.c.set32(off, ((this.c.get32(off) & ~PCI_ERR_ROOT_IRQ) | (vector << PCI_ERR_ROOT_IRQ_SHIFT)) >>> 0);
  }

  get rootVector(): number {
    return this.c.get32(this.aer + PCI_ERR_ROOT_STATUS) >>> PCI_ERR_ROOT_IRQ_SHIFT;
  }

  /** pcie_aer_root_notify: MSI-X, else MSI, with the message number; else assert INTx. */
  rootNotify(): void {
    const d = this.dev;
    if (d.msixEnabled()) d.msixNotify(this.rootVector);
    else if (d.msiEnabled()) d.msiNotify(this.rootVector);
    else d.setIrq(1);
  }

  /**
   * pcie_aer_root_write_config (PCIe r2.0 §6.2.4.1.2): with INTx the line follows Root Error
   * Command & Root Error Status after every write; with MSI/MSI-X a message goes out when an
   * enable bit turns a pending status into a request.
   */
  private rootWriteConfig(rootCmdPrev: number): void {
    const enabled = rootStatusToCommand(this.c.get32(this.aer + PCI_ERR_ROOT_STATUS));
    const cmd = this.c.get32(this.aer + PCI_ERR_ROOT_COMMAND);
    if (!this.dev.msixEnabled() && !this.dev.msiEnabled()) {
      this.dev.setIrq(cmd & enabled ? 1 : 0);
      return;
    }
    if (rootCmdPrev & enabled || !(cmd & enabled)) return;
    this.rootNotify();
  }

  // ---- first error pointer and header log -------------------------------------------------

  private get errcap(): number {
    return this.c.get32(this.aer + PCI_ERR_CAP);
  }

  /** pcie_aer_write_config: clearing the first error loads the next queued one. */
  writeConfig(): void {
    const errcap = this.errcap;
    const firstError = (1 << (errcap & PCI_ERR_CAP_FEP_MASK)) >>> 0;
    const uncor = this.c.get32(this.aer + PCI_ERR_UNCOR_STATUS);
    if (!(uncor & firstError)) this.clearError();
    // MHRE with the first error still set: queued errors stay set even if the guest wrote 1s.
    else if (errcap & PCI_ERR_CAP_MHRE) this.updateUncorStatus();
    // The log only makes sense with MHRE, which may just have been cleared.
    else this.log.length = 0;
  }

  /** pcie_aer_update_uncor_status: every queued error keeps its status bit set (W1CS emulation). */
  private updateUncorStatus(): void {
    const off = this.aer + PCI_ERR_UNCOR_STATUS;
    for (const e of this.log) this.c.set32(off, (this.c.get32(off) | e.status) >>> 0);
  }

  /** pcie_aer_clear_error */
  private clearError(): void {
    if (!(this.errcap & PCI_ERR_CAP_MHRE) || this.log.length === 0) {
      this.clearLog();
      return;
    }
    this.updateUncorStatus();
    this.updateLog(this.log.shift()!);
  }

  /** pcie_aer_clear_log */
  private clearLog(): void {
    const off = this.aer + PCI_ERR_CAP;
    this.c.set32(off, (this.c.get32(off) & ~(PCI_ERR_CAP_FEP_MASK | PCI_ERR_CAP_TLP)) >>> 0);
    this.c.data.fill(0, this.aer + PCI_ERR_HEADER_LOG, this.aer + PCI_ERR_HEADER_LOG + PCI_ERR_HEADER_LOG_SIZE);
    this.c.data.fill(0, this.aer + PCI_ERR_TLP_PREFIX_LOG, this.aer + PCI_ERR_TLP_PREFIX_LOG + PCI_ERR_TLP_PREFIX_LOG_SIZE);
  }

  /** Four dwords big-endian (stl_be_p), or zeros. */
  private setLogWords(off: number, words: readonly number[] | undefined, size: number): void {
    for (let i = 0; i < size; i++) this.c.data[off + i] = words ? ((words[i >> 2] ?? 0) >>> (24 - 8 * (i & 3))) & 0xff : 0;
  }

  /** pcie_aer_update_log: first error pointer, header log, TLP prefix log. */
  private updateLog(err: AerError): void {
    let errcap = this.errcap & ~(PCI_ERR_CAP_FEP_MASK | PCI_ERR_CAP_TLP);
    errcap |= ctz32(err.status);
    const valid = (err.flags & PCIE_AER_ERR_HEADER_VALID) !== 0;
    this.setLogWords(this.aer + PCI_ERR_HEADER_LOG, valid ? err.header : undefined, PCI_ERR_HEADER_LOG_SIZE);
    // QEMU reads "DEVCAP2" at its v2 offset even in a v1 capability (e1000e: inside AER).
    const prefixes = (err.flags & PCIE_AER_ERR_TLP_PREFIX_PRESENT) !== 0 && (this.c.get32(this.exp + caps.PCI_EXP_DEVCAP2) & PCI_EXP_DEVCAP2_EETLPP) !== 0;
    this.setLogWords(this.aer + PCI_ERR_TLP_PREFIX_LOG, prefixes ? err.prefix : undefined, PCI_ERR_TLP_PREFIX_LOG_SIZE);
    if (prefixes) errcap |= PCI_ERR_CAP_TLP;
    this.c.set32(this.aer + PCI_ERR_CAP, errcap >>> 0);
  }

  /**
   * pcie_aer_record_error: the first error goes to the log registers; with MHRE and the first
   * error still pending later ones queue. Returns false when the queue overflowed.
   */
  recordError(err: AerError): boolean {
    const errcap = this.errcap;
    const fep = errcap & PCI_ERR_CAP_FEP_MASK;
    if (errcap & PCI_ERR_CAP_MHRE && this.c.get32(this.aer + PCI_ERR_UNCOR_STATUS) & (1 << fep)) {
      if (this.log.length >= this.logMax) return false;
      this.log.push(err);
      return true;
    }
    this.updateLog(err);
    return true;
  }
}
