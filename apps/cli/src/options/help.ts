/**
 * Help and version texts in QEMU 7.2's formats: -version (softmmu/vl.c),
 * -h (qemu-options.hx layout: usage in column 0, description at column 16),
 * -machine help (machine_help_func), -device help (qdev_print_devinfos),
 * -device DRIVER,help (qdev_device_help with the property line layout of
 * qom/object_interfaces.c). Data comes from the caller; only layout is here.
 */
import type { JsonValue } from './json.js';
import { PLUGBOARD_OPTIONS } from './table.js';

export const QEMU_VERSION = '7.2.22';
export const PLUGBOARD_VERSION = '0.1.0';

export interface VersionInfo {
  /** QEMU version Plugboard answers as (also in the QMP greeting). */
  qemuVersion?: string;
  /** The package part in parentheses; QEMU prints it only when non-empty. */
  pkgVersion?: string;
}

/** `-version`: QEMU's two lines, the package part naming Plugboard. */
export function formatVersion(v: VersionInfo = {}): string {
  const pkg = v.pkgVersion ?? `Plugboard ${PLUGBOARD_VERSION}`;
  return (
    `QEMU emulator version ${v.qemuVersion ?? QEMU_VERSION}${pkg ? ` (${pkg})` : ''}\n` +
    'Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n'
  );
}

interface HelpEntry {
  usage: string[];
  desc?: string[];
  /** False keeps a short usage on its own line (QEMU's `-display none`). */
  inline: boolean;
}

/** A usage given as an array is never joined with its description. */
const e = (usage: string | string[], ...desc: string[]): HelpEntry =>
  Array.isArray(usage) ? { usage, desc, inline: false } : { usage: [usage], desc, inline: true };

/** Sections of `-h`, QEMU's headings, only what Plugboard implements. */
const HELP: Array<[string, HelpEntry[]]> = [
  ['Standard options', [
    e('-h or -help', 'display this help and exit'),
    e('-version', 'display version information and exit'),
    e('-machine [type=]name[,prop[=value][,...]]',
      "selects emulated machine ('-machine help' for list)",
      'property accel=accel1[:accel2[:...]] selects accelerator',
      'supported accelerators are kvm or tcg (default: tcg)'),
    e('-accel [accel=]accelerator[,prop[=value][,...]]', "select accelerator (kvm or tcg; use 'help' for a list)"),
    e('-smp [[cpus=]n][,maxcpus=maxcpus][,sockets=sockets][,dies=dies][,clusters=clusters][,cores=cores][,threads=threads]',
      "set the number of initial CPUs to 'n' [default=1]",
      'maxcpus= maximum number of total CPUs, including',
      'offline CPUs for hotplug, etc',
      'sockets= number of sockets on the machine board',
      'dies= number of dies in one socket',
      'clusters= number of clusters in one die',
      'cores= number of cores in one cluster',
      'threads= number of threads in one core'),
    e(['-global driver.property=value', '-global driver=driver,property=property,value=value'],
      'set a global default for a driver property'),
    e('-m [size=]megs[,slots=n,maxmem=size]',
      'configure guest RAM',
      'size: initial amount of guest memory',
      'slots: number of hotplug slots (default: none)',
      'maxmem: maximum amount of guest memory (default: none)'),
    e('-device driver[,prop[=value][,...]]',
      'add device (based on driver)',
      'prop=value,... sets driver properties',
      "use '-device help' to print all possible drivers",
      "use '-device driver,help' to print all possible properties"),
    e('-name string1[,process=string2]', 'set the name of the guest'),
  ]],
  ['Display options', [e(['-display none'], 'select display backend type')]],
  ['Character device options', [
    e('-chardev help'),
    e('-chardev null,id=id'),
    e('-chardev socket,id=id[,host=host],port=port[,server=on|off][,wait=on|off] (tcp)'),
    e('-chardev socket,id=id,path=path[,server=on|off][,wait=on|off] (unix)'),
    e('-chardev file,id=id,path=path[,append=on|off]'),
    e('-chardev stdio,id=id[,signal=on|off]'),
  ]],
  ['Debug/Expert options', [
    e('-serial dev', "redirect the serial port to char device 'dev'"),
    e('-monitor dev', "redirect the monitor to char device 'dev'"),
    e('-qmp dev', "like -monitor but opens in 'control' mode"),
    e('-qmp-pretty dev', 'like -qmp but uses pretty JSON formatting'),
    e('-mon [chardev=]name[,mode=readline|control][,pretty[=on|off]]'),
    e('-S', "freeze CPU at startup (use 'c' to start execution)"),
    e('-enable-kvm', 'enable KVM full virtualization support'),
    e('-nodefaults', "don't create default devices"),
    e('-plugin [file=]<name|path>[,<argname>=<argvalue>]', 'load a Plugboard plugin (npm package or module path)'),
  ]],
  ['Plugboard options', PLUGBOARD_OPTIONS.map((o) => e(o.usage, ...o.help.split('\n')))],
];

