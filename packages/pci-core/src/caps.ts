/**
 * Capability builders with QEMU's layouts and write masks (hw/pci/msi.c, hw/pci/msix.c,
 * hw/pci/pcie.c, hw/pci/pcie_aer.c, hw/pci-bridge/*.c).
 */
import type { PCIDevice } from './pci-device.js';
import * as R from './regs.js';
import { PCI_EXP_FLAGS_SLOT } from './pcie-regs.js';

/** msi_init: 32/64-bit, optional per-vector masking. Returns the cap size. */
export function msiInit(dev: PCIDevice, offset: number, vectors: number, is64: boolean, perVectorMask: boolean): void {
  const size = (is64 ? 0x0e : 0x0a) + (perVectorMask ? 0x0a : 0);
  dev.addCapability(R.PCI_CAP_ID_MSI, offset, size);
  const c = dev.config;
  let flags = (Math.ceil(Math.log2(vectors)) << 1) & R.PCI_MSI_FLAGS_QMASK;
  if (is64) flags |= R.PCI_MSI_FLAGS_64BIT;
  if (perVectorMask) flags |= R.PCI_MSI_FLAGS_MASKBIT;
  c.set16(offset + R.PCI_MSI_FLAGS, flags);
  c.setMask16(c.wmask, offset + R.PCI_MSI_FLAGS, R.PCI_MSI_FLAGS_QSIZE | R.PCI_MSI_FLAGS_ENABLE);
  c.setMask32(c.wmask, offset + R.PCI_MSI_ADDRESS_LO, 0xfffffffc);
  if (is64) c.setMask32(c.wmask, offset + R.PCI_MSI_ADDRESS_HI, 0xffffffff);
  c.setMask16(c.wmask, offset + (is64 ? R.PCI_MSI_DATA_64 : R.PCI_MSI_DATA_32), 0xffff);
  if (perVectorMask) c.setMask32(c.wmask, offset + (is64 ? R.PCI_MSI_MASK_64 : R.PCI_MSI_MASK_32), vectors >= 32 ? 0xffffffff : (1 << vectors) - 1);
}

/** msix_init: table and PBA inside BARs. */
export function msixInit(dev: PCIDevice, offset: number, vectors: number, tableBar: number, tableOffset: number, pbaBar: number, pbaOffset: number): void {
  dev.addCapability(R.PCI_CAP_ID_MSIX, offset, 12);
  const c = dev.config;
  c.set16(offset + R.PCI_MSIX_FLAGS, vectors - 1);
  c.set32(offset + R.PCI_MSIX_TABLE, (tableOffset | tableBar) >>> 0);
  c.set32(offset + R.PCI_MSIX_PBA, (pbaOffset | pbaBar) >>> 0);
  c.setMask16(c.wmask, offset + R.PCI_MSIX_FLAGS, R.PCI_MSIX_FLAGS_ENABLE | R.PCI_MSIX_FLAGS_MASKALL);
  // Table entries start masked (hw/pci/msix.c msix_mask_all); the BAR serves table and PBA.
  dev.msixTable = new Uint8Array(vectors * R.PCI_MSIX_ENTRY_SIZE);
  for (let v = 0; v < vectors; v++) dev.msixTable[v * R.PCI_MSIX_ENTRY_SIZE + 12] = 1;
  dev.msixLayout = { vectors, tableBar, tableOffset, pbaBar, pbaOffset };
}

/** Power management capability (PMC version 3, D0 only; state bits writable). */
export function pmInit(dev: PCIDevice, offset: number, pmc = 0x0003, opts: { ctrl?: number; wmask?: number; w1c?: number } = {}): void {
  dev.addCapability(R.PCI_CAP_ID_PM, offset, R.PCI_PM_SIZEOF);
  const c = dev.config;
  c.set16(offset + R.PCI_PM_PMC, pmc);
  c.set16(offset + R.PCI_PM_CTRL, opts.ctrl ?? R.PCI_PM_CTRL_NO_SOFT_RESET);
  c.setMask16(c.wmask, offset + R.PCI_PM_CTRL, opts.wmask ?? R.PCI_PM_CTRL_STATE_MASK);
  if (opts.w1c) c.setMask16(c.w1cmask, offset + R.PCI_PM_CTRL, opts.w1c);
}

/** Bridge subsystem vendor ID capability (pci_bridge_ssvid_init). */
export function ssvidInit(dev: PCIDevice, offset: number, vendor: number, device: number): void {
  dev.addCapability(R.PCI_CAP_ID_SSVID, offset, 8);
  dev.config.set16(offset + R.PCI_SSVID_VENDOR_ID, vendor);
  dev.config.set16(offset + R.PCI_SSVID_DEVICE_ID, device);
}

