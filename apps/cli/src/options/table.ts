/**
 * QEMU 7.2's option table for qemu-system-x86_64 (names, whether an argument
 * follows, target), in the order of qemu-options.hx. The list was read from the
 * qemu_options[] array of Debian 12's qemu-system-x86_64 7.2 binary, so every
 * name and arity is the real one, including options without help text (-M,
 * -fdb, -qtest) and options of other targets (-g, -prom-env), which QEMU
 * recognizes and then refuses with "Option not supported for this target".
 *
 * `status` is Plugboard's decision for each option:
 * - supported: implemented (possibly only some values; see the helpers);
 * - ignored: accepted with a warning, no effect (nothing Plugboard models);
 * - unsupported: refused, exit 1 (it would change what a guest sees).
 */

export type OptionStatus = 'supported' | 'ignored' | 'unsupported';

export type OptionSection =
  | 'Standard options'
  | 'Block device options'
  | 'USB convenience options'
  | 'Display options'
  | 'i386 target only'
  | 'Network options'
  | 'Character device options'
  | 'TPM device options'
  | 'Boot Image or Kernel specific'
  | 'Debug/Expert options'
  | 'Generic object creation';

export interface OptionDef {
  /** Name without the dash, as in qemu-options.hx (`machine`, `M`, `fw_cfg`). */
  name: string;
  /** QEMU's HAS_ARG: the next argv element is the argument, whatever it is. */
  hasArg: boolean;
  /** False for options of other targets (arch_mask lacks QEMU_ARCH_I386). */
  x86: boolean;
  status: OptionStatus;
  section: OptionSection;
  /**
   * For unsupported options: argument values that are harmless and therefore
   * accepted as ignored (`-vga none`, `-nic none`).
   */
  harmless?: readonly string[];
  /** Canonical name when QEMU maps two spellings to one option (`M`, `help`). */
  canonical?: string;
}

type Row = [name: string, hasArg: 0 | 1, status: 'S' | 'I' | 'U' | 'X', extra?: Partial<OptionDef>];

