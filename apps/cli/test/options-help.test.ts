import { describe, expect, it } from 'vitest';
import {
  deviceHelpNotFound,
  formatDeviceList,
  formatHelp,
  formatMachineList,
  formatPropertyList,
  formatVersion,
  qemuJson,
} from '../src/options/help.js';

describe('-version', () => {
  it('has QEMU 7.2\'s two lines with Plugboard as the package', () => {
    expect(formatVersion()).toBe(
      'QEMU emulator version 7.2.22 (Plugboard 0.1.0)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n',
    );
    // Same shape as Debian's: QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)
    expect(formatVersion({ pkgVersion: 'Debian 1:7.2+dfsg-7+deb12u18+b3' }).split('\n')[0]).toBe(
      'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)',
    );
    expect(formatVersion({ qemuVersion: '7.2.0', pkgVersion: '' }).split('\n')[0]).toBe('QEMU emulator version 7.2.0');
  });
});

describe('-h', () => {
  const help = formatHelp();
  it('starts like QEMU and keeps its layout', () => {
    expect(help.startsWith(`${formatVersion()}usage: plugboard [options]\n\nStandard options:\n-h or -help     display this help and exit\n`)).toBe(true);
    expect(help).toContain('\n-version        display version information and exit\n');
    expect(help).toContain(
      '-device driver[,prop[=value][,...]]\n' +
        '                add device (based on driver)\n' +
        '                prop=value,... sets driver properties\n' +
        "                use '-device help' to print all possible drivers\n" +
        "                use '-device driver,help' to print all possible properties\n",
    );
    expect(help).toContain('\n-qmp-pretty dev like -qmp but uses pretty JSON formatting\n');
    expect(help).toContain("\n-S              freeze CPU at startup (use 'c' to start execution)\n");
    expect(help).toContain('\n\nDebug/Expert options:\n-serial dev     redirect the serial port to char device \'dev\'\n');
    expect(help).toContain('\n\nDisplay options:\n-display none\n                select display backend type\n');
    expect(help).toContain(
      '\n\nPlugboard options:\n--clock virtual|realtime[,scale=N]\n' +
        '                virtual: time jumps to the next timer (default)\n' +
        '                realtime: follows the wall clock, scaled by N\n',
    );
    expect(help).toContain('\n--guest POLICY  behavior policy of the simulated guest OS\n');
    expect(help.endsWith('\n')).toBe(true);
    expect(help).not.toContain('\n\n\n');
  });
});

describe('-machine help', () => {
  it('matches QEMU 7.2 line for line', () => {
    const text = formatMachineList([
      { name: 'microvm', desc: 'microvm (i386)' },
      { name: 'pc-i440fx-7.2', alias: 'pc', desc: 'Standard PC (i440FX + PIIX, 1996)', isDefault: true },
      { name: 'pc-i440fx-1.4', desc: 'Standard PC (i440FX + PIIX, 1996)', deprecated: true },
      { name: 'pc-q35-7.2', alias: 'q35', desc: 'Standard PC (Q35 + ICH9, 2009)' },
      { name: 'pc-q35-4.0.1', desc: 'Standard PC (Q35 + ICH9, 2009)' },
      { name: 'x-remote', desc: 'Experimental remote machine' },
    ]);
    expect(text).toBe(
      'Supported machines are:\n' +
        'microvm              microvm (i386)\n' +
        'pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)\n' +
        'pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)\n' +
        'pc-i440fx-1.4        Standard PC (i440FX + PIIX, 1996) (deprecated)\n' +
        'q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)\n' +
        'pc-q35-7.2           Standard PC (Q35 + ICH9, 2009)\n' +
        'pc-q35-4.0.1         Standard PC (Q35 + ICH9, 2009)\n' +
        'x-remote             Experimental remote machine\n',
    );
  });
});

describe('-device help', () => {
  it('groups by category in QEMU order, sorted ignoring case', () => {
    const text = formatDeviceList([
      { name: 'pcie-root-port', bus: 'PCI', desc: 'PCI Express Root Port', category: 'bridge' },
      { name: 'pci-bridge', bus: 'PCI', desc: 'Standard PCI Bridge', category: 'bridge' },
      { name: 'pcie-pci-bridge', bus: 'PCI', category: 'bridge' },
      { name: 'e1000', bus: 'PCI', alias: 'e1000-82540em', desc: 'Intel Gigabit Ethernet', category: 'network' },
      { name: 'virtio-net-pci', bus: 'PCI', alias: 'virtio-net', category: 'network' },
      { name: 'base-x86_64-cpu', category: 'cpu' },
      { name: 'Broadwell-x86_64-cpu', category: 'cpu' },
      { name: 'athlon-x86_64-cpu', category: 'cpu' },
      { name: 'pc-dimm', desc: 'DIMM memory module' },
      { name: 'isa-ipmi-bt', bus: 'ISA' },
      { name: 'i440FX-pcihost', category: 'bridge', userCreatable: false },
    ]);
    expect(text).toBe(
      'Controller/Bridge/Hub devices:\n' +
        'name "pci-bridge", bus PCI, desc "Standard PCI Bridge"\n' +
        'name "pcie-pci-bridge", bus PCI\n' +
        'name "pcie-root-port", bus PCI, desc "PCI Express Root Port"\n' +
        '\n' +
        'Network devices:\n' +
        'name "e1000", bus PCI, alias "e1000-82540em", desc "Intel Gigabit Ethernet"\n' +
        'name "virtio-net-pci", bus PCI, alias "virtio-net"\n' +
        '\n' +
        'CPU devices:\n' +
        'name "athlon-x86_64-cpu"\n' +
        'name "base-x86_64-cpu"\n' +
        'name "Broadwell-x86_64-cpu"\n' +
        '\n' +
        'Uncategorized devices:\n' +
        'name "isa-ipmi-bt", bus ISA\n' +
        'name "pc-dimm", desc "DIMM memory module"\n',
    );
  });

  it('starts with a blank line when the first category is empty, as QEMU does', () => {
    expect(formatDeviceList([{ name: 'qemu-xhci', bus: 'PCI', category: 'usb' }])).toBe('\nUSB devices:\nname "qemu-xhci", bus PCI\n');
    expect(formatDeviceList([{ name: 'x', category: ['bridge', 'misc'] }])).toBe(
      'Controller/Bridge/Hub devices:\nname "x"\n\nMisc devices:\nname "x"\n',
    );
  });
});

