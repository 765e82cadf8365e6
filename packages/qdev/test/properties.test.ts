import { describe, expect, it } from 'vitest';
import { boolProp, parsePropValue, pciDevfnProp, uint8Prop, type PropertyDef } from '../src/index.js';

const addr: PropertyDef = { name: 'addr', kind: pciDevfnProp, default: -1 };
const multi: PropertyDef = { name: 'multifunction', kind: boolProp, default: false };
const chassis: PropertyDef = { name: 'chassis', kind: uint8Prop, default: 0 };

describe('QemuOpts property parsing (hw/core/qdev-properties*.c)', () => {
  it('addr takes hex slot[.fn]; QMP integers are read as hex text', () => {
    expect(parsePropValue('e1000', addr, '6')).toBe(48);
    expect(parsePropValue('e1000', addr, '1f.7')).toBe(0xff);
    expect(parsePropValue('e1000', addr, '0x1f')).toBe(0xf8);
    expect(parsePropValue('e1000', addr, 10)).toBe(0x10 << 3);
  });
  it.each(['zz', '0x20', '300', '-1', '5.8', ''])('addr=%s is refused with QEMU text', (v) => {
    expect(() => parsePropValue('e1000', addr, v)).toThrow(`Property 'e1000.addr' doesn't take value '${v}'`);
  });
  it('a boolean given to addr is printed as on', () => {
    expect(() => parsePropValue('e1000', addr, true)).toThrow("Property 'e1000.addr' doesn't take value 'on'");
  });
  it('bool accepts on/off/yes/no/true/false', () => {
    for (const v of ['on', 'yes', 'true', 'y']) expect(parsePropValue('e1000', multi, v)).toBe(true);
    for (const v of ['off', 'no', 'false', 'n']) expect(parsePropValue('e1000', multi, v)).toBe(false);
    expect(parsePropValue('e1000', multi, true)).toBe(true);
    expect(() => parsePropValue('e1000', multi, 'maybe')).toThrow("Parameter 'multifunction' expects 'on' or 'off'");
  });
  it('integers: decimal, hex, range checked', () => {
    expect(parsePropValue('pcie-root-port', chassis, '0x10')).toBe(16);
    expect(parsePropValue('pcie-root-port', chassis, 255)).toBe(255);
    expect(() => parsePropValue('pcie-root-port', chassis, 256)).toThrow("Parameter 'chassis' expects uint8_t");
    expect(() => parsePropValue('pcie-root-port', chassis, 'x')).toThrow("Parameter 'chassis' expects a uint64 value or range");
  });
});
