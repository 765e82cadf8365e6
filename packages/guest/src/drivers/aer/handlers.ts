/**
 * The error handlers (struct pci_error_handlers) of the drivers the guest binds, as Linux
 * 6.1 has them: pcieport (drivers/pci/pcie/portdrv.c), e1000/e1000e (e1000_io_*), nvme
 * (nvme_error_detected, nvme_slot_reset); virtio-pci has none. Other drivers can register
 * theirs with registerPciErrorHandlers.
 */
import { regs as R } from '@plugboard/pci-core';
import { pciEnableDevice, pciSetMaster, type DriverHost } from '../../os/drivers.js';
import type { LinuxGuest } from '../../os/linux.js';
import type { PciDev } from '../../os/pci-dev.js';
import { pciRestoreState, pciSaveState } from './state.js';

/** enum pci_ers_result */
export const PCI_ERS_RESULT_NONE = 1;
export const PCI_ERS_RESULT_CAN_RECOVER = 2;
export const PCI_ERS_RESULT_NEED_RESET = 3;
export const PCI_ERS_RESULT_DISCONNECT = 4;
export const PCI_ERS_RESULT_RECOVERED = 5;
export const PCI_ERS_RESULT_NO_AER_DRIVER = 6;

export type PciChannelState = 'normal' | 'frozen' | 'perm_failure';

export interface PciErrorHandlers {
  errorDetected?(dev: PciDev, state: PciChannelState, guest: LinuxGuest): number;
  mmioEnabled?(dev: PciDev, guest: LinuxGuest): number;
  slotReset?(dev: PciDev, guest: LinuxGuest): number;
  resume?(dev: PciDev, guest: LinuxGuest): void;
}

/** The driver name a port is bound to (portdrv binds every PCIe port). */
export const PCIEPORT = 'pcieport';

/** The kernel as a driver callback sees it: dev_info lines carry the bound driver's name. */
function driverHost(guest: LinuxGuest): DriverHost {
  return {
    irq: guest.irq,
    log: (drv, dev, text) => guest.log(dev.driver ?? drv, dev, text),
    printk: (text) => guest.printk(text),
    nextName: (p) => guest.nextName(p),
  };
}

/** pci_disable_device: the last disable turns bus mastering off. */
function pciDisableDevice(dev: PciDev): void {
  if (dev.enableCount > 0) dev.enableCount--;
  if (dev.enableCount > 0) return;
  const cmd = dev.read16(R.PCI_COMMAND);
  if (cmd & R.PCI_COMMAND_MASTER) dev.write16(R.PCI_COMMAND, cmd & ~R.PCI_COMMAND_MASTER);
  dev.isBusmaster = false;
}

/** e1000_io_error_detected / e1000_io_slot_reset (e1000e's enable memory only). */
function e1000Handlers(ioToo: boolean): PciErrorHandlers {
  return {
    errorDetected(dev, state) {
      if (state === 'perm_failure') return PCI_ERS_RESULT_DISCONNECT;
      pciDisableDevice(dev);
      return PCI_ERS_RESULT_NEED_RESET;
    },
    slotReset(dev, guest) {
      pciEnableDevice(dev, driverHost(guest), { io: ioToo, mem: true });
      pciRestoreState(dev);
      pciSetMaster(dev);
      return PCI_ERS_RESULT_RECOVERED;
    },
  };
}

/** The nvme controller name its probe printed (`nvme nvmeN: pci function BDF`). */
function nvmeCtrlName(dev: PciDev, guest: LinuxGuest): string {
  const re = new RegExp(`^nvme (nvme\\d+): pci function ${dev.name.replace(/\./g, '\\.')}$`);
  for (const t of guest.klog.texts().reverse()) {
    const m = re.exec(t);
    if (m) return m[1]!;
  }
  return dev.name;
}

const builtin = new Map<string, PciErrorHandlers>([
  [PCIEPORT, {
    errorDetected: (_dev, state) => (state === 'frozen' ? PCI_ERS_RESULT_NEED_RESET : PCI_ERS_RESULT_CAN_RECOVER),
    mmioEnabled: () => PCI_ERS_RESULT_RECOVERED,
    slotReset(dev) {
      pciRestoreState(dev);
      pciSaveState(dev);
      return PCI_ERS_RESULT_RECOVERED;
    },
    resume: () => {},
  }],
  ['e1000', e1000Handlers(true)],
  ['e1000e', e1000Handlers(false)],
  ['nvme', {
    errorDetected(dev, state, guest) {
      if (state === 'normal') return PCI_ERS_RESULT_CAN_RECOVER;
      if (state === 'frozen') {
        guest.printk(`nvme ${nvmeCtrlName(dev, guest)}: frozen state error detected, reset controller`);
        return PCI_ERS_RESULT_NEED_RESET;
      }
      guest.printk(`nvme ${nvmeCtrlName(dev, guest)}: failure state error detected, request disconnect`);
      return PCI_ERS_RESULT_DISCONNECT;
    },
    mmioEnabled: () => PCI_ERS_RESULT_RECOVERED,
    slotReset(dev, guest) {
      guest.printk(`nvme ${nvmeCtrlName(dev, guest)}: restart after slot reset`);
      pciRestoreState(dev);
      return PCI_ERS_RESULT_RECOVERED;
    },
    resume: () => {},
  }],
]);

const registered = new Map<string, PciErrorHandlers>();

/** Gives a driver (by PciDriver.name) error handlers, or replaces the built-in ones. */
export function registerPciErrorHandlers(driver: string, handlers: PciErrorHandlers): void {
  registered.set(driver, handlers);
}

/** The driver bound to `dev` as the AER core sees it, and its handlers. */
export function boundDriver(dev: PciDev): { name: string | undefined; handlers: PciErrorHandlers | undefined } {
  const name = dev.driver ?? (dev.isPcie && dev.isBridge && [4, 5, 6].includes(dev.pcieType) ? PCIEPORT : undefined);
  return { name, handlers: name === undefined ? undefined : (registered.get(name) ?? builtin.get(name)) };
}
