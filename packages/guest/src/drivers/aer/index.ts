/**
 * The Linux PCIe AER service (drivers/pci/pcie/aer.c, err.c) for the simulated guest. The
 * port driver calls aerServiceProbe on each root port with the interrupt it shares between
 * its services; pciAerInit is what the PCI core does for every function it enumerates.
 */
import type { PciDev } from '../../os/pci-dev.js';
import { pciEnablePcieErrorReporting } from './service.js';
import { aerCapOf, pciAerClearStatus } from './state.js';

export { AerService, aerServiceOf, aerServiceProbe, pciEnablePcieErrorReporting, type AerIrq } from './service.js';
export {
  registerPciErrorHandlers, PCI_ERS_RESULT_CAN_RECOVER, PCI_ERS_RESULT_DISCONNECT, PCI_ERS_RESULT_NEED_RESET, PCI_ERS_RESULT_NONE,
  PCI_ERS_RESULT_NO_AER_DRIVER, PCI_ERS_RESULT_RECOVERED, type PciChannelState, type PciErrorHandlers,
} from './handlers.js';
export { pciChannelState, pcieDoRecovery } from './recovery.js';
export { pciSaveState, pciRestoreState, pciAerClearStatus, aerCapOf } from './state.js';
export { AER_CORRECTABLE_ERROR_STRING, AER_UNCORRECTABLE_ERROR_STRING, AER_SEVERITY_STRING } from './print.js';

/**
 * pci_aer_init (drivers/pci/pcie/aer.c, from pci_init_capabilities): status cleared and,
 * with native AER, error reporting enabled in Device Control. Debian 12's kernel does the
 * latter for every function with AER (observed: a driverless virtio-net-pci aer=on reports).
 */
export function pciAerInit(dev: PciDev): void {
  if (!aerCapOf(dev)) return;
  pciAerClearStatus(dev);
  pciEnablePcieErrorReporting(dev);
}
