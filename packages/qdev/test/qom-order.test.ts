import { describe, expect, it } from 'vitest';
import { Container } from '../src/object.js';
import { Device } from '../src/device.js';
import { Machine } from '../src/machine.js';
import { TypeRegistry } from '../src/types.js';
import { coreTypes } from '../src/core-types.js';
import { boolProp, int32Prop, macaddrProp, pciDevfnProp, strProp, uint32Prop } from '../src/properties.js';
import { infoQomTree } from '../src/introspect.js';

const names = (o: { listProperties(): Array<{ name: string }> }) => o.listProperties().map((p) => p.name);

// Orders below were read from QEMU 7.2's qom-list (fixtures/qemu-7.2/errors-*.json and
// fresh runs of Debian's qemu-system-x86_64 1:7.2+dfsg-7).
describe('qom-list order (GLib hash order of QOM property tables)', () => {
  it('lists the object table, then class tables up the chain, reversed', () => {
    const root = new Container();
    for (const n of ['machine', 'chardevs', 'objects']) root.addChild(n, new Container());
    expect(names(root)).toEqual(['type', 'objects', 'machine', 'chardevs']);
  });

  it('puts qdev properties in their class tables, legacy-addr next to addr, bootindex in the instance', () => {
    const registry = new TypeRegistry();
    const p = (name: string, kind: unknown) => ({ name, kind: kind as never });
    registry.register(
      ...coreTypes,
      {
        name: 'pci-device', parent: 'device', abstract: true,
        properties: [p('addr', pciDevfnProp), p('romfile', strProp), p('romsize', uint32Prop), p('rombar', uint32Prop), p('multifunction', boolProp),
          p('x-pcie-lnksta-dllla', boolProp), p('x-pcie-extcap-init', boolProp), p('failover_pair_id', strProp), p('acpi-index', uint32Prop)],
      },
      {
        name: 'e1000', parent: 'pci-device',
        properties: [p('mac', macaddrProp), p('netdev', strProp), p('autonegotiation', boolProp), p('mitigation', boolProp),
          p('extra_mac_registers', boolProp), p('migrate_tso_props', boolProp), p('init-vet', boolProp), p('bootindex', int32Prop)],
      },
    );
    const m = new Machine({ registry, typeName: 'pc-i440fx-7.2-machine' });
    const d = new Device(registry.get('e1000')!, m);
    d.defineProperty({ name: 'legacy-addr', type: 'str' }, { classLevel: true });
    // errors-pc exchange 108 without the memory-region children Plugboard does not model.
    expect(names(d)).toEqual([
      'type', 'parent_bus', 'realized', 'hotplugged', 'hotpluggable',
      'failover_pair_id', 'romfile', 'addr', 'romsize', 'x-pcie-lnksta-dllla', 'rombar', 'x-pcie-extcap-init', 'acpi-index', 'multifunction', 'legacy-addr',
      'init-vet', 'mitigation', 'netdev', 'autonegotiation', 'extra_mac_registers', 'migrate_tso_props', 'mac',
      'bootindex',
    ]);
  });

  it('info qom-tree sorts children by name', () => {
    const registry = new TypeRegistry();
    registry.register(...coreTypes);
    const m = new Machine({ registry, typeName: 'pc-q35-7.2-machine' });
    for (const n of ['rp7', 'dn1', 'h1', 'Z']) m.peripheral.addChild(n, new Container());
    expect(infoQomTree(m, '/machine/peripheral')).toBe('/peripheral (container)\r\n  /Z (container)\r\n  /dn1 (container)\r\n  /h1 (container)\r\n  /rp7 (container)\r\n');
    expect(infoQomTree(m, '/nonexistent')).toBe("Path '/nonexistent' could not be resolved.\r\n");
  });
});
