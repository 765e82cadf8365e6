/**
 * The link registers of a slot's port: what LNKCAP advertises (hw/pci/pcie.c
 * pcie_cap_fill_slot_lnk) and how LNKSTA follows the device below (pcie_sync_bridge_lnk),
 * spec/pcie-slot.md §1 and §3.
 */
import { caps, regs, type PCIBus, type PCIDevice } from '@plugboard/pci-core';
import {
  PCIE_LINK_SPEED_16GT, PCIE_LINK_SPEED_2_5GT, PCIE_LINK_SPEED_5GT, PCIE_LINK_SPEED_8GT, PCIE_LINK_WIDTH_X1, PCI_EXP_LNKCAP2_SLS_16_0GB,
  PCI_EXP_LNKCAP2_SLS_2_5GB, PCI_EXP_LNKCAP2_SLS_5_0GB, PCI_EXP_LNKCAP2_SLS_8_0GB, PCI_EXP_LNKCAP_DLLLARC, PCI_EXP_LNKCAP_LBNC,
  PCI_EXP_LNKCAP_MLW, PCI_EXP_LNKCAP_MLW_SHIFT, PCI_EXP_LNKCAP_SLS, PCI_EXP_LNKCTL2_TLS, PCI_EXP_LNKSTA_CLS, PCI_EXP_LNKSTA_NLW,
  PCI_EXP_LNKSTA_NLW_SHIFT,
} from './regs.js';

/** `x-speed` / `x-width` values (QEMU's PCIELinkSpeed / PCIELinkWidth enums) as field encodings. */
const SPEED_PROP: Record<string, number> = { '2_5': PCIE_LINK_SPEED_2_5GT, '5': PCIE_LINK_SPEED_5GT, '8': PCIE_LINK_SPEED_8GT, '16': PCIE_LINK_SPEED_16GT };
const SPEED_PROP_NAME = 'x-speed';
const WIDTH_PROP_NAME = 'x-width';
const LINK_FIELDS = PCI_EXP_LNKSTA_CLS | PCI_EXP_LNKSTA_NLW;
/** Link status after pcie_cap_init: x1 at 2.5 GT/s, link not active. */
const LNKSTA_INIT = (PCIE_LINK_WIDTH_X1 << PCI_EXP_LNKSTA_NLW_SHIFT) | PCIE_LINK_SPEED_2_5GT;

/**
 * Speed and width the port's slot advertises. pcie-root-port takes them from `x-speed` /
 * `x-width`; types without those properties keep what the catalog put in LNKCAP (ioh3420:
 * 2.5 GT/s x1; xio3130-downstream: 0/0, QEMU's PCIESlot fields are never set there,
 * observed LNKCAP 0x00000400).
 */
function advertisedLink(port: PCIDevice, lnkcap: number): { speed: number; width: number } {
  const speedProp = port.type.property(SPEED_PROP_NAME) ? port.prop<string>(SPEED_PROP_NAME) : undefined;
  const widthProp = port.type.property(WIDTH_PROP_NAME) ? port.prop<string>(WIDTH_PROP_NAME) : undefined;
  return {
    speed: speedProp !== undefined ? SPEED_PROP[speedProp] ?? PCIE_LINK_SPEED_2_5GT : lnkcap & PCI_EXP_LNKCAP_SLS,
    width: widthProp !== undefined ? Number(widthProp) : (lnkcap & PCI_EXP_LNKCAP_MLW) >>> PCI_EXP_LNKCAP_MLW_SHIFT,
  };
}

/**
 * pcie_cap_fill_slot_lnk plus the link bits pcie_cap_init leaves: observed on 7.2
 * pcie-root-port x-speed/x-width 2_5/4 -> LNKCAP 0x00200441; 5/1 -> 0x00300412, LNKCTL2 0x2;
 * 8/4 -> 0x00300443, LNKCAP2 0xe, LNKCTL2 0x3; 16/32 (default) -> 0x00300604, LNKCAP2 0x1e,
 * LNKCTL2 0x4. Link Control is read-only on QEMU's ports (observed: writing 0xffff reads 0).
 */
