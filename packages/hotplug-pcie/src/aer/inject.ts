/**
 * Error injection as QEMU 7.2 performs it (hw/pci/pcie_aer.c pcie_aer_inject_error and the
 * message path of PCIe r2.0 §6.2.5/§6.2.6, figures 6-2 and 6-3): the detecting function's
 * Device Status and AER registers, then an error message that each port on the way up may
 * stop, up to the root port's Root Error Status and its interrupt.
 *
 * QEMU 7.2's "all devices" step (pcie_aer_msg_alldev) lets a message through only when it
 * is uncorrectable AND the function has SERR# enabled AND Device Control enables that
 * severity; correctable messages never leave the function. QEMU 8.0 changed this rule;
 * the registers in fixtures/qemu-7.2-aer show 7.2's.
 */
import { caps, regs, type PCIDevice } from '@plugboard/pci-core';
import { pcieAerOf, rootStatusToCommand, type AerError } from './model.js';
import {
  PCIE_AER_ERR_IS_CORRECTABLE, PCIE_AER_ERR_MAYBE_ADVISORY, PCI_ERR_COR_ADV_NFAT, PCI_ERR_COR_LOG_OVER, PCI_ERR_COR_MASK,
  PCI_ERR_COR_STATUS, PCI_ERR_COR_SUPPORTED, PCI_ERR_ROOT_CMD_COR_EN, PCI_ERR_ROOT_CMD_FATAL_EN, PCI_ERR_ROOT_CMD_NONFATAL_EN,
  PCI_ERR_ROOT_COMMAND, PCI_ERR_ROOT_COR_RCV, PCI_ERR_ROOT_ERR_SRC, PCI_ERR_ROOT_FATAL_RCV, PCI_ERR_ROOT_FIRST_FATAL,
  PCI_ERR_ROOT_MULTI_COR_RCV, PCI_ERR_ROOT_MULTI_UNCOR_RCV, PCI_ERR_ROOT_NONFATAL_RCV, PCI_ERR_ROOT_STATUS, PCI_ERR_ROOT_UNCOR_RCV,
  PCI_ERR_SRC_COR_OFFS, PCI_ERR_SRC_UNCOR_OFFS, PCI_ERR_UNC_SUPPORTED, PCI_ERR_UNC_UNSUP, PCI_ERR_UNCOR_MASK, PCI_ERR_UNCOR_SEVER,
  PCI_ERR_UNCOR_STATUS, PCI_EXP_DEVCTL_CERE, PCI_EXP_DEVCTL_FERE, PCI_EXP_DEVCTL_NFERE, PCI_EXP_DEVCTL_URRE, PCI_EXP_DEVSTA_CED,
  PCI_EXP_DEVSTA_FED, PCI_EXP_DEVSTA_NFED, PCI_EXP_DEVSTA_URD, PCI_SEC_STATUS_RCV_SYSTEM_ERROR, uncorDefaultSeverity,
} from './regs.js';

export const EINVAL = 22;
export const ENOSYS = 38;

/**
 * pci_is_express: a PCIe function (4 KiB config space, PCI Express capability), on whatever
 * bus it sits: QEMU 7.2 injects into a pcie-root-port or e1000e on pc's pci.0 too (observed),
 * where the guest cannot reach the AER registers through CF8/CFC.
 */
export function isPcieFunction(dev: PCIDevice): boolean {
  return !!dev.identity.express && dev.caps.has(regs.PCI_CAP_ID_EXP);
}

/** pci_requester_id for a function on a PCIe bus: its bus number and devfn. */
export function requesterId(dev: PCIDevice): number {
  return ((dev.pciBus.number << 8) | dev.devfn) >>> 0;
}

const isPort = (type: number) => type === caps.PCI_EXP_TYPE_ROOT_PORT || type === caps.PCI_EXP_TYPE_UPSTREAM || type === caps.PCI_EXP_TYPE_DOWNSTREAM;
const isUncor = (severity: number) => severity === PCI_ERR_ROOT_CMD_NONFATAL_EN || severity === PCI_ERR_ROOT_CMD_FATAL_EN;
const orMask32 = (dev: PCIDevice, off: number, bits: number) => dev.config.set32(off, (dev.config.get32(off) | bits) >>> 0);
const orMask16 = (dev: PCIDevice, off: number, bits: number) => dev.config.set16(off, dev.config.get16(off) | bits);

function pcieType(dev: PCIDevice): number {
  return (dev.config.get16(dev.caps.get(regs.PCI_CAP_ID_EXP)! + caps.PCI_EXP_FLAGS) & 0x00f0) >> 4;
}