/** Slot identification capability of pci-bridge (hw/pci/slotid_cap.c). */
export function slotIdInit(dev: PCIDevice, offset: number, nslots: number, chassis: number): void {
  dev.addCapability(R.PCI_CAP_ID_SLOTID, offset, 4);
  const c = dev.config;
  // Expansion slot register: number of slots | first-in-chassis bit.
  c.set8(offset + 2, nslots | 0x20);
  c.set8(offset + 3, chassis);
  c.wmask[offset + 3] = 0xff;
}

/** Vendor-specific capability of `len` bytes (virtio structures). */
export function vendorCapInit(dev: PCIDevice, offset: number, bytes: number[]): void {
  dev.addCapability(R.PCI_CAP_ID_VNDR, offset, bytes.length + 2);
  bytes.forEach((b, i) => dev.config.set8(offset + 2 + i, b));
}

/** PCI Express capability types (PCI_EXP_FLAGS_TYPE). */
export const PCI_EXP_TYPE_ENDPOINT = 0x0;
export const PCI_EXP_TYPE_ROOT_PORT = 0x4;
export const PCI_EXP_TYPE_UPSTREAM = 0x5;
export const PCI_EXP_TYPE_DOWNSTREAM = 0x6;
export const PCI_EXP_TYPE_PCI_BRIDGE = 0x7;
export const PCI_EXP_TYPE_RC_END = 0x9;

export const PCI_EXP_FLAGS = 0x02;
/** Kept in `caps` for existing users; the PCIe capability bits live in pcie-regs. */
export { PCI_EXP_FLAGS_SLOT };
export const PCI_EXP_DEVCAP = 0x04;
export const PCI_EXP_DEVCAP_RBER = 0x8000;
export const PCI_EXP_DEVCAP_FLR = 0x10000000;
export const PCI_EXP_DEVCTL = 0x08;
export const PCI_EXP_DEVSTA = 0x0a;
export const PCI_EXP_LNKCAP = 0x0c;
export const PCI_EXP_LNKCTL = 0x10;
export const PCI_EXP_LNKSTA = 0x12;
export const PCI_EXP_SLTCAP = 0x14;
export const PCI_EXP_SLTCTL = 0x18;
export const PCI_EXP_SLTSTA = 0x1a;
export const PCI_EXP_RTCTL = 0x1c;
export const PCI_EXP_RTCAP = 0x1e;
export const PCI_EXP_RTSTA = 0x20;
export const PCI_EXP_DEVCAP2 = 0x24;
export const PCI_EXP_DEVCTL2 = 0x28;
export const PCI_EXP_LNKCAP2 = 0x2c;
export const PCI_EXP_LNKCTL2 = 0x30;
export const PCI_EXP_LNKSTA2 = 0x32;
export const PCI_EXP_VER1_SIZEOF = 0x14;
export const PCI_EXP_VER2_SIZEOF = 0x3c;

/**
 * pcie_cap_init (version 2): the parts every PCIe function has. Slot and root registers
 * belong to the port models (hotplug-pcie extends them).
 */
export function pcieCapInit(
  dev: PCIDevice, offset: number, type: number,
  opts: { port?: number; lnkcap?: number; lnksta?: number; devcap?: number; devcap2?: number; version?: 1 | 2 } = {},
): void {
  // Version 1 (pcie_cap_v1_fill, e1000e's pcie_endpoint_cap_v1_init) ends after Link Status.
  const v1 = opts.version === 1;
  dev.addCapability(R.PCI_CAP_ID_EXP, offset, v1 ? PCI_EXP_VER1_SIZEOF : PCI_EXP_VER2_SIZEOF);
  const c = dev.config;
  const hasSlot = type === PCI_EXP_TYPE_ROOT_PORT || type === PCI_EXP_TYPE_DOWNSTREAM;
  c.set16(offset + PCI_EXP_FLAGS, (v1 ? 1 : 2) | (type << 4) | (hasSlot ? PCI_EXP_FLAGS_SLOT : 0));
  c.set32(offset + PCI_EXP_DEVCAP, opts.devcap ?? PCI_EXP_DEVCAP_RBER);
  // pcie_cap_deverr_init: only the error-reporting enables are writable in Device Control
  // (QEMU 7.2 through CF8/CFC: 0xffff written reads back 0x000f); DEVSTA error bits W1C.
  c.setMask16(c.wmask, offset + PCI_EXP_DEVCTL, 0x000f);
  c.setMask16(c.w1cmask, offset + PCI_EXP_DEVSTA, 0x000f);
  c.set32(offset + PCI_EXP_LNKCAP, ((opts.port ?? 0) << 24 | (opts.lnkcap ?? 0x00000411)) >>> 0);
  c.set16(offset + PCI_EXP_LNKSTA, opts.lnksta ?? 0x0011);
  // Link Control stays read-only in QEMU 7.2 (0xffff written reads back 0).
  if (v1) return;
  c.set32(offset + PCI_EXP_DEVCAP2, opts.devcap2 ?? 0);
  // pcie_cap_init: End-End TLP Prefix Blocking; pcie_cap_arifwd_init: ARI Forwarding where the
  // function advertises it (observed 0x8020 on ports, 0x8000 on nvme).
  c.setMask16(c.wmask, offset + PCI_EXP_DEVCTL2, 0x8000 | ((opts.devcap2 ?? 0) & 0x0020));
}

