/**
 * pci_save_state / pci_restore_state for what AER recovery touches (drivers/pci/pci.c):
 * the 16 header dwords, Device Control of the PCI Express capability, the AER masks and
 * severity (pci_save_aer_state), and the AER status clear that pci_restore_state does
 * first (pci_aer_clear_status). Linux saves at driver probe; the service saves when a
 * recovery starts, which is the same state unless the guest changed it since.
 */
import { caps as C, regs as R } from '@plugboard/pci-core';
import type { PciDev } from '../../os/pci-dev.js';
import { PCI_ERR_CAP, PCI_ERR_COR_MASK, PCI_ERR_COR_STATUS, PCI_ERR_ROOT_COMMAND, PCI_ERR_ROOT_STATUS, PCI_ERR_UNCOR_MASK, PCI_ERR_UNCOR_SEVER, PCI_ERR_UNCOR_STATUS } from './regs.js';

interface SavedState {
  config: number[];
  devctl: number | undefined;
  aer: number[] | undefined;
}

const KEY = 'aer:saved-state';
/** The root error registers exist on root ports (pcie_cap_has_rtctl). */
const hasRootRegs = (dev: PciDev) => dev.isPcie && dev.pcieType === C.PCI_EXP_TYPE_ROOT_PORT;

export function aerCapOf(dev: PciDev): number {
  return dev.isPcie ? dev.findExtCapability(R.PCI_EXT_CAP_ID_ERR) : 0;
}

/** pci_save_state (the parts above). */
export function pciSaveState(dev: PciDev): void {
  const config: number[] = [];
  for (let i = 0; i < 16; i++) config.push(dev.read32(i * 4));
  const aer = aerCapOf(dev);
  const regs = [PCI_ERR_UNCOR_MASK, PCI_ERR_UNCOR_SEVER, PCI_ERR_COR_MASK, PCI_ERR_CAP, ...(hasRootRegs(dev) ? [PCI_ERR_ROOT_COMMAND] : [])];
  const state: SavedState = {
    config,
    devctl: dev.isPcie ? dev.pcieRead16(C.PCI_EXP_DEVCTL) : undefined,
    aer: aer ? regs.map((r) => dev.read32(aer + r)) : undefined,
  };
  dev.driverData.set(KEY, state);
}

/** pci_aer_raw_clear_status: write back what is set in the status registers. */
export function pciAerClearStatus(dev: PciDev): void {
  const aer = aerCapOf(dev);
  if (!aer) return;
  if (hasRootRegs(dev)) dev.write32(aer + PCI_ERR_ROOT_STATUS, dev.read32(aer + PCI_ERR_ROOT_STATUS));
  dev.write32(aer + PCI_ERR_COR_STATUS, dev.read32(aer + PCI_ERR_COR_STATUS));
  dev.write32(aer + PCI_ERR_UNCOR_STATUS, dev.read32(aer + PCI_ERR_UNCOR_STATUS));
}

/** pci_restore_config_dword without retries: rewrite only what differs. */
function restoreDword(dev: PciDev, index: number, saved: number, force = false): void {
  if (!force && dev.read32(index * 4) === saved) return;
  dev.write32(index * 4, saved);
}

/** pci_restore_state: AER status cleared, AER state, PCIe Device Control, header (BARs before command). */
export function pciRestoreState(dev: PciDev): void {
  const s = dev.driverData.get(KEY) as SavedState | undefined;
  if (!s) return;
  if (s.devctl !== undefined) dev.pcieWrite16(C.PCI_EXP_DEVCTL, s.devctl);
  const aer = aerCapOf(dev);
  if (aer && s.aer) {
    pciAerClearStatus(dev);
    const regs = [PCI_ERR_UNCOR_MASK, PCI_ERR_UNCOR_SEVER, PCI_ERR_COR_MASK, PCI_ERR_CAP, PCI_ERR_ROOT_COMMAND];
    s.aer.forEach((v, i) => dev.write32(aer + regs[i]!, v));
  }
  const range = (from: number, to: number, force = false) => {
    for (let i = to; i >= from; i--) restoreDword(dev, i, s.config[i]!, force);
  };
  if (dev.hdrType === R.PCI_HEADER_TYPE_BRIDGE) {
    range(12, 15);
    range(9, 11, true); // prefetch window rewritten on purpose (Intel bridges, S3)
    range(0, 8);
  } else {
    range(10, 15);
    range(4, 9);
    range(0, 3);
  }
}
