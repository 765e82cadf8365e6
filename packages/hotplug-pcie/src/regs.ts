/**
 * Register bits of the PCI Express capability that a hot-plug slot uses, named as Linux's
 * include/uapi/linux/pci_regs.h names them (offsets from the capability base live in
 * @plugboard/pci-core's `caps`), plus the few QEMU-internal groupings hw/pci/pcie.c works
 * with (spec/pcie-slot.md §2–§5). The pci_regs.h bits are pci-core's (the guest drivers
 * read the same ones); they are re-exported here for this package's users.
 */
import { PCI_EXP_SLTSTA_ABP, PCI_EXP_SLTSTA_CC, PCI_EXP_SLTSTA_MRLSC, PCI_EXP_SLTSTA_PDC, PCI_EXP_SLTSTA_PFD } from '@plugboard/pci-core';

export {
  PCI_EXP_FLAGS_VERS, PCI_EXP_FLAGS_TYPE, PCI_EXP_FLAGS_TYPE_SHIFT, PCI_EXP_FLAGS_SLOT, PCI_EXP_FLAGS_IRQ, PCI_EXP_FLAGS_IRQ_SHIFT,
  PCI_EXP_SLTCAP_ABP, PCI_EXP_SLTCAP_PCP, PCI_EXP_SLTCAP_MRLSP, PCI_EXP_SLTCAP_AIP, PCI_EXP_SLTCAP_PIP, PCI_EXP_SLTCAP_HPS,
  PCI_EXP_SLTCAP_HPC, PCI_EXP_SLTCAP_SPLV, PCI_EXP_SLTCAP_SPLS, PCI_EXP_SLTCAP_EIP, PCI_EXP_SLTCAP_NCCS, PCI_EXP_SLTCAP_PSN,
  PCI_EXP_SLTCAP_PSN_SHIFT,
  PCI_EXP_SLTCTL_ABPE, PCI_EXP_SLTCTL_PFDE, PCI_EXP_SLTCTL_MRLSCE, PCI_EXP_SLTCTL_PDCE, PCI_EXP_SLTCTL_CCIE, PCI_EXP_SLTCTL_HPIE,
  PCI_EXP_SLTCTL_AIC, PCI_EXP_SLTCTL_ATTN_IND_SHIFT, PCI_EXP_SLTCTL_ATTN_IND_ON, PCI_EXP_SLTCTL_ATTN_IND_BLINK,
  PCI_EXP_SLTCTL_ATTN_IND_OFF, PCI_EXP_SLTCTL_PIC, PCI_EXP_SLTCTL_PWR_IND_SHIFT, PCI_EXP_SLTCTL_PWR_IND_ON,
  PCI_EXP_SLTCTL_PWR_IND_BLINK, PCI_EXP_SLTCTL_PWR_IND_OFF, PCI_EXP_SLTCTL_PCC, PCI_EXP_SLTCTL_PWR_ON, PCI_EXP_SLTCTL_PWR_OFF,
  PCI_EXP_SLTCTL_EIC, PCI_EXP_SLTCTL_DLLSCE, PCI_EXP_SLTCTL_IBPD_DISABLE,
  PCI_EXP_SLTSTA_ABP, PCI_EXP_SLTSTA_PFD, PCI_EXP_SLTSTA_MRLSC, PCI_EXP_SLTSTA_PDC, PCI_EXP_SLTSTA_CC, PCI_EXP_SLTSTA_MRLSS,
  PCI_EXP_SLTSTA_PDS, PCI_EXP_SLTSTA_EIS, PCI_EXP_SLTSTA_DLLSC,
  PCI_EXP_LNKCAP_SLS, PCI_EXP_LNKCAP_MLW, PCI_EXP_LNKCAP_MLW_SHIFT, PCI_EXP_LNKCAP_ASPM_L0S, PCI_EXP_LNKCAP_DLLLARC,
  PCI_EXP_LNKCAP_LBNC, PCI_EXP_LNKCAP_PN,
  PCI_EXP_LNKSTA_CLS, PCI_EXP_LNKSTA_NLW, PCI_EXP_LNKSTA_NLW_SHIFT, PCI_EXP_LNKSTA_LT, PCI_EXP_LNKSTA_DLLLA,
  PCI_EXP_LNKCAP2_SLS_2_5GB, PCI_EXP_LNKCAP2_SLS_5_0GB, PCI_EXP_LNKCAP2_SLS_8_0GB, PCI_EXP_LNKCAP2_SLS_16_0GB, PCI_EXP_LNKCTL2_TLS,
} from '@plugboard/pci-core';

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
