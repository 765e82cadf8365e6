/**
 * pcie_do_recovery (drivers/pci/pcie/err.c) and aer_root_reset (aer.c) as Linux 6.1 runs
 * them: broadcast error_detected to every function below the bridge, reset the link for
 * fatal errors, then mmio_enabled or slot_reset, resume, and clear the detecting
 * function's status. Functions are left as Linux leaves them: recovered ones usable, the
 * others in the frozen channel state (still bound: AER never removes a device).
 */
import { caps as C, regs as R } from '@plugboard/pci-core';
import type { LinuxGuest } from '../../os/linux.js';
import type { PciDev } from '../../os/pci-dev.js';
import type { TaskBody } from '../../os/sched.js';
import {
  PCIEPORT, PCI_ERS_RESULT_CAN_RECOVER, PCI_ERS_RESULT_DISCONNECT, PCI_ERS_RESULT_NEED_RESET, PCI_ERS_RESULT_NONE,
  PCI_ERS_RESULT_NO_AER_DRIVER, PCI_ERS_RESULT_RECOVERED, boundDriver, type PciChannelState,
} from './handlers.js';
import { PCI_ERR_ROOT_COMMAND, PCI_ERR_ROOT_STATUS, PCI_ERR_UNCOR_SEVER, PCI_ERR_UNCOR_STATUS, PCI_EXP_LNKCAP_DLLLARC, PCI_EXP_LNKSTA, ROOT_PORT_INTR_ON_MESG_MASK } from './regs.js';
import { aerCapOf, pciSaveState } from './state.js';

const KEY = 'aer:channel-state';
/** pci_reset_secondary_bus: Trst doubled; PCIe r4.0 §6.6.1 100 ms; no link reporting: 1000 ms more. */
const SBR_ASSERT_MS = 2;
const LINK_DETECT_MS = 20;
const D3COLD_DELAY_MS = 100;
const NO_LINK_REPORTING_MS = 1000;
const ENOTTY = 25;

/** dev->error_state: where recovery left the function (normal once resumed). */
export function pciChannelState(dev: PciDev): PciChannelState {
  return (dev.driverData.get(KEY) as PciChannelState | undefined) ?? 'normal';
}

/** pci_dev_set_io_state: only perm_failure is final. */
function setIoState(dev: PciDev, state: PciChannelState): boolean {
  const old = pciChannelState(dev);
  if (state !== 'perm_failure' && old === 'perm_failure') return false;
  if (state === 'perm_failure' || (state === 'frozen' && old === 'normal') || (state === 'normal' && old === 'frozen')) dev.driverData.set(KEY, state);
  return true;
}

/** merge_result */
function merge(orig: number, vote: number): number {
  if (vote === PCI_ERS_RESULT_NO_AER_DRIVER) return PCI_ERS_RESULT_NO_AER_DRIVER;
  if (vote === PCI_ERS_RESULT_NONE) return orig;
  if (orig === PCI_ERS_RESULT_CAN_RECOVER || orig === PCI_ERS_RESULT_RECOVERED) return vote;
  if (orig === PCI_ERS_RESULT_DISCONNECT && vote === PCI_ERS_RESULT_NEED_RESET) return PCI_ERS_RESULT_NEED_RESET;
  return orig;
}

/** dev_info with the bound driver's name (`pci` when none), and the "AER: " dev_fmt. */
export function aerInfo(guest: LinuxGuest, dev: PciDev, text: string): void {
  guest.log(boundDriver(dev).name ?? 'pci', dev, `AER: ${text}`);
}

/** pci_walk_bridge: the functions below the bridge (depth first), or the bridge alone. */
function walkBridge(bridge: PciDev): PciDev[] {
  return bridge.subordinate ? [...bridge.subordinate.walk()] : [bridge];
}

/** report_error_detected for one function. */
function reportDetected(guest: LinuxGuest, dev: PciDev, state: PciChannelState, result: number): number {
  const { name, handlers } = boundDriver(dev);
  let vote: number;
  if (!setIoState(dev, state)) {
    aerInfo(guest, dev, `can't recover (state transition ${pciChannelState(dev)} -> ${state} invalid)`);
    vote = PCI_ERS_RESULT_NONE;
  } else if (!handlers?.errorDetected) {
    // A function without a handler stops recovery of the whole subtree; bridges do not.
    if (dev.isBridge && name === undefined) vote = PCI_ERS_RESULT_NONE;
    else if (dev.isBridge && name === PCIEPORT) vote = PCI_ERS_RESULT_NONE;
    else {
      vote = PCI_ERS_RESULT_NO_AER_DRIVER;
      aerInfo(guest, dev, "can't recover (no error_detected callback)");
    }
  } else {
    vote = handlers.errorDetected(dev, state, guest);
  }
  return merge(result, vote);
}

function* sleep(guest: LinuxGuest, ms: number): TaskBody {
  if (ms > 0) yield guest.sched.sleep(ms);
}

/**
 * pci_bus_error_reset -> pci_bridge_secondary_bus_reset: Secondary Bus Reset for 2 ms, then
 * pci_bridge_wait_for_secondary_bus (Data Link Layer Link Active when the port reports it).
 * Returns 0 or -ENOTTY (no secondary bus). pciehp's slot reset path is not modelled.
 */
