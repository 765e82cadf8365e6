/**
 * Link bring-up after slot power-on: pciehp_check_link_status (pciehp_hpc.c) with the PCI
 * core's pcie_wait_for_link_delay (drivers/pci/pci.c) and pci_bus_check_dev. Every wait is
 * an msleep on the HZ=250 timer wheel (./jiffies.ts).
 */
import { caps as C, regs as R } from '@plugboard/pci-core';
import type { TaskBody } from '../../os/sched.js';
import type { Controller } from './hpc.js';
import { hash06x, PCI_EXP_LNKSTA_DLLLA, PCI_EXP_LNKSTA_LT, PCI_EXP_LNKSTA_NLW, PCI_EXP_SLTSTA_DLLSC, PCI_EXP_SLTSTA_PDC, PCI_EXP_SLTSTA_PDS } from './regs.js';

/** How long the link and the device get (drivers/pci/pci.c, pciehp_hpc.c). */
const LINK_TIMEOUT_MS = 1000;
const LINK_ACTIVE_DELAY_MS = 20;
const LINK_POLL_MS = 10;
const LINK_SETTLE_MS = 100;
const PRESENCE_TIMEOUT_MS = 1250;
const DEV_CHECK_TIMEOUT_MS = 1000;
const DEV_CHECK_STEP_MS = 20;

/**
 * Ports with Data Link Layer Link Active reporting: 20 ms, DLLLA polled every 10 ms for up
 * to 1 s, then 100 ms before config requests. Ports without it: 1000 + 100 ms blind.
 */
function* waitForLink(c: Controller): TaskBody<boolean> {
  if (!c.port.linkActiveReporting) {
    yield c.msleep(LINK_TIMEOUT_MS + LINK_SETTLE_MS);
    return true;
  }
  yield c.msleep(LINK_ACTIVE_DELAY_MS);
  let timeout = LINK_TIMEOUT_MS;
  let up: boolean;
  for (;;) {
    up = (c.port.pcieRead16(C.PCI_EXP_LNKSTA) & PCI_EXP_LNKSTA_DLLLA) !== 0;
    if (up || timeout <= 0) break;
    yield c.msleep(LINK_POLL_MS);
    timeout -= LINK_POLL_MS;
  }
  if (up) yield c.msleep(LINK_SETTLE_MS);
  return up;
}

/**
 * pci_bus_check_dev: the Vendor/Device dword of secondary-bus 00.0 every 20 ms for up to 1 s.
 * All-ones, zero, half-ones and the CRS value 0x0001 all mean "not there yet" (no CRS wait).
 */
function* busCheckDev(c: Controller): TaskBody<boolean> {
  const bus = c.port.subordinate!;
  const at = { domain: bus.domain, bus: bus.number, devfn: 0 };
  let delay = DEV_CHECK_TIMEOUT_MS;
  let count = 0;
  let l = 0;
  let found = false;
  do {
    l = c.port.view.configRead(at, R.PCI_VENDOR_ID, 4);
    count++;
    found = !(l === 0xffffffff || l === 0 || l === 0x0000ffff || l === 0xffff0000 || (l & 0xffff) === 0x0001);
    if (found) break;
    yield c.msleep(DEV_CHECK_STEP_MS);
    delay -= DEV_CHECK_STEP_MS;
  } while (delay > 0);
  // pr_debug of pciehp_hpc.c: no device prefix.
  if (count > 1 && c.opts.debug) {
    c.guest.printk(`pci ${bus.name}:00.0 id reading try ${count} times with interval ${DEV_CHECK_STEP_MS} ms to get ${l.toString(16).padStart(8, '0')}`);
  }
  return found;
}

/** 0 when the link trained and 00.0 answers; -1 (with Linux's message) otherwise. */
export function* checkLinkStatus(c: Controller): TaskBody<number> {
  if (!(yield* waitForLink(c))) {
    c.info(`Slot(${c.name}): No link`);
    return -1;
  }
  if (c.inbandPresenceDisabled) {
    for (let t = PRESENCE_TIMEOUT_MS; t > 0 && !(c.port.pcieRead16(C.PCI_EXP_SLTSTA) & PCI_EXP_SLTSTA_PDS); t -= LINK_POLL_MS) yield c.msleep(LINK_POLL_MS);
  }
  const found = yield* busCheckDev(c);
  // Link and presence changes up to here came from our own power-on.
  if (found) c.pendingEvents &= ~(PCI_EXP_SLTSTA_DLLSC | PCI_EXP_SLTSTA_PDC);
  const lnk = c.port.pcieRead16(C.PCI_EXP_LNKSTA);
  c.dbg(`pciehp_check_link_status: lnk_status = ${lnk.toString(16)}`);
  if (lnk & PCI_EXP_LNKSTA_LT || !(lnk & PCI_EXP_LNKSTA_NLW)) {
    c.info(`Slot(${c.name}): Cannot train link: status ${hash06x(lnk)}`);
    return -1;
  }
  if (!found) {
    c.info(`Slot(${c.name}): No device found`);
    return -1;
  }
  return 0;
}
