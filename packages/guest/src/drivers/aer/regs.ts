/**
 * AER registers and bits the Linux AER service uses (include/uapi/linux/pci_regs.h,
 * drivers/pci/pcie/aer.c). The guest may import only pci-core, so they are spelled out here.
 */
export const PCI_ERR_UNCOR_STATUS = 0x04;
export const PCI_ERR_UNCOR_MASK = 0x08;
export const PCI_ERR_UNCOR_SEVER = 0x0c;
export const PCI_ERR_COR_STATUS = 0x10;
export const PCI_ERR_COR_MASK = 0x14;
export const PCI_ERR_CAP = 0x18;
export const PCI_ERR_CAP_FEP_MASK = 0x1f;
export const PCI_ERR_HEADER_LOG = 0x1c;
export const PCI_ERR_ROOT_COMMAND = 0x2c;
export const PCI_ERR_ROOT_STATUS = 0x30;
export const PCI_ERR_ROOT_ERR_SRC = 0x34;

/** Root Error Status. */
export const PCI_ERR_ROOT_COR_RCV = 0x01;
export const PCI_ERR_ROOT_MULTI_COR_RCV = 0x02;
export const PCI_ERR_ROOT_UNCOR_RCV = 0x04;
export const PCI_ERR_ROOT_MULTI_UNCOR_RCV = 0x08;
export const PCI_ERR_ROOT_FATAL_RCV = 0x40;
/** aer.c AER_ERR_STATUS_MASK: a message of any kind arrived. */
export const AER_ERR_STATUS_MASK = PCI_ERR_ROOT_UNCOR_RCV | PCI_ERR_ROOT_COR_RCV | PCI_ERR_ROOT_MULTI_COR_RCV | PCI_ERR_ROOT_MULTI_UNCOR_RCV;
/** ROOT_PORT_INTR_ON_MESG_MASK: correctable, non-fatal and fatal enables of Root Error Command. */
export const ROOT_PORT_INTR_ON_MESG_MASK = 0x7;

/** Uncorrectable bits whose TLP header is logged (AER_LOG_TLP_MASKS). */
export const PCI_ERR_UNC_DLP = 0x00000010;
export const PCI_ERR_UNC_POISON_TLP = 0x00001000;
export const PCI_ERR_UNC_COMP_TIME = 0x00004000;
export const PCI_ERR_UNC_COMP_ABORT = 0x00008000;
export const PCI_ERR_UNC_UNX_COMP = 0x00010000;
export const PCI_ERR_UNC_MALF_TLP = 0x00040000;
export const PCI_ERR_UNC_ECRC = 0x00080000;
export const PCI_ERR_UNC_UNSUP = 0x00100000;
export const AER_LOG_TLP_MASKS = PCI_ERR_UNC_POISON_TLP | PCI_ERR_UNC_ECRC | PCI_ERR_UNC_UNSUP | PCI_ERR_UNC_COMP_ABORT | PCI_ERR_UNC_UNX_COMP | PCI_ERR_UNC_MALF_TLP;

/** Correctable bits used to decode the layer and agent. */
export const PCI_ERR_COR_RCVR = 0x00000001;
export const PCI_ERR_COR_BAD_TLP = 0x00000040;
export const PCI_ERR_COR_BAD_DLLP = 0x00000080;
export const PCI_ERR_COR_REP_ROLL = 0x00000100;
export const PCI_ERR_COR_REP_TIMER = 0x00001000;

/** Device Control error-reporting enables (PCI_EXP_AER_FLAGS) and Device Status. */
export const PCI_EXP_DEVCTL = 0x08;
export const PCI_EXP_DEVSTA = 0x0a;
export const PCI_EXP_AER_FLAGS = 0x000f;
export const PCI_EXP_RTCTL = 0x1c;
/** SYSTEM_ERROR_INTR_ON_MESG_MASK: SECEE | SENFEE | SEFEE. */
export const SYSTEM_ERROR_INTR_ON_MESG_MASK = 0x0007;
export const PCI_EXP_LNKSTA = 0x12;
export const PCI_EXP_LNKSTA_DLLLA = 0x2000;
export const PCI_EXP_LNKCAP_DLLLARC = 0x00100000;

/** aer_err_info.severity values (include/linux/aer.h). */
export const AER_NONFATAL = 0;
export const AER_FATAL = 1;
export const AER_CORRECTABLE = 2;
