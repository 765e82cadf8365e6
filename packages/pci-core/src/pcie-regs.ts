/**
 * Register bits of the PCI Express capability, named as Linux's
 * include/uapi/linux/pci_regs.h names them. The register offsets (PCI_EXP_SLTCAP, ...) live
 * in `caps`. The device models (hotplug-pcie) and the guest drivers (pciehp, the port
 * driver) both read these, and the guest may import only pci-core, so they live here.
 */

/** PCI Express Capabilities register (FLAGS). */
export const PCI_EXP_FLAGS_VERS = 0x000f;
export const PCI_EXP_FLAGS_TYPE = 0x00f0;
export const PCI_EXP_FLAGS_TYPE_SHIFT = 4;
export const PCI_EXP_FLAGS_SLOT = 0x0100;
/** Interrupt Message Number, bits 13:9. */
export const PCI_EXP_FLAGS_IRQ = 0x3e00;
export const PCI_EXP_FLAGS_IRQ_SHIFT = 9;

/** Device Control: error-reporting enables. */
export const PCI_EXP_DEVCTL_CERE = 0x0001;
export const PCI_EXP_DEVCTL_NFERE = 0x0002;
export const PCI_EXP_DEVCTL_FERE = 0x0004;
export const PCI_EXP_DEVCTL_URRE = 0x0008;

/** Link Capabilities. */
export const PCI_EXP_LNKCAP_SLS = 0x0000000f;
export const PCI_EXP_LNKCAP_MLW = 0x000003f0;
export const PCI_EXP_LNKCAP_MLW_SHIFT = 4;
export const PCI_EXP_LNKCAP_ASPM_L0S = 0x00000400;
export const PCI_EXP_LNKCAP_DLLLARC = 0x00100000;
export const PCI_EXP_LNKCAP_LBNC = 0x00200000;
export const PCI_EXP_LNKCAP_PN = 0xff000000;

/** Link Control / Status. */
export const PCI_EXP_LNKCTL_LD = 0x0010;
export const PCI_EXP_LNKSTA_CLS = 0x000f;
export const PCI_EXP_LNKSTA_NLW = 0x03f0;
export const PCI_EXP_LNKSTA_NLW_SHIFT = 4;
export const PCI_EXP_LNKSTA_LT = 0x0800;
export const PCI_EXP_LNKSTA_DLLLA = 0x2000;

/** Slot Capabilities. */
export const PCI_EXP_SLTCAP_ABP = 0x00000001;
export const PCI_EXP_SLTCAP_PCP = 0x00000002;
export const PCI_EXP_SLTCAP_MRLSP = 0x00000004;
export const PCI_EXP_SLTCAP_AIP = 0x00000008;
export const PCI_EXP_SLTCAP_PIP = 0x00000010;
export const PCI_EXP_SLTCAP_HPS = 0x00000020;
export const PCI_EXP_SLTCAP_HPC = 0x00000040;
export const PCI_EXP_SLTCAP_SPLV = 0x00007f80;
export const PCI_EXP_SLTCAP_SPLS = 0x00018000;
export const PCI_EXP_SLTCAP_EIP = 0x00020000;
export const PCI_EXP_SLTCAP_NCCS = 0x00040000;
export const PCI_EXP_SLTCAP_PSN = 0xfff80000;
export const PCI_EXP_SLTCAP_PSN_SHIFT = 19;

/** Slot Control. */
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
export const PCI_EXP_SLTCTL_PWR_IND_SHIFT = 8;
export const PCI_EXP_SLTCTL_PWR_IND_ON = 0x0100;
export const PCI_EXP_SLTCTL_PWR_IND_BLINK = 0x0200;
export const PCI_EXP_SLTCTL_PWR_IND_OFF = 0x0300;
export const PCI_EXP_SLTCTL_PCC = 0x0400;
export const PCI_EXP_SLTCTL_PWR_ON = 0x0000;
export const PCI_EXP_SLTCTL_PWR_OFF = 0x0400;
export const PCI_EXP_SLTCTL_EIC = 0x0800;
export const PCI_EXP_SLTCTL_DLLSCE = 0x1000;
export const PCI_EXP_SLTCTL_IBPD_DISABLE = 0x4000;

/** Slot Status. */
export const PCI_EXP_SLTSTA_ABP = 0x0001;
export const PCI_EXP_SLTSTA_PFD = 0x0002;
export const PCI_EXP_SLTSTA_MRLSC = 0x0004;
export const PCI_EXP_SLTSTA_PDC = 0x0008;
export const PCI_EXP_SLTSTA_CC = 0x0010;
export const PCI_EXP_SLTSTA_MRLSS = 0x0020;
export const PCI_EXP_SLTSTA_PDS = 0x0040;
export const PCI_EXP_SLTSTA_EIS = 0x0080;
export const PCI_EXP_SLTSTA_DLLSC = 0x0100;

/** Root Control / Root Status. */
export const PCI_EXP_RTCTL_SECEE = 0x0001;
export const PCI_EXP_RTCTL_SENFEE = 0x0002;
export const PCI_EXP_RTCTL_SEFEE = 0x0004;
export const PCI_EXP_RTCTL_PMEIE = 0x0008;
export const PCI_EXP_RTSTA_PME = 0x00010000;

/** Link Capabilities 2 / Link Control 2. */
export const PCI_EXP_LNKCAP2_SLS_2_5GB = 0x00000002;
export const PCI_EXP_LNKCAP2_SLS_5_0GB = 0x00000004;
export const PCI_EXP_LNKCAP2_SLS_8_0GB = 0x00000008;
export const PCI_EXP_LNKCAP2_SLS_16_0GB = 0x00000010;
export const PCI_EXP_LNKCTL2_TLS = 0x000f;
