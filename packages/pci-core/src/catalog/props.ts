/** Turns QEMU's declared property lists into qdev PropertyDefs. */
import {
  backendRefProp, boolProp, enumProp, macaddrProp, int32Prop, linkProp, onOffAutoProp, refProp, sizeProp, strProp, uint16Prop, uint32Prop, uint64Prop, uint8Prop,
  type PropKind, type PropertyDef,
} from '@plugboard/qdev';
import { INERT_PROPERTIES, type InertProperty } from './inert-properties.js';
import { pciDeviceProperties } from '../pci-device.js';

const PCIE_LINK_WIDTH = enumProp('PCIELinkWidth', ['1', '2', '4', '8', '12', '16', '32']);
const PCIE_LINK_SPEED = enumProp('PCIELinkSpeed', ['2_5', '5', '8', '16']);

function kindFor(type: string): PropKind<unknown> {
  switch (type) {
    case 'bool': return boolProp as PropKind<unknown>;
    case 'str': return strProp as PropKind<unknown>;
    case 'uint8': return uint8Prop as PropKind<unknown>;
    case 'uint16': return uint16Prop as PropKind<unknown>;
    case 'uint32': return uint32Prop as PropKind<unknown>;
    case 'uint64': return uint64Prop as PropKind<unknown>;
    case 'int32': return int32Prop as PropKind<unknown>;
    case 'size': return sizeProp as PropKind<unknown>;
    case 'OnOffAuto': return onOffAutoProp as PropKind<unknown>;
    case 'PCIELinkWidth': return PCIE_LINK_WIDTH as PropKind<unknown>;
    case 'PCIELinkSpeed': return PCIE_LINK_SPEED as PropKind<unknown>;
    default:
      if (type.startsWith('link<')) return linkProp(type.slice(5, -1)) as PropKind<unknown>;
      return refProp(type) as PropKind<unknown>;
  }
}

const COMMON = new Set<string>(pciDeviceProperties.map((p) => p.name));

/** Properties whose values QEMU checks against backends or a syntax of their own. */
const SPECIAL_KINDS: Record<string, () => PropKind<unknown>> = {
  mac: () => macaddrProp as PropKind<unknown>,
  netdev: () => backendRefProp() as PropKind<unknown>,
  drive: () => backendRefProp() as PropKind<unknown>,
  chardev: () => backendRefProp() as PropKind<unknown>,
};

function toDef(p: InertProperty): PropertyDef {
  const kind = p.type === 'str' && SPECIAL_KINDS[p.name] ? SPECIAL_KINDS[p.name]!() : kindFor(p.type);
  const def: PropertyDef = { name: p.name, kind, ...(p.type.startsWith('child<') ? { child: true } : {}) };
  if (p.description !== undefined) def.description = p.description;
  // UINT64_MAX defaults (the *-reserve sizes) lose precision as JSON numbers in the
  // generated table; they are exactly 2^64-1 in QEMU.
  if (typeof p.default === 'number' && p.default >= 2 ** 64) def.default = (1n << 64n) - 1n;
  else if (p.default !== undefined) def.default = p.default;
  else if (p.type === 'str') def.default = null;
  return def;
}

/**
 * A type's own properties as QEMU 7.2 declares them (minus the common PCI ones), with
 * `overrides` replacing entries Plugboard models itself. Child objects are not properties.
 */
export function qemuProperties(typeName: string, overrides: PropertyDef[] = []): PropertyDef[] {
  const declared = (INERT_PROPERTIES[typeName] ?? []).filter((p) => !COMMON.has(p.name));
  const out = declared.map((p) => overrides.find((o) => o.name === p.name) ?? toDef(p));
  for (const o of overrides) if (!out.some((p) => p.name === o.name)) out.push(o);
  return out;
}
