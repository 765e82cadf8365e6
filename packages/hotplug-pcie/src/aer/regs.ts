/**
 * Advanced Error Reporting registers as Linux's include/uapi/linux/pci_regs.h names them,
 * and the groupings QEMU 7.2 works with (include/hw/pci/pcie_regs.h, hw/pci/pcie_aer.c).
 * Offsets are from the AER extended capability; the values of the "supported" masks were
 * checked against Debian's 7.2.22 by writing all-ones through ECAM
 * (fixtures/qemu-7.2-aer/registers.json, scenario `masks`).
 */

/** Register offsets inside the AER capability. */
export const PCI_ERR_UNCOR_STATUS = 0x04;
export const PCI_ERR_UNCOR_MASK = 0x08;
export const PCI_ERR_UNCOR_SEVER = 0x0c;
export const PCI_ERR_COR_STATUS = 0x10;
export const PCI_ERR_COR_MASK = 0x14;
export const PCI_ERR_CAP = 0x18;
export const PCI_ERR_HEADER_LOG = 0x1c;
export const PCI_ERR_ROOT_COMMAND = 0x2c;
export const PCI_ERR_ROOT_STATUS = 0x30;
export const PCI_ERR_ROOT_ERR_SRC = 0x34;
export const PCI_ERR_TLP_PREFIX_LOG = 0x38;
export const PCI_ERR_SIZEOF = 0x48;
/** Four dwords each, stored big-endian as the TLP carries them (stl_be_p). */
export const PCI_ERR_HEADER_LOG_SIZE = 16;
export const PCI_ERR_TLP_PREFIX_LOG_SIZE = 16;
/** Error Source Identification: correctable source in the low half, uncorrectable in the high. */
export const PCI_ERR_SRC_COR_OFFS = 0;
export const PCI_ERR_SRC_UNCOR_OFFS = 2;

/** Uncorrectable Error Status/Mask/Severity bits. */
export const PCI_ERR_UNC_UND = 0x00000001;
export const PCI_ERR_UNC_DLP = 0x00000010;
export const PCI_ERR_UNC_SURPDN = 0x00000020;
export const PCI_ERR_UNC_POISON_TLP = 0x00001000;
export const PCI_ERR_UNC_FCP = 0x00002000;
export const PCI_ERR_UNC_COMP_TIME = 0x00004000;
export const PCI_ERR_UNC_COMP_ABORT = 0x00008000;
export const PCI_ERR_UNC_UNX_COMP = 0x00010000;
export const PCI_ERR_UNC_RX_OVER = 0x00020000;
export const PCI_ERR_UNC_MALF_TLP = 0x00040000;
export const PCI_ERR_UNC_ECRC = 0x00080000;
export const PCI_ERR_UNC_UNSUP = 0x00100000;
export const PCI_ERR_UNC_ACSV = 0x00200000;
export const PCI_ERR_UNC_INTN = 0x00400000;
export const PCI_ERR_UNC_MCBTLP = 0x00800000;
export const PCI_ERR_UNC_ATOMEG = 0x01000000;
export const PCI_ERR_UNC_TLPPRE = 0x02000000;

/** Correctable Error Status/Mask bits. */
export const PCI_ERR_COR_RCVR = 0x00000001;
export const PCI_ERR_COR_BAD_TLP = 0x00000040;
export const PCI_ERR_COR_BAD_DLLP = 0x00000080;
export const PCI_ERR_COR_REP_ROLL = 0x00000100;
export const PCI_ERR_COR_REP_TIMER = 0x00001000;
export const PCI_ERR_COR_ADV_NFAT = 0x00002000;
export const PCI_ERR_COR_INTERNAL = 0x00004000;
export const PCI_ERR_COR_LOG_OVER = 0x00008000;

/** Advanced Error Capabilities and Control. */
export const PCI_ERR_CAP_FEP_MASK = 0x0000001f;
export const PCI_ERR_CAP_ECRC_GENC = 0x00000020;
export const PCI_ERR_CAP_ECRC_GENE = 0x00000040;
export const PCI_ERR_CAP_ECRC_CHKC = 0x00000080;
export const PCI_ERR_CAP_ECRC_CHKE = 0x00000100;
export const PCI_ERR_CAP_MHRC = 0x00000200;
export const PCI_ERR_CAP_MHRE = 0x00000400;
export const PCI_ERR_CAP_TLP = 0x00000800;

/** Root Error Command (enables per message severity; QEMU reuses them as severities). */
export const PCI_ERR_ROOT_CMD_COR_EN = 0x00000001;
export const PCI_ERR_ROOT_CMD_NONFATAL_EN = 0x00000002;
export const PCI_ERR_ROOT_CMD_FATAL_EN = 0x00000004;
export const PCI_ERR_ROOT_CMD_EN_MASK = 0x00000007;

/** Root Error Status. */
export const PCI_ERR_ROOT_COR_RCV = 0x00000001;
export const PCI_ERR_ROOT_MULTI_COR_RCV = 0x00000002;
export const PCI_ERR_ROOT_UNCOR_RCV = 0x00000004;
export const PCI_ERR_ROOT_MULTI_UNCOR_RCV = 0x00000008;
export const PCI_ERR_ROOT_FIRST_FATAL = 0x00000010;
export const PCI_ERR_ROOT_NONFATAL_RCV = 0x00000020;
export const PCI_ERR_ROOT_FATAL_RCV = 0x00000040;
/** The W1C report bits (PCI_ERR_ROOT_STATUS_REPORT_MASK). */
export const PCI_ERR_ROOT_STATUS_REPORT_MASK = 0x0000007f;
/** Advanced Error Interrupt Message Number, bits 31:27 (read-only to the guest). */
export const PCI_ERR_ROOT_IRQ = 0xf8000000;
export const PCI_ERR_ROOT_IRQ_SHIFT = 27;

