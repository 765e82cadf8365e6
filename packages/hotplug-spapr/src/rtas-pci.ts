/**
 * ibm,read-pci-config / ibm,write-pci-config (hw/ppc/spapr_pci.c): the only way a pseries
 * guest reaches PCI config space. The config address packs the register, bus and devfn
 * (((reg & 0xf00) << 20) | bus << 16 | devfn << 8 | (reg & 0xff)); the PHB is named by BUID.
 */
import { findBusNr, type PCIDevice } from '@plugboard/pci-core';
import * as K from './constants.js';
import type { SpaprPhb } from './phb.js';

/** rtas_pci_cfgaddr: the register offset inside the config address. */
export const rtasPciCfgaddr = (arg: number): number => ((arg >>> 20) & 0xf00) | (arg & 0xff);
/** The config address a guest builds for (bus, devfn, reg). */
export const rtasConfigAddr = (bus: number, devfn: number, reg: number): number => (((reg & 0xf00) << 20) | (bus << 16) | (devfn << 8) | (reg & 0xff)) >>> 0;

/** find_dev: the PHB by BUID, then the function at (bus, devfn) whether or not fn 0 exists. */
function findDev(phbs: readonly SpaprPhb[], buidHi: number, buidLo: number, addr: number): PCIDevice | undefined {
  const buid = (BigInt(buidHi >>> 0) << 32n) | BigInt(buidLo >>> 0);
  const phb = phbs.find((p) => p.buid === buid);
  if (!phb) return undefined;
  return findBusNr(phb.rootBus, (addr >>> 16) & 0xff)?.deviceAt((addr >>> 8) & 0xff);
}

const validSize = (size: number): boolean => size === 1 || size === 2 || size === 4;

/** ibm,read-pci-config(addr, buid_hi, buid_lo, size) -> status, value. */
export function rtasReadPciConfig(phbs: readonly SpaprPhb[], args: readonly number[], nret: number): number[] {
  if (args.length !== 4 || nret !== 2) return [K.RTAS_OUT_HW_ERROR];
  const [addr, hi, lo, size] = args as [number, number, number, number];
  if (!validSize(size)) return [K.RTAS_OUT_HW_ERROR];
  const dev = findDev(phbs, hi, lo, addr);
  const reg = rtasPciCfgaddr(addr);
  // Only a present function, naturally aligned and inside its config space.
  if (!dev || reg % size || reg >= dev.config.size) return [K.RTAS_OUT_HW_ERROR];
  return [K.RTAS_OUT_SUCCESS, dev.configRead(reg, size)];
}

/** ibm,write-pci-config(addr, buid_hi, buid_lo, size, value) -> status. */
export function rtasWritePciConfig(phbs: readonly SpaprPhb[], args: readonly number[], nret: number): number[] {
  if (args.length !== 5 || nret !== 1) return [K.RTAS_OUT_HW_ERROR];
  const [addr, hi, lo, size, val] = args as [number, number, number, number, number];
  if (!validSize(size)) return [K.RTAS_OUT_HW_ERROR];
  const dev = findDev(phbs, hi, lo, addr);
  const reg = rtasPciCfgaddr(addr);
  if (!dev || reg % size || reg >= dev.config.size) return [K.RTAS_OUT_HW_ERROR];
  dev.configWrite(reg, val >>> 0, size);
  return [K.RTAS_OUT_SUCCESS];
}
