/**
 * Register bits of the PCI Express capability that a hot-plug slot uses, named as Linux's
 * include/uapi/linux/pci_regs.h names them (offsets from the capability base live in
 * @plugboard/pci-core's `caps`), plus the few QEMU-internal groupings hw/pci/pcie.c works
 * with (spec/pcie-slot.md §2–§5).
 */

/** PCI Express Capabilities register (FLAGS). */
export const PCI_EXP_FLAGS_VERS = 0x000f;
export const PCI_EXP_FLAGS_TYPE = 0x00f0;
export const PCI_EXP_FLAGS_TYPE_SHIFT = 4;
export const PCI_EXP_FLAGS_SLOT = 0x0100;
/** Interrupt Message Number, bits 13:9. */
export const PCI_EXP_FLAGS_IRQ = 0x3e00;
export const PCI_EXP_FLAGS_IRQ_SHIFT = 9;

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

/** Link Capabilities. */
export const PCI_EXP_LNKCAP_SLS = 0x0000000f;
export const PCI_EXP_LNKCAP_MLW = 0x000003f0;
export const PCI_EXP_LNKCAP_MLW_SHIFT = 4;
export const PCI_EXP_LNKCAP_ASPM_L0S = 0x00000400;
export const PCI_EXP_LNKCAP_DLLLARC = 0x00100000;
export const PCI_EXP_LNKCAP_LBNC = 0x00200000;
export const PCI_EXP_LNKCAP_PN = 0xff000000;

/** Link Control / Status. */
export const PCI_EXP_LNKSTA_CLS = 0x000f;
export const PCI_EXP_LNKSTA_NLW = 0x03f0;
export const PCI_EXP_LNKSTA_NLW_SHIFT = 4;
export const PCI_EXP_LNKSTA_LT = 0x0800;
export const PCI_EXP_LNKSTA_DLLLA = 0x2000;

/** Link Capabilities 2 / Link Control 2. */
export const PCI_EXP_LNKCAP2_SLS_2_5GB = 0x00000002;
export const PCI_EXP_LNKCAP2_SLS_5_0GB = 0x00000004;
export const PCI_EXP_LNKCAP2_SLS_8_0GB = 0x00000008;
export const PCI_EXP_LNKCAP2_SLS_16_0GB = 0x00000010;
export const PCI_EXP_LNKCTL2_TLS = 0x000f;

/**
 * Link speed and width encodings (QEMU's PCIExpLinkSpeed / PCIExpLinkWidth values, which
 * are the LNKCAP/LNKSTA field encodings).
 */
export const PCIE_LINK_SPEED_2_5GT = 1;
export const PCIE_LINK_SPEED_5GT = 2;
export const PCIE_LINK_SPEED_8GT = 3;
export const PCIE_LINK_SPEED_16GT = 4;
export const PCIE_LINK_WIDTH_X1 = 1;

/** The slot events hw/pci/pcie.c groups together (spec §4: the W1C undo quirk). */
export const PCIE_SLOT_EVENTS = PCI_EXP_SLTSTA_ABP | PCI_EXP_SLTSTA_PFD | PCI_EXP_SLTSTA_MRLSC | PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_CC;
/**
 * Events that take part in the hot-plug interrupt (PCI_EXP_HP_EV_SUPPORTED). Each status
 * bit sits at the same position as its enable bit in Slot Control (ABP/ABPE, PDC/PDCE,
 * CC/CCIE), so `status & control & PCI_EXP_HP_EV_SUPPORTED` is the pending set.
 */
export const PCI_EXP_HP_EV_ABP = PCI_EXP_SLTSTA_ABP;
export const PCI_EXP_HP_EV_PDC = PCI_EXP_SLTSTA_PDC;
export const PCI_EXP_HP_EV_CCI = PCI_EXP_SLTSTA_CC;
export const PCI_EXP_HP_EV_SUPPORTED = PCI_EXP_HP_EV_ABP | PCI_EXP_HP_EV_PDC | PCI_EXP_HP_EV_CCI;

/** AER Root Error Command / Status bits that drive a root port's INTx (hw/pci/pcie_aer.c). */
export const PCI_ERR_ROOT_CMD_COR_EN = 0x00000001;
export const PCI_ERR_ROOT_CMD_NONFATAL_EN = 0x00000002;
export const PCI_ERR_ROOT_CMD_FATAL_EN = 0x00000004;
export const PCI_ERR_ROOT_COR_RCV = 0x00000001;
export const PCI_ERR_ROOT_NONFATAL_RCV = 0x00000020;
export const PCI_ERR_ROOT_FATAL_RCV = 0x00000040;

/** pcie_cap_slot_unplug_request_cb: the pending unplug expires after 5 s of virtual time. */
export const PCIE_UNPLUG_PENDING_MS = 5000;