/** pcie_aer_init: AER extended capability, version 2, 0x48 bytes, QEMU's defaults. */
export const PCI_ERR_UNCOR_STATUS = 0x04;
export const PCI_ERR_UNCOR_MASK = 0x08;
export const PCI_ERR_UNCOR_SEVER = 0x0c;
export const PCI_ERR_COR_STATUS = 0x10;
export const PCI_ERR_COR_MASK = 0x14;
export const PCI_ERR_CAP = 0x18;
export const PCI_ERR_ROOT_COMMAND = 0x2c;
export const PCI_ERR_ROOT_STATUS = 0x30;
export const PCI_ERR_SIZEOF = 0x48;
export const PCI_ERR_UNC_SUPPORTED = 0x003ff030 | 0x00400000 | 0x01000000 | 0x02000000;
export const PCI_ERR_UNC_SEVERITY_DEFAULT = 0x00462030;
export const PCI_ERR_COR_SUPPORTED = 0x000031c1 | 0x00004000 | 0x00008000 | 0x00002000;
export const PCI_ERR_COR_MASK_DEFAULT = 0x0000e000;

export function aerInit(dev: PCIDevice, offset: number, opts: { rootPort: boolean }): void {
  dev.addExtCapability(R.PCI_EXT_CAP_ID_ERR, 2, offset, PCI_ERR_SIZEOF);
  const c = dev.config;
  c.setMask32(c.w1cmask, offset + PCI_ERR_UNCOR_STATUS, PCI_ERR_UNC_SUPPORTED);
  c.setMask32(c.wmask, offset + PCI_ERR_UNCOR_MASK, PCI_ERR_UNC_SUPPORTED);
  c.set32(offset + PCI_ERR_UNCOR_SEVER, PCI_ERR_UNC_SEVERITY_DEFAULT);
  c.setMask32(c.wmask, offset + PCI_ERR_UNCOR_SEVER, PCI_ERR_UNC_SUPPORTED);
  c.setMask32(c.w1cmask, offset + PCI_ERR_COR_STATUS, PCI_ERR_COR_SUPPORTED);
  c.set32(offset + PCI_ERR_COR_MASK, PCI_ERR_COR_MASK_DEFAULT);
  c.setMask32(c.wmask, offset + PCI_ERR_COR_MASK, PCI_ERR_COR_SUPPORTED);
  // ECRC generation/check capable, their enables writable.
  c.set32(offset + PCI_ERR_CAP, 0x00000020 | 0x00000080);
  c.setMask32(c.wmask, offset + PCI_ERR_CAP, 0x00000040 | 0x00000100);
  if (opts.rootPort) {
    c.setMask32(c.wmask, offset + PCI_ERR_ROOT_COMMAND, 0x7);
    c.setMask32(c.w1cmask, offset + PCI_ERR_ROOT_STATUS, 0x7f);
  }
}

/** pcie_acs_init (root ports): ACS capability register with QEMU's supported controls. */
export function acsInit(dev: PCIDevice, offset: number): void {
  dev.addExtCapability(R.PCI_EXT_CAP_ID_ACS, 1, offset, 8);
  const c = dev.config;
  c.set16(offset + 4, 0x001f);
  c.setMask16(c.wmask, offset + 6, 0x001f);
}

/** Device serial number extended capability. */
export function dsnInit(dev: PCIDevice, offset: number, serial: bigint): void {
  dev.addExtCapability(R.PCI_EXT_CAP_ID_DSN, 1, offset, 12);
  dev.config.set32(offset + 4, Number(serial & 0xffffffffn));
  dev.config.set32(offset + 8, Number(serial >> 32n));
}