/** QEMU's column rule: a short usage shares its line with the description. */
function formatEntry(h: HelpEntry): string {
  const desc = h.desc ?? [];
  const lines: string[] = [];
  if (h.inline && h.usage[0]!.length < 16 && desc.length > 0) {
    lines.push(h.usage[0]!.padEnd(16) + desc[0]);
    lines.push(...desc.slice(1).map((d) => ' '.repeat(16) + d));
  } else {
    lines.push(...h.usage, ...desc.map((d) => ' '.repeat(16) + d));
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** `-h`: version lines, usage, then one block per section as QEMU lays it out. */
export function formatHelp(v: VersionInfo = {}, prog = 'plugboard'): string {
  let out = `${formatVersion(v)}usage: ${prog} [options]\n`;
  for (const [heading, entries] of HELP) {
    out += `\n${heading}:\n${entries.map(formatEntry).join('')}`;
  }
  return out;
}

export interface MachineHelpEntry {
  name: string;
  desc: string;
  alias?: string;
  isDefault?: boolean;
  deprecated?: boolean;
}

/** `-machine help`: caller's order; an alias gets its own line first. */
export function formatMachineList(machines: readonly MachineHelpEntry[]): string {
  let out = 'Supported machines are:\n';
  for (const m of machines) {
    if (m.alias) out += `${m.alias.padEnd(20)} ${m.desc} (alias of ${m.name})\n`;
    out += `${m.name.padEnd(20)} ${m.desc}${m.isDefault ? ' (default)' : ''}${m.deprecated ? ' (deprecated)' : ''}\n`;
  }
  return out;
}

export type DeviceCategory = 'bridge' | 'usb' | 'storage' | 'network' | 'input' | 'display' | 'sound' | 'misc' | 'cpu' | 'watchdog';

/** QEMU's DeviceCategory order and names; uncategorized devices come last. */
const CATEGORIES: Array<[DeviceCategory | undefined, string]> = [
  ['bridge', 'Controller/Bridge/Hub'], ['usb', 'USB'], ['storage', 'Storage'], ['network', 'Network'],
  ['input', 'Input'], ['display', 'Display'], ['sound', 'Sound'], ['misc', 'Misc'], ['cpu', 'CPU'],
  ['watchdog', 'Watchdog'], [undefined, 'Uncategorized'],
];

export interface DeviceHelpEntry {
  name: string;
  bus?: string;
  alias?: string;
  desc?: string;
  /** One or more categories; none means "Uncategorized". */
  category?: DeviceCategory | readonly DeviceCategory[];
  /** False hides the device, as `-device help` shows user-creatable ones only. */
  userCreatable?: boolean;
}

function caseFold(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `-device help`: by category, names sorted ignoring case (strcasecmp). */
export function formatDeviceList(devices: readonly DeviceHelpEntry[]): string {
  const sorted = devices.filter((d) => d.userCreatable !== false).sort((a, b) => caseFold(a.name, b.name));
  let out = '';
  CATEGORIES.forEach(([cat, title], i) => {
    const cats = (d: DeviceHelpEntry): readonly DeviceCategory[] =>
      d.category === undefined ? [] : typeof d.category === 'string' ? [d.category] : d.category;
    const members = sorted.filter((d) => (cat === undefined ? cats(d).length === 0 : cats(d).includes(cat)));
    if (members.length === 0) return;
    // QEMU separates by the category's index, even after empty categories.
    out += `${i ? '\n' : ''}${title} devices:\n`;
    for (const d of members) {
      out += `name "${d.name}"`;
      if (d.bus) out += `, bus ${d.bus}`;
      if (d.alias) out += `, alias "${d.alias}"`;
      if (d.desc) out += `, desc "${d.desc}"`;
      out += '\n';
    }
  });
  return out;
}

export interface PropertyHelpEntry {
  name: string;
  /** QOM type as QEMU prints it: `int32`, `bool`, `str`, `PCIELinkSpeed`. */
  type: string;
  description?: string;
  defaultValue?: JsonValue;
}

/** %.17g as C prints it. */
function formatDouble(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(x)));
  if (exp < -4 || exp >= 17) {
    const [m, ex] = x.toExponential(16).split('e');
    const mant = m!.includes('.') ? m!.replace(/\.?0+$/, '') : m!;
    const n = Number(ex);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const s = x.toPrecision(17);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** JSON as QEMU writes it (qobject/json-writer.c): non-ASCII as \uXXXX. */
export function qemuJson(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? String(v) : formatDouble(v);
  if (typeof v === 'string') {
    let s = '"';
    for (const ch of v) {
      const c = ch.codePointAt(0)!;
      const named: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
      if (named[ch]) s += named[ch];
      else if (c >= 0x20 && c < 0x7f) s += ch;
      else if (c > 0xffff) {
        const u = c - 0x10000;
        s += `\\u${(0xd800 + (u >> 10)).toString(16).toUpperCase()}\\u${(0xdc00 + (u & 0x3ff)).toString(16).toUpperCase()}`;
      } else s += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
    }
    return `${s}"`;
  }
  if (Array.isArray(v)) return `[${v.map(qemuJson).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${qemuJson(k)}: ${qemuJson(x)}`).join(', ')}}`;
}

/**
 * `-device DRIVER,help` (and `-machine TYPE,help` with the QOM type name):
 * `NAME options:` then `  name=<type>` padded to 24 columns, ` - description`,
 * ` (default: JSON)`, lines sorted bytewise; no properties gives
 * "There are no options for NAME.".
 */
export function formatPropertyList(typeName: string, props: readonly PropertyHelpEntry[]): string {
  if (props.length === 0) return `There are no options for ${typeName}.\n`;
  const lines = props.map((p) => {
    let s = `  ${p.name}=<${p.type}>`;
    if (p.description !== undefined || p.defaultValue !== undefined) s = `${s.padEnd(24)} - `;
    if (p.description !== undefined) s += p.description;
    if (p.defaultValue !== undefined) s += ` (default: ${qemuJson(p.defaultValue)})`;
    return s;
  });
  lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `${typeName} options:\n${lines.map((l) => `${l}\n`).join('')}`;
}

/** `-device DRIVER,help` for a driver that does not exist (QEMU then exits 0). */
export function deviceHelpNotFound(driver: string): string {
  return `Device '${driver}' not found`;
}
