/**
 * @plugboard/guest: a simulated guest that drives a machine only through its GuestView —
 * SeaBIOS's PCI set-up, then a Linux-like kernel with PCI enumeration, drivers, interrupts
 * and a deterministic scheduler on the virtual clock.
 */
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