/** pcie_aer_msg_vbridge: the bridge part of figure 6-3 (SERR# forwarding). */
function msgVbridge(dev: PCIDevice, severity: number): boolean {
  if (isUncor(severity)) orMask16(dev, regs.PCI_SEC_STATUS, PCI_SEC_STATUS_RCV_SYSTEM_ERROR);
  return (dev.config.get16(regs.PCI_BRIDGE_CONTROL) & regs.PCI_BRIDGE_CTL_SERR) !== 0;
}

/** pcie_aer_msg_alldev as 7.2 has it: uncorrectable, SERR# and the DEVCTL enable, or nothing. */
function msgAlldev(dev: PCIDevice, severity: number): boolean {
  if (!(isUncor(severity) && dev.config.get16(regs.PCI_COMMAND) & regs.PCI_COMMAND_SERR)) return false;
  orMask16(dev, regs.PCI_STATUS, regs.PCI_STATUS_SIG_SYSTEM_ERROR);
  const exp = dev.caps.get(regs.PCI_CAP_ID_EXP)!;
  return (severity & dev.config.get16(exp + caps.PCI_EXP_DEVCTL)) !== 0;
}

/** pcie_aer_msg_root_port: Root Error Status, Error Source Identification, the interrupt. */
function msgRootPort(dev: PCIDevice, severity: number, sourceId: number): void {
  const model = pcieAerOf(dev);
  const a = model.aer;
  if (!a) return;
  const c = dev.config;
  const rootCmd = c.get32(a + PCI_ERR_ROOT_COMMAND);
  const prev = c.get32(a + PCI_ERR_ROOT_STATUS);
  let status = prev;
  // The System Error a set SERR# would signal is platform specific; QEMU drops it too.
  if (severity === PCI_ERR_ROOT_CMD_COR_EN) {
    if (status & PCI_ERR_ROOT_COR_RCV) status |= PCI_ERR_ROOT_MULTI_COR_RCV;
    else c.set16(a + PCI_ERR_ROOT_ERR_SRC + PCI_ERR_SRC_COR_OFFS, sourceId);
    status |= PCI_ERR_ROOT_COR_RCV;
  } else if (severity === PCI_ERR_ROOT_CMD_NONFATAL_EN) {
    status |= PCI_ERR_ROOT_NONFATAL_RCV;
  } else {
    if (!(status & PCI_ERR_ROOT_UNCOR_RCV)) status |= PCI_ERR_ROOT_FIRST_FATAL;
    status |= PCI_ERR_ROOT_FATAL_RCV;
  }
  if (isUncor(severity)) {
    if (status & PCI_ERR_ROOT_UNCOR_RCV) status |= PCI_ERR_ROOT_MULTI_UNCOR_RCV;
    else c.set16(a + PCI_ERR_ROOT_ERR_SRC + PCI_ERR_SRC_UNCOR_OFFS, sourceId);
    status |= PCI_ERR_ROOT_UNCOR_RCV;
  }
  c.set32(a + PCI_ERR_ROOT_STATUS, status >>> 0);
  // §6.2.4.1.2: only a new, enabled request interrupts.
  if (!(rootCmd & severity) || rootStatusToCommand(prev) & rootCmd) return;
  model.rootNotify();
}

/** pcie_aer_msg: walk up from the detecting function until a port stops the message. */
function sendMessage(start: PCIDevice, severity: number, sourceId: number): void {
  for (let dev: PCIDevice | undefined = start; dev; dev = dev.pciBus.bridge) {
    if (!isPcieFunction(dev)) return; // a conventional bridge on the way: dropped, as in QEMU
    const type = pcieType(dev);
    if (isPort(type) && !msgVbridge(dev, severity)) return;
    if (!msgAlldev(dev, severity)) return;
    if (type === caps.PCI_EXP_TYPE_ROOT_PORT) {
      msgRootPort(dev, severity, sourceId);
      return; // no root complex event collector in QEMU
    }
  }
}

interface Injection {
  dev: PCIDevice;
  exp: number;
  aer: number;
  err: AerError;
  devctl: number;
  devsta: number;
  errorStatus: number;
  unsupportedRequest: boolean;
  logOverflow: boolean;
  severity: number;
}

/** pcie_aer_inject_cor_error (also the advisory non-fatal case). Returns whether to send a message. */
function injectCor(inj: Injection, uncorStatus: number, advisory: boolean): boolean {
  const { dev, aer } = inj;
  inj.devsta |= PCI_EXP_DEVSTA_CED;
  if (inj.unsupportedRequest) inj.devsta |= PCI_EXP_DEVSTA_URD;
  dev.config.set16(inj.exp + caps.PCI_EXP_DEVSTA, inj.devsta);
  if (aer) {
    orMask32(dev, aer + PCI_ERR_COR_STATUS, inj.errorStatus);
    if (dev.config.get32(aer + PCI_ERR_COR_MASK) & inj.errorStatus) return false;
    if (advisory) {
      if (!(dev.config.get32(aer + PCI_ERR_UNCOR_MASK) & uncorStatus)) inj.logOverflow = !pcieAerOf(dev).recordError(inj.err);
      orMask32(dev, aer + PCI_ERR_UNCOR_STATUS, uncorStatus);
    }
  }
  if (inj.unsupportedRequest && !(inj.devctl & PCI_EXP_DEVCTL_URRE)) return false;
  if (!(inj.devctl & PCI_EXP_DEVCTL_CERE)) return false;
  inj.severity = PCI_ERR_ROOT_CMD_COR_EN;
  return true;
}

