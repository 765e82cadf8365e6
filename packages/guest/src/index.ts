/**
 * @plugboard/guest: a simulated guest that drives a machine only through its GuestView —
 * SeaBIOS's PCI set-up, then a Linux-like kernel with PCI enumeration, drivers, interrupts
 * and a deterministic scheduler on the virtual clock.
 */
export { FirmwarePanic } from './firmware/regions.js';
export { runFirmware, type FirmwareOptions, type FirmwareResult, type FirmwareDevice } from './firmware/seabios.js';
export { LinuxGuest, registerHotplugDriver, BOOT_TIMELINE, type LinuxGuestOptions } from './os/linux.js';
export { attachGuest, DEFAULT_KERNEL_START_MS, type AttachOptions, type AttachedGuest, type MachineLike } from './attach.js';
export { parseGuestPolicy, resolvePolicy, formatGuestPolicy, DEFAULT_POLICY, type GuestPolicy, type GuestPolicyName } from './os/policy.js';
export { Scheduler, Signal, Task, type Wait, type TaskBody } from './os/sched.js';
export { KernelLog } from './os/klog.js';
export { IrqDispatcher, type IrqHandler, type MsiMessage } from './os/irq.js';
export { PciDev, GuestPciBus, formatResource, type PciResource } from './os/pci-dev.js';
export { PciCore, PCI_CRS_TIMEOUT_MS } from './os/pci-scan.js';
export {
  BUILTIN_PCI_DRIVERS, matchId, pciEnableDevice, pciSetMaster,
  type PciDriver, type PciDeviceId, type HotplugDriver, type DriverHost,
} from './os/drivers.js';
export {
  createPciehpDriver, pciehpDriver, pciehpSlot, pciehpSlots, PciehpSlot, PCIEHP, HZ, INITIAL_JIFFIES, wheelExpiry,
  type PciehpOptions, type PciehpState,
} from './drivers/pciehp/index.js';

export {
  createShpchpDriver, shpchpDriver, shpchpSlot, shpchpSlots, ShpchpSlot, SHPCHP, detectControl as shpchpDetectControl, oshpPaths,
  type ShpchpOptions, type ShpcControl,
} from './drivers/shpchp/index.js';

export {
  acpiphpDriver, createAcpiphpDriver, provideAcpiTables, acpiTablesOf, AmlInterpreter, AcpiEvents, AcpiphpGlue,
  type AcpiphpOptions, type AcpiTables, type AcpiHardware, type AmlNode, type AmlNotify,
} from './drivers/acpiphp/index.js';
// acpiphp is registered before pciehp: Linux enumerates ACPI slots when a bus is scanned,
// before the PCIe port services probe (and pciehp leaves ports `_OSC` did not grant it).
import { registerHotplugDriver as registerAcpiphp } from './os/linux.js';
import { acpiphpDriver as builtinAcpiphp } from './drivers/acpiphp/index.js';
registerAcpiphp(builtinAcpiphp);

// Built-in hotplug drivers every LinuxGuest loads unless given its own list.
import { registerHotplugDriver as registerBuiltinHotplugDriver } from './os/linux.js';
import { pciehpDriver as builtinPciehp } from './drivers/pciehp/index.js';
registerBuiltinHotplugDriver(builtinPciehp);

// shpchp binds after the PCIe port services (device_initcall order; recorded: pciehp's slot
// line precedes shpchp's probe), to every SHPC bridge the firmware lets it drive.
import { registerHotplugDriver as registerShpchp } from './os/linux.js';
import { shpchpDriver as builtinShpchp } from './drivers/shpchp/index.js';
registerShpchp(builtinShpchp);

export {
  attachPseriesGuest, pseriesDriver, PseriesPlatform, Dlpar as PseriesDlpar, UserSpace as PseriesUserSpace, OfNode, unflatten, drcTable,
  RtasClient, spaprPortOf, configureConnector as rtasConfigureConnector, findSection as rtasFindSection, hotplugSection as rtasHotplugSection,
  parseLog as rtasParseLog,
  type AttachedPseriesGuest, type PseriesGuestOptions, type PseriesOptions, type GuestPhb, type Lmb, type DrcEntry, type SpaprPort, type HotplugLog,
  type ErrorLog,
} from './drivers/spapr/index.js';
export {
  aerServiceProbe, aerServiceOf, pciAerInit, pciEnablePcieErrorReporting, registerPciErrorHandlers, pciChannelState, pcieDoRecovery,
  pciSaveState, pciRestoreState, pciAerClearStatus, AerService, AER_CORRECTABLE_ERROR_STRING, AER_UNCORRECTABLE_ERROR_STRING,
  PCI_ERS_RESULT_CAN_RECOVER, PCI_ERS_RESULT_DISCONNECT, PCI_ERS_RESULT_NEED_RESET, PCI_ERS_RESULT_NONE, PCI_ERS_RESULT_NO_AER_DRIVER,
  PCI_ERS_RESULT_RECOVERED, type AerIrq, type PciChannelState, type PciErrorHandlers,
} from './drivers/aer/index.js';