describe('-device DRIVER,help', () => {
  it('matches QEMU 7.2 for e1000 byte for byte', () => {
    const bool = (name: string, dflt: boolean, description = 'on/off') => ({ name, type: 'bool', description, defaultValue: dflt });
    const text = formatPropertyList('e1000', [
      { name: 'mac', type: 'str', description: 'Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56' },
      { name: 'netdev', type: 'str', description: 'ID of a netdev to use as a backend' },
      { name: 'bootindex', type: 'int32' },
      bool('autonegotiation', true),
      bool('mitigation', true),
      bool('extra_mac_registers', true),
      bool('migrate_tso_props', true),
      bool('init-vet', true),
      { name: 'acpi-index', type: 'uint32', defaultValue: 0 },
      { name: 'addr', type: 'int32', description: 'Slot and optional function number, example: 06.0 or 06', defaultValue: -1 },
      { name: 'romfile', type: 'str' },
      { name: 'romsize', type: 'uint32', defaultValue: 4294967295 },
      { name: 'rombar', type: 'uint32', defaultValue: 1 },
      bool('multifunction', false),
      bool('x-pcie-lnksta-dllla', true),
      bool('x-pcie-extcap-init', true),
      { name: 'failover_pair_id', type: 'str' },
    ]);
    expect(text).toBe(
      'e1000 options:\n' +
        '  acpi-index=<uint32>    -  (default: 0)\n' +
        '  addr=<int32>           - Slot and optional function number, example: 06.0 or 06 (default: -1)\n' +
        '  autonegotiation=<bool> - on/off (default: true)\n' +
        '  bootindex=<int32>\n' +
        '  extra_mac_registers=<bool> - on/off (default: true)\n' +
        '  failover_pair_id=<str>\n' +
        '  init-vet=<bool>        - on/off (default: true)\n' +
        '  mac=<str>              - Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56\n' +
        '  migrate_tso_props=<bool> - on/off (default: true)\n' +
        '  mitigation=<bool>      - on/off (default: true)\n' +
        '  multifunction=<bool>   - on/off (default: false)\n' +
        '  netdev=<str>           - ID of a netdev to use as a backend\n' +
        '  rombar=<uint32>        -  (default: 1)\n' +
        '  romfile=<str>\n' +
        '  romsize=<uint32>       -  (default: 4294967295)\n' +
        '  x-pcie-extcap-init=<bool> - on/off (default: true)\n' +
        '  x-pcie-lnksta-dllla=<bool> - on/off (default: true)\n',
    );
  });

  it('matches QEMU 7.2 for pcie-root-port details (sizes, enums)', () => {
    const text = formatPropertyList('pcie-root-port', [
      { name: 'x-speed', type: 'PCIELinkSpeed', description: '2_5/5/8/16', defaultValue: '16' },
      { name: 'io-reserve', type: 'size', defaultValue: 18446744073709551615n },
      { name: 'hotplug', type: 'bool', defaultValue: true },
      { name: 'aer_log_max', type: 'uint16', defaultValue: 8 },
      { name: 'x-native-hotplug', type: 'bool', defaultValue: true },
    ]);
    expect(text).toBe(
      'pcie-root-port options:\n' +
        '  aer_log_max=<uint16>   -  (default: 8)\n' +
        '  hotplug=<bool>         -  (default: true)\n' +
        '  io-reserve=<size>      -  (default: 18446744073709551615)\n' +
        '  x-native-hotplug=<bool> -  (default: true)\n' +
        '  x-speed=<PCIELinkSpeed> - 2_5/5/8/16 (default: "16")\n',
    );
  });

  it('handles no properties and unknown drivers as QEMU', () => {
    expect(formatPropertyList('foo', [])).toBe('There are no options for foo.\n');
    expect(deviceHelpNotFound('foo')).toBe("Device 'foo' not found");
  });

  it('writes JSON defaults the way QEMU does', () => {
    expect(qemuJson('é/x"y')).toBe('"\\u00E9/x\\"y"');
    expect(qemuJson({ a: [1, true, null] })).toBe('{"a": [1, true, null]}');
    expect(qemuJson(0.5)).toBe('0.5');
  });
});
