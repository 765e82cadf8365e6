/**
 * BAR decoding at enumeration (drivers/pci/probe.c __pci_read_base, pci_read_bases,
 * pci_size, and the legacy IDE quirk in pci_setup_device): size by writing all-ones,
 * restore, and record the resource.
 */
import { regs as R } from '@plugboard/pci-core';
import { formatResource, type PciDev, type PciResource } from './pci-dev.js';

const PCI_COMMAND_DECODE_ENABLE = R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_IO;
const PCI_ROM_ADDRESS_MASK = 0xfffff800;
const IO_SPACE_LIMIT = 0xffff; // x86

/** Legacy IDE ports (probe.c "legacy IDE quirk"): BAR offset, start, end. */
const LEGACY_IDE: Array<[number, number, number]> = [[0x10, 0x1f0, 0x1f7], [0x14, 0x3f6, 0x3f6], [0x18, 0x170, 0x177], [0x1c, 0x376, 0x376]];

/** pci_read_bases: BARs 0..howmany-1 (a 64-bit BAR takes two), then the ROM at `rom`. */
export function readBases(dev: PciDev, howmany: number, rom: number, info: (text: string) => void): void {
  for (let pos = 0; pos < howmany; pos++) {
    const r = readBase(dev, R.PCI_BASE_ADDRESS_0 + 4 * pos, false, info);
    dev.resources[pos] = r;
    if (r?.is64) pos++;
  }
  if (rom) dev.resources[R.PCI_ROM_SLOT] = readBase(dev, rom, true, info);
}

/** __pci_read_base: size one BAR (decode off meanwhile, unless mmio_always_on). */
function readBase(dev: PciDev, pos: number, isRom: boolean, info: (text: string) => void): PciResource | undefined {
  const origCmd = dev.mmioAlwaysOn ? 0 : dev.read16(R.PCI_COMMAND);
  if (origCmd & PCI_COMMAND_DECODE_ENABLE) dev.write16(R.PCI_COMMAND, origCmd & ~PCI_COMMAND_DECODE_ENABLE);
  const mask = isRom ? PCI_ROM_ADDRESS_MASK : 0xffffffff;
  let l = dev.read32(pos);
  dev.write32(pos, (l | mask) >>> 0);
  let sz = dev.read32(pos);
  dev.write32(pos, l);
  if (sz === 0xffffffff) sz = 0;
  if (l === 0xffffffff) l = 0;
  const io = !isRom && (l & R.PCI_BASE_ADDRESS_SPACE_IO) !== 0;
  const is64 = !isRom && !io && (l & 0x06) === R.PCI_BASE_ADDRESS_MEM_TYPE_64;
  const low = isRom ? PCI_ROM_ADDRESS_MASK : io ? 0xfffffffc : 0xfffffff0;
  let l64 = BigInt((l & low) >>> 0);
  let sz64 = BigInt((sz & low) >>> 0);
  let mask64 = BigInt(io ? (0xfffffffc & IO_SPACE_LIMIT) : low);
  if (is64) {
    const lh = dev.read32(pos + 4);
    dev.write32(pos + 4, 0xffffffff);
    const szh = dev.read32(pos + 4);
    dev.write32(pos + 4, lh);
    l64 |= BigInt(lh) << 32n;
    sz64 |= BigInt(szh) << 32n;
    mask64 |= 0xffffffffn << 32n;
  }
  if (origCmd & PCI_COMMAND_DECODE_ENABLE) dev.write16(R.PCI_COMMAND, origCmd);
  if (!sz64) return undefined;
  const size = pciSize(l64, sz64, mask64);
  if (!size) {
    info(`[Firmware Bug]: reg 0x${pos.toString(16)}: invalid BAR (can't size)`);
    return undefined;
  }
  const res: PciResource = io
    ? { kind: 'io', start: Number(l64), end: Number(l64 + size) }
    : { kind: 'mem', start: Number(l64), end: Number(l64 + size), is64, pref: isRom || (l & R.PCI_BASE_ADDRESS_MEM_PREFETCH) !== 0 };
  info(`reg 0x${pos.toString(16)}: ${formatResource(res)}`);
  return res;
}

/** Legacy-mode IDE channels decode the ISA ports whatever BARs 0-3 say (probe.c). */
export function legacyIde(dev: PciDev, info: (text: string) => void): void {
  const progif = dev.read8(R.PCI_CLASS_PROG);
  LEGACY_IDE.forEach(([reg, start, end], i) => {
    const channelNative = progif & (i < 2 ? 1 : 4);
    if (channelNative) return;
    const res: PciResource = { kind: 'io', start, end };
    dev.resources[i] = res;
    info(`legacy IDE quirk: reg 0x${reg.toString(16)}: ${formatResource(res)}`);
  });
}

/** pci_size: the decode size minus one from the bits that stuck (0 when invalid). */
function pciSize(base: bigint, maxbase: bigint, mask: bigint): bigint {
  let size = mask & maxbase;
  if (!size) return 0n;
  size = (size & ~(size - 1n)) - 1n;
  if (base === maxbase && ((base | size) & mask) !== mask) return 0n;
  return size;
}
