/**
 * What the AER service prints (drivers/pci/pcie/aer.c aer_print_port_info, aer_print_error,
 * __aer_print_error, the TLP header line), as Debian 12's 6.1 kernel prints it: recorded in
 * fixtures/qemu-7.2-aer/linux-*.json. Lines made with pci_err/pci_info carry the "AER: "
 * prefix (dev_fmt); the aer_printk ones do not.
 */
import type { PciDev } from '../../os/pci-dev.js';
import {
  AER_CORRECTABLE, PCI_ERR_COR_BAD_DLLP, PCI_ERR_COR_BAD_TLP, PCI_ERR_COR_RCVR, PCI_ERR_COR_REP_ROLL, PCI_ERR_COR_REP_TIMER,
  PCI_ERR_UNC_COMP_ABORT, PCI_ERR_UNC_COMP_TIME, PCI_ERR_UNC_DLP, PCI_ERR_UNC_UNSUP,
} from './regs.js';

export const AER_SEVERITY_STRING = ['Uncorrected (Non-Fatal)', 'Uncorrected (Fatal)', 'Corrected'] as const;

/** aer_correctable_error_string, by bit. */
export const AER_CORRECTABLE_ERROR_STRING: Record<number, string> = {
  0: 'RxErr', 6: 'BadTLP', 7: 'BadDLLP', 8: 'Rollover', 12: 'Timeout', 13: 'NonFatalErr', 14: 'CorrIntErr', 15: 'HeaderOF',
};

/** aer_uncorrectable_error_string, by bit. */
export const AER_UNCORRECTABLE_ERROR_STRING: Record<number, string> = {
  0: 'Undefined', 4: 'DLP', 5: 'SDES', 12: 'TLP', 13: 'FCP', 14: 'CmpltTO', 15: 'CmpltAbrt', 16: 'UnxCmplt', 17: 'RxOF',
  18: 'MalfTLP', 19: 'ECRC', 20: 'UnsupReq', 21: 'ACSViol', 22: 'UncorrIntErr', 23: 'BlockedTLP', 24: 'AtomicOpBlocked',
  25: 'TLPBlockedErr', 26: 'PoisonTLPBlocked',
};

const AER_ERROR_LAYER = ['Physical Layer', 'Data Link Layer', 'Transaction Layer'];
const AER_AGENT_STRING = ['Receiver ID', 'Requester ID', 'Completer ID', 'Transmitter ID'];

/** AER_GET_LAYER_ERROR */
export function errorLayer(severity: number, status: number): string {
  const cor = severity === AER_CORRECTABLE;
  if (status & (cor ? PCI_ERR_COR_RCVR : 0)) return AER_ERROR_LAYER[0]!;
  const dll = cor ? PCI_ERR_COR_BAD_TLP | PCI_ERR_COR_BAD_DLLP | PCI_ERR_COR_REP_ROLL | PCI_ERR_COR_REP_TIMER : PCI_ERR_UNC_DLP;
  return AER_ERROR_LAYER[status & dll ? 1 : 2]!;
}

/** AER_GET_AGENT */
export function errorAgent(severity: number, status: number): string {
  const cor = severity === AER_CORRECTABLE;
  if (status & (cor ? 0 : PCI_ERR_UNC_COMP_ABORT)) return AER_AGENT_STRING[2]!;
  if (status & (cor ? 0 : PCI_ERR_UNC_COMP_TIME | PCI_ERR_UNC_UNSUP)) return AER_AGENT_STRING[1]!;
  if (status & (cor ? PCI_ERR_COR_REP_ROLL | PCI_ERR_COR_REP_TIMER : 0)) return AER_AGENT_STRING[3]!;
  return AER_AGENT_STRING[0]!;
}

const hex = (v: number, w: number) => (v >>> 0).toString(16).padStart(w, '0');

/** One decoded error of one function (struct aer_err_info, per device). */
export interface AerErrInfo {
  /** Error source id from the root port (bus << 8 | devfn). */
  id: number;
  severity: number;
  multiErrorValid: boolean;
  status: number;
  mask: number;
  firstError: number;
  tlp: number[] | undefined;
  errorDevNum: number;
}

/** aer_print_port_info: the line about the message the root port received. */
export function portInfoLine(info: AerErrInfo, domain: number): string {
  const bus = (info.id >> 8) & 0xff;
  const devfn = info.id & 0xff;
  return `AER: ${info.multiErrorValid ? 'Multiple ' : ''}${AER_SEVERITY_STRING[info.severity]} error message received from ${hex(domain, 4)}:${hex(bus, 2)}:${hex(devfn >> 3, 2)}.${devfn & 7}`;
}

/** aer_print_error + __aer_print_error: the lines printed for `dev` (without the device prefix). */
export function errorLines(dev: PciDev, info: AerErrInfo): string[] {
  const sev = AER_SEVERITY_STRING[info.severity];
  const out: string[] = [];
  if (!info.status) {
    out.push(`AER: PCIe Bus Error: severity=${sev}, type=Inaccessible, (Unregistered Agent ID)`);
  } else {
    out.push(`PCIe Bus Error: severity=${sev}, type=${errorLayer(info.severity, info.status)}, (${errorAgent(info.severity, info.status)})`);
    out.push(`  device [${hex(dev.vendor, 4)}:${hex(dev.device, 4)}] error status/mask=${hex(info.status, 8)}/${hex(info.mask, 8)}`);
    const strings = info.severity === AER_CORRECTABLE ? AER_CORRECTABLE_ERROR_STRING : AER_UNCORRECTABLE_ERROR_STRING;
    const status = (info.status & ~info.mask) >>> 0;
    for (let i = 0; i < 32; i++) {
      if (!(status & (1 << i))) continue;
      const name = (strings[i] ?? 'Unknown Error Bit').padEnd(22);
      out.push(`   [${String(i).padStart(2)}] ${name}${info.firstError === i ? ' (First)' : ''}`);
    }
    if (info.tlp) out.push(`AER:   TLP Header: ${info.tlp.map((w) => hex(w, 8)).join(' ')}`);
  }
  const id = (dev.bus.number << 8) | dev.devfn;
  if (info.id && info.errorDevNum > 1 && info.id === id) out.push('AER:   Error of this Agent is reported first');
  return out;
}