/** pcie_aer_inject_uncor_error */
function injectUncor(inj: Injection, fatal: boolean): boolean {
  const { dev, aer } = inj;
  inj.devsta |= fatal ? PCI_EXP_DEVSTA_FED : PCI_EXP_DEVSTA_NFED;
  if (inj.unsupportedRequest) inj.devsta |= PCI_EXP_DEVSTA_URD;
  // QEMU stores the 16-bit status with pci_set_long: the low half of Link Capabilities
  // becomes 0 (observed: e1000e LNKCAP 0x0411 -> 0 after any uncorrectable injection).
  dev.config.set32(inj.exp + caps.PCI_EXP_DEVSTA, inj.devsta);
  if (aer) {
    if (dev.config.get32(aer + PCI_ERR_UNCOR_MASK) & inj.errorStatus) {
      orMask32(dev, aer + PCI_ERR_UNCOR_STATUS, inj.errorStatus);
      return false;
    }
    inj.logOverflow = !pcieAerOf(dev).recordError(inj.err);
    orMask32(dev, aer + PCI_ERR_UNCOR_STATUS, inj.errorStatus);
  }
  const serr = (dev.config.get16(regs.PCI_COMMAND) & regs.PCI_COMMAND_SERR) !== 0;
  if (inj.unsupportedRequest && !(inj.devctl & PCI_EXP_DEVCTL_URRE) && !serr) return false;
  if (!(serr || inj.devctl & (fatal ? PCI_EXP_DEVCTL_FERE : PCI_EXP_DEVCTL_NFERE))) return false;
  inj.severity = fatal ? PCI_ERR_ROOT_CMD_FATAL_EN : PCI_ERR_ROOT_CMD_NONFATAL_EN;
  return true;
}

/**
 * pcie_aer_inject_error: 0, or a negative errno (-ENOSYS: not PCIe; -EINVAL: the status is
 * not exactly one supported bit). A header-log overflow adds a correctable HL_OVERFLOW
 * (source ID 0, as QEMU builds it).
 */
export function injectAerError(dev: PCIDevice, err: AerError): number {
  if (!isPcieFunction(dev)) return -ENOSYS;
  const correctable = (err.flags & PCIE_AER_ERR_IS_CORRECTABLE) !== 0;
  const errorStatus = (err.status & (correctable ? PCI_ERR_COR_SUPPORTED : PCI_ERR_UNC_SUPPORTED)) >>> 0;
  if (!errorStatus || errorStatus & (errorStatus - 1)) return -EINVAL;
  const exp = dev.caps.get(regs.PCI_CAP_ID_EXP)!;
  const aer = pcieAerOf(dev).aer;
  const inj: Injection = {
    dev, exp, aer, err, errorStatus,
    // Without AER QEMU starts from zero instead of reading Device Control/Status.
    devctl: aer ? dev.config.get16(exp + caps.PCI_EXP_DEVCTL) : 0,
    devsta: aer ? dev.config.get16(exp + caps.PCI_EXP_DEVSTA) : 0,
    unsupportedRequest: !correctable && err.status === PCI_ERR_UNC_UNSUP,
    logOverflow: false,
    severity: 0,
  };
  if (correctable) {
    if (!injectCor(inj, 0, false)) return 0;
  } else {
    let fatal = uncorDefaultSeverity(errorStatus) === PCI_ERR_ROOT_CMD_FATAL_EN;
    if (aer) fatal = (errorStatus & dev.config.get32(aer + PCI_ERR_UNCOR_SEVER)) !== 0;
    if (!fatal && err.flags & PCIE_AER_ERR_MAYBE_ADVISORY) {
      inj.errorStatus = PCI_ERR_COR_ADV_NFAT;
      if (!injectCor(inj, errorStatus, true)) return 0;
    } else if (!injectUncor(inj, fatal)) {
      return 0;
    }
  }
  sendMessage(dev, inj.severity, err.sourceId);
  if (inj.logOverflow) {
    injectAerError(dev, { status: PCI_ERR_COR_LOG_OVER, sourceId: 0, flags: PCIE_AER_ERR_IS_CORRECTABLE, header: [], prefix: [] });
  }
  return 0;
}
