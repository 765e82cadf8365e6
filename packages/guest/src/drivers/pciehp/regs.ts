/**
 * Register bits pciehp and the PCIe port driver use, named as include/uapi/linux/pci_regs.h
 * names them. Offsets of the PCI Express capability registers come from pci-core's `caps`;
 * the guest may import only pci-core, so the slot bits are spelled out here.
 */

/** PCI Express Capabilities register: Interrupt Message Number (bits 13:9). */
export const PCI_EXP_FLAGS_IRQ = 0x3e00;
export const PCI_EXP_FLAGS_IRQ_SHIFT = 9;

export const PCI_EXP_DEVCTL_CERE = 0x0001;
export const PCI_EXP_DEVCTL_NFERE = 0x0002;
export const PCI_EXP_DEVCTL_FERE = 0x0004;
export const PCI_EXP_DEVCTL_URRE = 0x0008;
/** What pci_enable_pcie_error_reporting sets (drivers/pci/pcie/aer.c PCI_EXP_AER_FLAGS). */
export const PCI_EXP_AER_FLAGS = PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE | PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE;

export const PCI_EXP_LNKCAP_DLLLARC = 0x00100000;
export const PCI_EXP_LNKCAP_LBNC = 0x00200000;
export const PCI_EXP_LNKCTL_LD = 0x0010;
export const PCI_EXP_LNKSTA_NLW = 0x03f0;
export const PCI_EXP_LNKSTA_LT = 0x0800;
export const PCI_EXP_LNKSTA_DLLLA = 0x2000;

export const PCI_EXP_SLTCAP_ABP = 0x00000001;
export const PCI_EXP_SLTCAP_PCP = 0x00000002;
export const PCI_EXP_SLTCAP_MRLSP = 0x00000004;
export const PCI_EXP_SLTCAP_AIP = 0x00000008;
export const PCI_EXP_SLTCAP_PIP = 0x00000010;
export const PCI_EXP_SLTCAP_HPS = 0x00000020;
export const PCI_EXP_SLTCAP_HPC = 0x00000040;
export const PCI_EXP_SLTCAP_EIP = 0x00020000;
export const PCI_EXP_SLTCAP_NCCS = 0x00040000;
export const PCI_EXP_SLTCAP_PSN_SHIFT = 19;
/** Physical Slot Number is 13 bits (31:19); `>>>` keeps it unsigned. */
export const psn = (sltcap: number): number => sltcap >>> PCI_EXP_SLTCAP_PSN_SHIFT;

export const PCI_EXP_SLTCTL_ABPE = 0x0001;
export const PCI_EXP_SLTCTL_PFDE = 0x0002;
export const PCI_EXP_SLTCTL_MRLSCE = 0x0004;
export const PCI_EXP_SLTCTL_PDCE = 0x0008;
export const PCI_EXP_SLTCTL_CCIE = 0x0010;
export const PCI_EXP_SLTCTL_HPIE = 0x0020;
export const PCI_EXP_SLTCTL_AIC = 0x00c0;
export const PCI_EXP_SLTCTL_ATTN_IND_SHIFT = 6;
export const PCI_EXP_SLTCTL_ATTN_IND_ON = 0x0040;
export const PCI_EXP_SLTCTL_ATTN_IND_BLINK = 0x0080;
export const PCI_EXP_SLTCTL_ATTN_IND_OFF = 0x00c0;
export const PCI_EXP_SLTCTL_PIC = 0x0300;
export const PCI_EXP_SLTCTL_PWR_IND_ON = 0x0100;
export const PCI_EXP_SLTCTL_PWR_IND_BLINK = 0x0200;
export const PCI_EXP_SLTCTL_PWR_IND_OFF = 0x0300;
export const PCI_EXP_SLTCTL_PCC = 0x0400;
export const PCI_EXP_SLTCTL_PWR_ON = 0x0000;
export const PCI_EXP_SLTCTL_PWR_OFF = 0x0400;
export const PCI_EXP_SLTCTL_EIC = 0x0800;
export const PCI_EXP_SLTCTL_DLLSCE = 0x1000;
export const PCI_EXP_SLTCTL_IBPD_DISABLE = 0x4000;

export const PCI_EXP_SLTSTA_ABP = 0x0001;
export const PCI_EXP_SLTSTA_PFD = 0x0002;
export const PCI_EXP_SLTSTA_MRLSC = 0x0004;
export const PCI_EXP_SLTSTA_PDC = 0x0008;
export const PCI_EXP_SLTSTA_CC = 0x0010;
export const PCI_EXP_SLTSTA_MRLSS = 0x0020;
export const PCI_EXP_SLTSTA_PDS = 0x0040;
export const PCI_EXP_SLTSTA_DLLSC = 0x0100;

export const PCI_EXP_RTCTL_SECEE = 0x0001;
export const PCI_EXP_RTCTL_SENFEE = 0x0002;
export const PCI_EXP_RTCTL_SEFEE = 0x0004;
export const PCI_EXP_RTCTL_PMEIE = 0x0008;
export const PCI_EXP_RTSTA_PME = 0x00010000;

/** Slot Capabilities 2 (cap offset 0x34): In-Band Presence Detect Disable Supported. */
export const PCI_EXP_SLTCAP2 = 0x34;
export const PCI_EXP_SLTCAP2_IBPD = 0x00000001;

/** AER extended capability registers the port driver touches (drivers/pci/pcie/aer.c). */
export const PCI_ERR_UNCOR_STATUS = 0x04;
export const PCI_ERR_COR_STATUS = 0x10;
export const PCI_ERR_ROOT_COMMAND = 0x2c;
export const PCI_ERR_ROOT_STATUS = 0x30;
/** Advanced Error Interrupt Message Number, Root Error Status bits 31:27. */
export const PCI_ERR_ROOT_AER_IRQ_SHIFT = 27;
/** ROOT_PORT_INTR_ON_MESG_MASK: correctable, non-fatal and fatal error reporting enables. */
export const PCI_ERR_ROOT_CMD_ALL = 0x7;

/** MSI-X table entry layout. */
export const PCI_MSIX_ENTRY_LOWER_ADDR = 0x0;
export const PCI_MSIX_ENTRY_UPPER_ADDR = 0x4;
export const PCI_MSIX_ENTRY_DATA = 0x8;
export const PCI_MSIX_ENTRY_VECTOR_CTRL = 0xc;
export const PCI_MSIX_ENTRY_CTRL_MASKBIT = 0x1;
export const PCI_MSIX_TABLE_BIR = 0x7;
export const PCI_MSIX_TABLE_OFFSET = 0xfffffff8;

/** pciehp's slot states (drivers/pci/hotplug/pciehp.h); the numbers show in error lines. */
export const SlotState = { OFF: 0, BLINKINGON: 1, BLINKINGOFF: 2, POWERON: 3, POWEROFF: 4, ON: 5 } as const;
export type SlotState = (typeof SlotState)[keyof typeof SlotState];

/** Pending-event bits beyond Slot Status: a safe-removal request (pciehp.h DISABLE_SLOT). */
export const DISABLE_SLOT = 1 << 16;

/** C's `%#06x`: `0x0009`, but a zero prints as `000000` (the # flag adds no prefix to 0). */
export const hash06x = (v: number): string => (v === 0 ? '000000' : `0x${v.toString(16).padStart(4, '0')}`);
/** C's `%#x`. */
export const hashx = (v: number): string => (v === 0 ? '0' : `0x${v.toString(16)}`);