/** PCI Express Device Control / Status error bits. */
export const PCI_EXP_DEVCTL_CERE = 0x0001;
export const PCI_EXP_DEVCTL_NFERE = 0x0002;
export const PCI_EXP_DEVCTL_FERE = 0x0004;
export const PCI_EXP_DEVCTL_URRE = 0x0008;
export const PCI_EXP_DEVSTA_CED = 0x0001;
export const PCI_EXP_DEVSTA_NFED = 0x0002;
export const PCI_EXP_DEVSTA_FED = 0x0004;
export const PCI_EXP_DEVSTA_URD = 0x0008;
/** Device Capabilities 2: End-End TLP Prefix Supported. */
export const PCI_EXP_DEVCAP2_EETLPP = 0x00200000;
/** Secondary status "received system error" (the same bit as PCI_STATUS_SIG_SYSTEM_ERROR). */
export const PCI_SEC_STATUS_RCV_SYSTEM_ERROR = 0x4000;

/** What QEMU's AER implements (PCI_ERR_UNC_SUPPORTED / PCI_ERR_COR_SUPPORTED, observed). */
export const PCI_ERR_UNC_SUPPORTED = 0x03fff030;
export const PCI_ERR_COR_SUPPORTED = 0x0000f1c1;
/** Reset values: DLP, SDN, FCP, RX_OVER, MALF_TLP, INTN are fatal; ADV_NFAT, INTERNAL, LOG_OVER masked. */
export const PCI_ERR_UNC_SEVERITY_DEFAULT = 0x00462030;
export const PCI_ERR_COR_MASK_DEFAULT = 0x0000e000;

/** `aer_log_max`: queued headers for multiple header recording (PCIE_AER_LOG_MAX_*). */
export const PCIE_AER_LOG_MAX_DEFAULT = 8;
export const PCIE_AER_LOG_MAX_LIMIT = 128;

/** Flags of one injected error (PCIEAERErr.flags). */
export const PCIE_AER_ERR_IS_CORRECTABLE = 0x1;
export const PCIE_AER_ERR_MAYBE_ADVISORY = 0x2;
export const PCIE_AER_ERR_HEADER_VALID = 0x4;
export const PCIE_AER_ERR_TLP_PREFIX_PRESENT = 0x8;

/**
 * The names `pcie_aer_inject_error` accepts (hw/pci/pcie_aer.c pcie_aer_error_list, the
 * naming of Linux's aer-inject tool), in QEMU's table order.
 */
export const AER_ERROR_NAMES: ReadonlyArray<{ name: string; status: number; correctable: boolean }> = [
  { name: 'DLP', status: PCI_ERR_UNC_DLP, correctable: false },
  { name: 'SDN', status: PCI_ERR_UNC_SURPDN, correctable: false },
  { name: 'POISON_TLP', status: PCI_ERR_UNC_POISON_TLP, correctable: false },
  { name: 'FCP', status: PCI_ERR_UNC_FCP, correctable: false },
  { name: 'COMP_TIME', status: PCI_ERR_UNC_COMP_TIME, correctable: false },
  { name: 'COMP_ABORT', status: PCI_ERR_UNC_COMP_ABORT, correctable: false },
  { name: 'UNX_COMP', status: PCI_ERR_UNC_UNX_COMP, correctable: false },
  { name: 'RX_OVER', status: PCI_ERR_UNC_RX_OVER, correctable: false },
  { name: 'MALF_TLP', status: PCI_ERR_UNC_MALF_TLP, correctable: false },
  { name: 'ECRC', status: PCI_ERR_UNC_ECRC, correctable: false },
  { name: 'UNSUP', status: PCI_ERR_UNC_UNSUP, correctable: false },
  { name: 'ACSV', status: PCI_ERR_UNC_ACSV, correctable: false },
  { name: 'INTN', status: PCI_ERR_UNC_INTN, correctable: false },
  { name: 'MCBTLP', status: PCI_ERR_UNC_MCBTLP, correctable: false },
  { name: 'ATOP_EBLOCKED', status: PCI_ERR_UNC_ATOMEG, correctable: false },
  { name: 'TLP_PRF_BLOCKED', status: PCI_ERR_UNC_TLPPRE, correctable: false },
  { name: 'RCVR', status: PCI_ERR_COR_RCVR, correctable: true },
  { name: 'BAD_TLP', status: PCI_ERR_COR_BAD_TLP, correctable: true },
  { name: 'BAD_DLLP', status: PCI_ERR_COR_BAD_DLLP, correctable: true },
  { name: 'REP_ROLL', status: PCI_ERR_COR_REP_ROLL, correctable: true },
  { name: 'REP_TIMER', status: PCI_ERR_COR_REP_TIMER, correctable: true },
  { name: 'ADV_NONFATAL', status: PCI_ERR_COR_ADV_NFAT, correctable: true },
  { name: 'INTERNAL', status: PCI_ERR_COR_INTERNAL, correctable: true },
  { name: 'HL_OVERFLOW', status: PCI_ERR_COR_LOG_OVER, correctable: true },
];

/**
 * pcie_aer_uncor_default_severity (PCIe r2.0 §6.2.7 tables 6-2..6-4): the severity of an
 * uncorrectable error on a function without AER, as a Root Error Command enable bit.
 */
export function uncorDefaultSeverity(status: number): number {
  return status & PCI_ERR_UNC_SEVERITY_DEFAULT ? PCI_ERR_ROOT_CMD_FATAL_EN : PCI_ERR_ROOT_CMD_NONFATAL_EN;
}