const SECTIONS: Array<[OptionSection, Row[]]> = [
  ['Standard options', [
    ['h', 0, 'S'], ['help', 0, 'S', { canonical: 'h' }], ['version', 0, 'S'],
    ['machine', 1, 'S'], ['M', 1, 'S', { canonical: 'machine' }], ['cpu', 1, 'I'],
    ['accel', 1, 'S'], ['smp', 1, 'S'], ['numa', 1, 'U'], ['add-fd', 1, 'U'],
    ['set', 1, 'U'], ['global', 1, 'S'], ['boot', 1, 'I'], ['m', 1, 'S'],
    ['mem-path', 1, 'I'], ['mem-prealloc', 0, 'I'], ['k', 1, 'I'], ['audio-help', 0, 'U'],
    ['audio', 1, 'U'], ['audiodev', 1, 'U'], ['device', 1, 'S'], ['name', 1, 'S'],
    ['uuid', 1, 'I'],
  ]],
  ['Block device options', [
    ['fda', 1, 'U'], ['fdb', 1, 'U'], ['hda', 1, 'U'], ['hdb', 1, 'U'], ['hdc', 1, 'U'],
    ['hdd', 1, 'U'], ['cdrom', 1, 'U'], ['blockdev', 1, 'U'], ['drive', 1, 'U'],
    ['mtdblock', 1, 'U'], ['sd', 1, 'U'], ['snapshot', 0, 'I'], ['fsdev', 1, 'U'],
    ['virtfs', 1, 'U'], ['iscsi', 1, 'U'],
  ]],
  ['USB convenience options', [['usb', 0, 'U'], ['usbdevice', 1, 'U']]],
  ['Display options', [
    ['display', 1, 'S'], ['nographic', 0, 'U'], ['spice', 1, 'U'], ['portrait', 0, 'I'],
    ['rotate', 1, 'I'], ['vga', 1, 'U', { harmless: ['none'] }], ['full-screen', 0, 'I'],
    ['g', 1, 'X'], ['vnc', 1, 'U'],
  ]],
  ['i386 target only', [
    ['win2k-hack', 0, 'I'], ['no-fd-bootchk', 0, 'I'], ['no-acpi', 0, 'U'], ['no-hpet', 0, 'I'],
    ['acpitable', 1, 'U'], ['smbios', 1, 'I'],
  ]],
  ['Network options', [
    ['netdev', 1, 'U'], ['nic', 1, 'U', { harmless: ['none'] }], ['net', 1, 'U', { harmless: ['none'] }],
  ]],
  ['Character device options', [['chardev', 1, 'S']]],
  ['TPM device options', [['tpmdev', 1, 'U']]],
  ['Boot Image or Kernel specific', [
    ['bios', 1, 'I'], ['pflash', 1, 'U'], ['kernel', 1, 'U'], ['append', 1, 'U'],
    ['initrd', 1, 'U'], ['dtb', 1, 'U'],
  ]],
  ['Debug/Expert options', [
    ['compat', 1, 'I'], ['fw_cfg', 1, 'U'], ['serial', 1, 'S'],
    ['parallel', 1, 'U', { harmless: ['none'] }], ['monitor', 1, 'S'], ['qmp', 1, 'S'],
    ['qmp-pretty', 1, 'S'], ['mon', 1, 'S'], ['debugcon', 1, 'U'], ['pidfile', 1, 'U'],
    ['singlestep', 0, 'I'], ['preconfig', 0, 'U'], ['S', 0, 'S'], ['overcommit', 1, 'I'],
    ['gdb', 1, 'U'], ['s', 0, 'U'], ['d', 1, 'I'], ['D', 1, 'I'], ['dfilter', 1, 'I'],
    ['seed', 1, 'I'], ['L', 1, 'I'], ['enable-kvm', 0, 'S'], ['xen-domid', 1, 'U'],
    ['xen-attach', 0, 'U'], ['xen-domid-restrict', 0, 'U'], ['no-reboot', 0, 'S'],
    ['no-shutdown', 0, 'S'], ['action', 1, 'I'], ['loadvm', 1, 'U'], ['daemonize', 0, 'U'],
    ['option-rom', 1, 'U'], ['rtc', 1, 'I'], ['icount', 1, 'U'], ['watchdog-action', 1, 'I'],
    ['echr', 1, 'I'], ['incoming', 1, 'U'], ['only-migratable', 0, 'I'], ['nodefaults', 0, 'S'],
    ['chroot', 1, 'U'], ['runas', 1, 'U'], ['prom-env', 1, 'X'], ['semihosting', 0, 'X'],
    ['semihosting-config', 1, 'X'], ['old-param', 0, 'X'], ['sandbox', 1, 'I'],
    ['readconfig', 1, 'U'], ['no-user-config', 0, 'I'], ['trace', 1, 'I'], ['plugin', 1, 'S'],
    ['qtest', 1, 'U'], ['qtest-log', 1, 'U'], ['async-teardown', 0, 'I'], ['msg', 1, 'I'],
    ['dump-vmstate', 1, 'U'], ['enable-sync-profile', 0, 'I'],
  ]],
  ['Generic object creation', [['object', 1, 'U']]],
];

const STATUS: Record<'S' | 'I' | 'U', OptionStatus> = { S: 'supported', I: 'ignored', U: 'unsupported' };

/** All 122 options of qemu-system-x86_64 7.2, in qemu-options.hx order. */
export const QEMU_OPTIONS: readonly OptionDef[] = SECTIONS.flatMap(([section, rows]) =>
  rows.map(([name, hasArg, st, extra]): OptionDef => ({
    name,
    hasArg: hasArg === 1,
    x86: st !== 'X',
    // Options of other targets never get as far as Plugboard's decision.
    status: st === 'X' ? 'unsupported' : STATUS[st],
    section,
    ...extra,
  })),
);

const BY_NAME = new Map(QEMU_OPTIONS.map((o) => [o.name, o]));

/** Exact-name lookup, as QEMU's lookup_opt does (no abbreviations). */
export function lookupOption(name: string): OptionDef | undefined {
  return BY_NAME.get(name);
}

/** Plugboard's own options: always `--name`, checked before QEMU's table. */
export interface PlugboardOptionDef {
  name: 'clock' | 'guest' | 'trace';
  hasArg: true;
  usage: string;
  help: string;
}

export const PLUGBOARD_OPTIONS: readonly PlugboardOptionDef[] = [
  {
    name: 'clock',
    hasArg: true,
    usage: '--clock virtual|realtime[,scale=N]',
    help: 'virtual: time jumps to the next timer (default)\nrealtime: follows the wall clock, scaled by N',
  },
  { name: 'guest', hasArg: true, usage: '--guest POLICY', help: 'behavior policy of the simulated guest OS' },
  { name: 'trace', hasArg: true, usage: '--trace FILE', help: 'write guest-visible accesses as JSON lines to FILE' },
];

export function lookupPlugboardOption(name: string): PlugboardOptionDef | undefined {
  return PLUGBOARD_OPTIONS.find((o) => o.name === name);
}
