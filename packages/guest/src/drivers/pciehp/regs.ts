/**
 * Register bits pciehp and the PCIe port driver use, named as include/uapi/linux/pci_regs.h
 * names them. Offsets of the PCI Express capability registers come from pci-core's `caps`;
 * the PCI Express capability bits are pci-core's too, re-exported here for the drivers.
 */

import { PCI_EXP_DEVCTL_CERE, PCI_EXP_DEVCTL_FERE, PCI_EXP_DEVCTL_NFERE, PCI_EXP_DEVCTL_URRE, PCI_EXP_SLTCAP_PSN_SHIFT } from '@plugboard/pci-core';

export {
  PCI_EXP_FLAGS_IRQ, PCI_EXP_FLAGS_IRQ_SHIFT, PCI_EXP_DEVCTL_CERE, PCI_EXP_DEVCTL_NFERE, PCI_EXP_DEVCTL_FERE,
  PCI_EXP_DEVCTL_URRE, PCI_EXP_LNKCAP_DLLLARC, PCI_EXP_LNKCAP_LBNC, PCI_EXP_LNKCTL_LD, PCI_EXP_LNKSTA_NLW,
  PCI_EXP_LNKSTA_LT, PCI_EXP_LNKSTA_DLLLA, PCI_EXP_SLTCAP_ABP, PCI_EXP_SLTCAP_PCP, PCI_EXP_SLTCAP_MRLSP,
  PCI_EXP_SLTCAP_AIP, PCI_EXP_SLTCAP_PIP, PCI_EXP_SLTCAP_HPS, PCI_EXP_SLTCAP_HPC, PCI_EXP_SLTCAP_EIP,
  PCI_EXP_SLTCAP_NCCS, PCI_EXP_SLTCAP_PSN_SHIFT, PCI_EXP_SLTCTL_ABPE, PCI_EXP_SLTCTL_PFDE, PCI_EXP_SLTCTL_MRLSCE,
  PCI_EXP_SLTCTL_PDCE, PCI_EXP_SLTCTL_CCIE, PCI_EXP_SLTCTL_HPIE, PCI_EXP_SLTCTL_AIC, PCI_EXP_SLTCTL_ATTN_IND_SHIFT,
  PCI_EXP_SLTCTL_ATTN_IND_ON, PCI_EXP_SLTCTL_ATTN_IND_BLINK, PCI_EXP_SLTCTL_ATTN_IND_OFF, PCI_EXP_SLTCTL_PIC,
  PCI_EXP_SLTCTL_PWR_IND_ON, PCI_EXP_SLTCTL_PWR_IND_BLINK, PCI_EXP_SLTCTL_PWR_IND_OFF, PCI_EXP_SLTCTL_PCC,
  PCI_EXP_SLTCTL_PWR_ON, PCI_EXP_SLTCTL_PWR_OFF, PCI_EXP_SLTCTL_EIC, PCI_EXP_SLTCTL_DLLSCE,
  PCI_EXP_SLTCTL_IBPD_DISABLE, PCI_EXP_SLTSTA_ABP, PCI_EXP_SLTSTA_PFD, PCI_EXP_SLTSTA_MRLSC, PCI_EXP_SLTSTA_PDC,
  PCI_EXP_SLTSTA_CC, PCI_EXP_SLTSTA_MRLSS, PCI_EXP_SLTSTA_PDS, PCI_EXP_SLTSTA_DLLSC, PCI_EXP_RTCTL_SECEE,
  PCI_EXP_RTCTL_SENFEE, PCI_EXP_RTCTL_SEFEE, PCI_EXP_RTCTL_PMEIE, PCI_EXP_RTSTA_PME,
} from '@plugboard/pci-core';

/** What pci_enable_pcie_error_reporting sets (drivers/pci/pcie/aer.c PCI_EXP_AER_FLAGS). */
export const PCI_EXP_AER_FLAGS = PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE | PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE;
/** Physical Slot Number is 13 bits (31:19); `>>>` keeps it unsigned. */
export const psn = (sltcap: number): number => sltcap >>> PCI_EXP_SLTCAP_PSN_SHIFT;

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

/** pciehp's slot states (drivers/pci/hotplug/pciehp.h); the numbers show in error lines. */
export const SlotState = { OFF: 0, BLINKINGON: 1, BLINKINGOFF: 2, POWERON: 3, POWEROFF: 4, ON: 5 } as const;
export type SlotState = (typeof SlotState)[keyof typeof SlotState];

/** Pending-event bits beyond Slot Status: a safe-removal request (pciehp.h DISABLE_SLOT). */
export const DISABLE_SLOT = 1 << 16;

/** C's `%#06x`: `0x0009`, but a zero prints as `000000` (the # flag adds no prefix to 0). */
export const hash06x = (v: number): string => (v === 0 ? '000000' : `0x${v.toString(16).padStart(4, '0')}`);
/** C's `%#x`. */
export const hashx = (v: number): string => (v === 0 ? '0' : `0x${v.toString(16)}`);