export function initSlotLink(port: PCIDevice, exp: number): void {
  const c = port.config;
  let lnkcap = c.get32(exp + caps.PCI_EXP_LNKCAP);
  const { speed, width } = advertisedLink(port, lnkcap);
  // pcie_cap_init's LNKCAP has neither LBNC nor DLLLARC; they follow from speed and width.
  lnkcap = (lnkcap & ~(PCI_EXP_LNKCAP_SLS | PCI_EXP_LNKCAP_MLW | PCI_EXP_LNKCAP_LBNC | PCI_EXP_LNKCAP_DLLLARC)) | speed | (width << PCI_EXP_LNKCAP_MLW_SHIFT);
  // Link bandwidth notification for links wider than x1 or faster than 2.5 GT/s; DLLLA
  // reporting (and a target speed) above 2.5 GT/s.
  if (width > PCIE_LINK_WIDTH_X1 || speed > PCIE_LINK_SPEED_2_5GT) lnkcap |= PCI_EXP_LNKCAP_LBNC;
  if (speed > PCIE_LINK_SPEED_2_5GT) {
    lnkcap |= PCI_EXP_LNKCAP_DLLLARC;
    c.set16(exp + caps.PCI_EXP_LNKCTL2, (c.get16(exp + caps.PCI_EXP_LNKCTL2) & ~PCI_EXP_LNKCTL2_TLS) | (speed & PCI_EXP_LNKCTL2_TLS));
  }
  c.set32(exp + caps.PCI_EXP_LNKCAP, lnkcap >>> 0);
  // Above 5 GT/s LNKCAP2 lists every speed up to the maximum.
  if (speed > PCIE_LINK_SPEED_5GT) {
    let sls = PCI_EXP_LNKCAP2_SLS_2_5GB | PCI_EXP_LNKCAP2_SLS_5_0GB | PCI_EXP_LNKCAP2_SLS_8_0GB;
    if (speed > PCIE_LINK_SPEED_8GT) sls |= PCI_EXP_LNKCAP2_SLS_16_0GB;
    c.set32(exp + caps.PCI_EXP_LNKCAP2, sls);
  }
  c.set16(exp + caps.PCI_EXP_LNKSTA, LNKSTA_INIT);
  c.setMask16(c.wmask, exp + caps.PCI_EXP_LNKCTL, 0);
}

/**
 * Whether LNKSTA re-syncs from the device below on reads. Observed: root ports do
 * (empty pcie-root-port 0x0204, x-width=4 at 2.5 GT/s 0x0041); xio3130-downstream, whose
 * LNKCAP advertises no speed or width, never does (empty 0x0011; a child at 0x0043 still
 * gives 0x2011).
 */
export function linkStatusFollowsChild(port: PCIDevice, exp: number): boolean {
  return (port.config.get32(exp + caps.PCI_EXP_LNKCAP) & (PCI_EXP_LNKCAP_SLS | PCI_EXP_LNKCAP_MLW)) !== 0;
}

/** A config word as the function's own config_read gives it (models included, power ignored). */
function functionRead16(dev: PCIDevice, off: number): number {
  for (const m of dev.models) {
    const v = m.configRead?.(dev, off, 2);
    if (typeof v === 'number') return v & 0xffff;
  }
  return dev.config.get16(off);
}

/**
 * pcie_sync_bridge_lnk: LNKSTA speed/width become those of the device at devfn 0 below,
 * clamped to the port's LNKCAP (zero fields read as x1 / 2.5 GT/s); without a PCIe device
 * there, the port's own LNKCAP maximums (observed: e1000 behind pcie-root-port 0x2204).
 */
export function syncLinkStatus(port: PCIDevice, exp: number, secondary: PCIBus): void {
  const c = port.config;
  const lnkcap = c.get16(exp + caps.PCI_EXP_LNKCAP);
  const target = secondary.deviceAt(0);
  const targetExp = target?.caps.get(regs.PCI_CAP_ID_EXP);
  let lnksta: number;
  if (!target || targetExp === undefined) {
    lnksta = lnkcap;
  } else {
    lnksta = functionRead16(target, targetExp + caps.PCI_EXP_LNKSTA);
    if ((lnksta & PCI_EXP_LNKSTA_NLW) > (lnkcap & PCI_EXP_LNKCAP_MLW)) lnksta = (lnksta & ~PCI_EXP_LNKSTA_NLW) | (lnkcap & PCI_EXP_LNKCAP_MLW);
    else if (!(lnksta & PCI_EXP_LNKSTA_NLW)) lnksta |= PCIE_LINK_WIDTH_X1 << PCI_EXP_LNKSTA_NLW_SHIFT;
    if ((lnksta & PCI_EXP_LNKSTA_CLS) > (lnkcap & PCI_EXP_LNKCAP_SLS)) lnksta = (lnksta & ~PCI_EXP_LNKSTA_CLS) | (lnkcap & PCI_EXP_LNKCAP_SLS);
    else if (!(lnksta & PCI_EXP_LNKSTA_CLS)) lnksta |= PCIE_LINK_SPEED_2_5GT;
  }
  const cur = c.get16(exp + caps.PCI_EXP_LNKSTA);
  c.set16(exp + caps.PCI_EXP_LNKSTA, (cur & ~LINK_FIELDS) | (lnksta & LINK_FIELDS));
}
