/**
 * Board devices that hotplug never touches but that hold places in the QOM tree
 * (`/machine/unattached/device[N]` numbering, `info qtree`): CPUs, ISA devices, SMBus
 * EEPROMs, interrupt controllers. They carry no behaviour.
 */
import { Device, type Machine, type TypeDef } from '@plugboard/qdev';

const board = (name: string, parent: string, extra: Partial<TypeDef> = {}): TypeDef => ({ name, parent, userCreatable: false, hotpluggable: false, ...extra });

export const boardTypes: TypeDef[] = [
  { name: 'isa-device', parent: 'device', abstract: true, busType: 'ISA' },
  { name: 'i2c-slave', parent: 'device', abstract: true, busType: 'i2c-bus' },
  { name: 'cpu', parent: 'device', abstract: true, userCreatable: false },
  board('qemu64-x86_64-cpu', 'cpu'),
  board('kvmvapic', 'sys-bus-device'),
  board('hpet', 'sys-bus-device'),
  board('ioapic', 'sys-bus-device'),
  board('fw_cfg_io', 'sys-bus-device'),
  ...['i8257', 'isa-i8259', 'mc146818rtc', 'isa-pit', 'isa-pcspk', 'isa-fdc', 'i8042', 'vmport', 'vmmouse', 'port92'].map((n) => board(n, 'isa-device')),
  board('smbus-eeprom', 'i2c-slave'),
  board('spapr-xive', 'sys-bus-device'),
  board('spapr-vio-bridge', 'sys-bus-device'),
  board('spapr-nvram', 'device', { busType: 'spapr-vio-bus' }),
];

/** Adds `count` plain board devices of `type` on `bus` under /machine/unattached. */
export function addBoardDevices(m: Machine, type: string, bus: Parameters<Machine['addBoardDevice']>[1], count = 1): Device[] {
  const out: Device[] = [];
  for (let i = 0; i < count; i++) out.push(m.addBoardDevice(type, bus));
  return out;
}