function* secondaryBusReset(guest: LinuxGuest, bridge: PciDev): TaskBody<number> {
  if (!bridge.subordinate) return -ENOTTY;
  const ctl = bridge.read16(R.PCI_BRIDGE_CONTROL);
  bridge.write16(R.PCI_BRIDGE_CONTROL, ctl | R.PCI_BRIDGE_CTL_BUS_RESET);
  yield* sleep(guest, SBR_ASSERT_MS);
  bridge.write16(R.PCI_BRIDGE_CONTROL, ctl & ~R.PCI_BRIDGE_CTL_BUS_RESET);
  const children = bridge.subordinate.devices;
  // pci_bus_max_d3cold_delay: only functions with a PM capability ask for the 100 ms
  // (observed: 2 ms after a reset below x3130-upstream, which has none).
  const delay = children.some((d) => d.findCapability(R.PCI_CAP_ID_PM) !== 0) ? D3COLD_DELAY_MS : 0;
  if (!delay || !bridge.isPcieDownstreamPort) return 0;
  if (!(bridge.pcieRead32(C.PCI_EXP_LNKCAP) & PCI_EXP_LNKCAP_DLLLARC)) {
    // pcie_wait_for_link_delay without link reporting (xio3130, ioh3420: observed ~1.1 s).
    yield* sleep(guest, NO_LINK_REPORTING_MS + delay);
  } else {
    yield* sleep(guest, LINK_DETECT_MS);
    bridge.pcieRead16(PCI_EXP_LNKSTA); // Data Link Layer Link Active: QEMU reports it at once
    yield* sleep(guest, delay);
  }
  children[0]!.read32(R.PCI_COMMAND); // pci_dev_wait: the child answers
  return 0;
}

/** pcie_find_root_port */
function rootPortOf(dev: PciDev): PciDev | undefined {
  for (let d: PciDev | undefined = dev; d; d = d.upstream) if (d.isPcie && d.pcieType === C.PCI_EXP_TYPE_ROOT_PORT) return d;
  return undefined;
}

/** aer_root_reset: root interrupts off, link reset, Root Error Status cleared, interrupts on. */
function* aerRootReset(guest: LinuxGuest, bridge: PciDev): TaskBody<number> {
  const root = rootPortOf(bridge);
  const aer = root ? aerCapOf(root) : 0;
  if (root && aer) root.write32(aer + PCI_ERR_ROOT_COMMAND, root.read32(aer + PCI_ERR_ROOT_COMMAND) & ~ROOT_PORT_INTR_ON_MESG_MASK);
  const rc = yield* secondaryBusReset(guest, bridge);
  aerInfo(guest, bridge, `${bridge.bus.isRoot ? 'Root' : 'Downstream'} Port link has been reset (${rc})`);
  if (root && aer) {
    root.write32(aer + PCI_ERR_ROOT_STATUS, root.read32(aer + PCI_ERR_ROOT_STATUS));
    root.write32(aer + PCI_ERR_ROOT_COMMAND, root.read32(aer + PCI_ERR_ROOT_COMMAND) | ROOT_PORT_INTR_ON_MESG_MASK);
  }
  return rc ? PCI_ERS_RESULT_DISCONNECT : PCI_ERS_RESULT_RECOVERED;
}

/** pci_aer_clear_nonfatal_status */
function clearNonfatalStatus(dev: PciDev): void {
  const aer = aerCapOf(dev);
  if (!aer) return;
  const status = dev.read32(aer + PCI_ERR_UNCOR_STATUS) & ~dev.read32(aer + PCI_ERR_UNCOR_SEVER);
  if (status) dev.write32(aer + PCI_ERR_UNCOR_STATUS, status >>> 0);
}

/** pcie_clear_device_status */
export function pcieClearDeviceStatus(dev: PciDev): void {
  if (dev.isPcie) dev.pcieWrite16(C.PCI_EXP_DEVSTA, dev.pcieRead16(C.PCI_EXP_DEVSTA));
}

/** pcie_do_recovery for an error detected by `dev` (normal: non-fatal; frozen: fatal). */
export function* pcieDoRecovery(guest: LinuxGuest, dev: PciDev, state: PciChannelState): TaskBody<number> {
  const t = dev.pcieType;
  const selfRecovers = t === C.PCI_EXP_TYPE_ROOT_PORT || t === C.PCI_EXP_TYPE_DOWNSTREAM || t === C.PCI_EXP_TYPE_RC_END;
  const bridge = selfRecovers ? dev : (dev.upstream ?? dev);
  const functions = walkBridge(bridge);
  for (const f of functions) pciSaveState(f); // Linux: saved at probe (see state.ts)
  let status = PCI_ERS_RESULT_CAN_RECOVER;
  for (const f of functions) status = reportDetected(guest, f, state, status);
  if (state === 'frozen' && (yield* aerRootReset(guest, bridge)) !== PCI_ERS_RESULT_RECOVERED) {
    aerInfo(guest, bridge, 'subordinate device reset failed');
    aerInfo(guest, bridge, 'device recovery failed');
    return status;
  }
  const each = (fn: 'mmioEnabled' | 'slotReset') => {
    status = PCI_ERS_RESULT_RECOVERED;
    for (const f of functions) {
      const h = boundDriver(f).handlers?.[fn];
      if (h) status = merge(status, h(f, guest));
    }
  };
  if (status === PCI_ERS_RESULT_CAN_RECOVER) each('mmioEnabled');
  if (status === PCI_ERS_RESULT_NEED_RESET) each('slotReset');
  if (status !== PCI_ERS_RESULT_RECOVERED) {
    aerInfo(guest, bridge, 'device recovery failed');
    return status;
  }
  for (const f of functions) {
    if (!setIoState(f, 'normal')) continue;
    boundDriver(f).handlers?.resume?.(f, guest);
  }
  pcieClearDeviceStatus(dev);
  clearNonfatalStatus(dev);
  aerInfo(guest, bridge, 'device recovery successful');
  return status;
}
