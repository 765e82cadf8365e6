/**
 * The command line: QEMU's single-dash options in global order (softmmu/vl.c
 * qemu_init and lookup_opt), Plugboard's own `--` options, and the parsers
 * for -machine, -device and -global. Other per-option parsers live beside
 * this file and are re-exported here.
 */
import { CliError, type Diagnostic } from './errors.js';
import { parseQemuJson, JsonError, type JsonValue } from './json.js';
import { hasHelpOpt, lastOpt, mergePairs, parseKeyval, parseQemuOpts, type QemuOptsList } from './keyval.js';
import { lookupOption, lookupPlugboardOption, type OptionStatus } from './table.js';

export { parseChardevOpt, parseMonOpt, parseQmpOpt, parseSerialOpt, resolveMonitors } from './chardev.js';
export { parseAccelOpt, parseDisplayOpt, parseMemOpt, parseNameOpt, parsePluginOpt, parseSmpOpt } from './machine.js';

export interface ParsedOption {
  /** QEMU's name without dash, aliases folded: `M` is `machine`, `help` is `h`. */
  name: string;
  arg?: string;
  /** The option as typed (`-M`, `--device`), for messages. */
  flag: string;
  /** Index of the option in argv. */
  index: number;
  status: OptionStatus;
  /** A bare argument (QEMU's disk_image), reported as option `hda`. */
  positional?: boolean;
}

export interface ClockSetting {
  mode: 'virtual' | 'realtime';
  /** Wall-clock scale for realtime (2 runs twice as fast). */
  scale: number;
}

export interface PlugboardSettings {
  clock: ClockSetting;
  guest?: string;
  trace?: string;
}

export interface CommandLine {
  options: ParsedOption[];
  plugboard: PlugboardSettings;
  /** "Option ignored by Plugboard" warnings, in argv order. */
  warnings: Diagnostic[];
}

/** `-opt arg` or `-opt`, as QEMU's loc_set_cmdline shows it. */
export function optionLocation(o: Pick<ParsedOption, 'flag' | 'arg' | 'positional'>): string {
  if (o.positional) return o.arg ?? '';
  return o.arg === undefined ? o.flag : `${o.flag} ${o.arg}`;
}

/**
 * Splits argv (without the program name) into options in global order.
 * Syntax errors come first, in argv order, as in QEMU's first pass:
 * "-foo: invalid option", "-device: requires an argument", "-g x: Option not
 * supported for this target". Then options Plugboard refuses, in argv order:
 * "-drive x: Option not supported by Plugboard".
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const options: ParsedOption[] = [];
  const plugboard: PlugboardSettings = { clock: { mode: 'virtual', scale: 1 } };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) {
      options.push({ name: 'hda', arg: a, flag: '', index: i, status: 'unsupported', positional: true });
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const pb = lookupPlugboardOption(eq < 0 ? a.slice(2) : a.slice(2, eq));
      if (pb) {
        const flag = eq < 0 ? a : a.slice(0, eq);
        let arg: string;
        if (eq >= 0) arg = a.slice(eq + 1);
        else if (i + 1 < argv.length) arg = argv[++i]!;
        else throw new CliError({ location: a, message: 'requires an argument' });
        applyPlugboardOption(plugboard, pb.name, arg, `${flag} ${arg}`);
        continue;
      }
    }
    // QEMU accepts `--opt` for `-opt` (one extra dash only).
    const def = lookupOption(a.startsWith('--') ? a.slice(2) : a.slice(1));
    if (!def) throw new CliError({ location: a, message: 'invalid option' });
    let arg: string | undefined;
    if (def.hasArg) {
      if (i + 1 >= argv.length) throw new CliError({ location: a, message: 'requires an argument' });
      arg = argv[++i]!;
    }
    if (!def.x86) {
      throw new CliError({ location: arg === undefined ? a : `${a} ${arg}`, message: 'Option not supported for this target' });
    }
    let status = def.status;
    if (status === 'unsupported' && arg !== undefined && def.harmless?.includes(arg)) status = 'ignored';
    options.push({ name: def.canonical ?? def.name, arg, flag: a, index: i - (arg === undefined ? 0 : 1), status });
  }
  const warnings: Diagnostic[] = [];
  for (const o of options) {
    const location = optionLocation(o);
    if (o.positional) throw new CliError({ location, message: 'disk images are not supported by Plugboard' });
    if (o.status === 'unsupported') throw new CliError({ location, message: 'Option not supported by Plugboard' });
    const def = lookupOption(o.flag.replace(/^--?/, ''));
    if (o.status === 'ignored' && !def?.harmless?.includes(o.arg ?? '')) {
      warnings.push({ location, message: 'Option ignored by Plugboard' });
    }
  }
  return { options, plugboard, warnings };
}

const CLOCK_OPTS: QemuOptsList = {
  name: 'clock',
  implied: 'mode',
  mergeLists: true,
  desc: [
    { name: 'mode', type: 'string' },
    { name: 'scale', type: 'string' },
  ],
};

function applyPlugboardOption(pb: PlugboardSettings, name: string, arg: string, location: string): void {
  const fatal: (message: string) => never = (message) => {
    throw new CliError({ location, message });
  };
  if (name === 'clock') {
    const p = parseQemuOpts(arg, CLOCK_OPTS, { location });
    const mode = lastOpt(p.opts, 'mode') ?? 'virtual';
    if (mode !== 'virtual' && mode !== 'realtime') fatal(`Parameter 'mode' does not accept value '${mode}'`);
    const scaleText = lastOpt(p.opts, 'scale');
    let scale = 1;
    if (scaleText !== undefined) {
      scale = /^\d+(\.\d+)?$/.test(scaleText) ? Number(scaleText) : NaN;
      if (!(scale > 0) || !Number.isFinite(scale)) fatal("Parameter 'scale' expects a positive number");
      if (mode !== 'realtime') fatal("Parameter 'scale' requires mode 'realtime'");
    }
    pb.clock = { mode: mode as ClockSetting['mode'], scale };
    return;
  }
  if (arg === '') fatal('requires a non-empty argument');
  if (name === 'guest') pb.guest = arg;
  else pb.trace = arg;
}

/** Per-command-line state QEMU keeps in its option lists (ids taken so far). */
export class OptsContext {
  private readonly idsByList = new Map<string, Set<string>>();
  ids(list: string): Set<string> {
    let s = this.idsByList.get(list);
    if (!s) this.idsByList.set(list, (s = new Set()));
    return s;
  }
}

// ---------------------------------------------------------------- -machine

export interface MachineOpt {
  type?: string;
  /** Properties other than `type`, flat dotted keys, in order. */
  props: Array<[string, string]>;
  /** `-M help` (no type: list machines) or `-M TYPE,help` (its properties). */
  help: boolean;
}

/** -machine / -M: keyval with implied `type` (softmmu/vl.c, util/keyval.c). */
export function parseMachineOpt(arg: string, o: { location?: string } = {}): MachineOpt {
  const kv = parseKeyval(arg, 'type', { location: o.location ?? `-machine ${arg}` });
  const merged = mergePairs(kv.pairs);
  const type = merged.find(([k]) => k === 'type')?.[1];
  return { ...(type !== undefined ? { type } : {}), props: merged.filter(([k]) => k !== 'type'), help: kv.help };
}

/**
 * All -machine options merged (later keys win) with `accel` split out, as
 * QEMU 7.2 does; -enable-kvm counts as `accel=kvm` at its place in the list.
 */
export function mergeMachineOpts(list: readonly MachineOpt[]): { type?: string; props: Array<[string, string]>; accel?: string } {
  const all = mergePairs(list.flatMap((m) => [...(m.type !== undefined ? [['type', m.type] as [string, string]] : []), ...m.props]));
  const type = all.find(([k]) => k === 'type')?.[1];
  const accel = all.find(([k]) => k === 'accel')?.[1];
  return {
    ...(type !== undefined ? { type } : {}),
    props: all.filter(([k]) => k !== 'type' && k !== 'accel'),
    ...(accel !== undefined ? { accel } : {}),
  };
}

export interface MachineInfo {
  name: string;
  desc: string;
  alias?: string;
  isDefault?: boolean;
  deprecated?: boolean;
}

/** Finds a machine by name or alias; undefined type means the default one. */
export function findMachine<M extends MachineInfo>(type: string | undefined, machines: readonly M[]): M {
  const m = type === undefined ? machines.find((x) => x.isDefault) : machines.find((x) => x.name === type || x.alias === type);
  if (!m) {
    throw new CliError({ message: 'unsupported machine type', hint: 'Use -machine help to list supported machines\n' });
  }
  return m;
}

// ---------------------------------------------------------------- -device

const DEVICE_OPTS: QemuOptsList = { name: 'device', implied: 'driver' };

export type DeviceOpt =
  | { kind: 'list-help' }
  | { kind: 'driver-help'; driver: string }
  | {
      kind: 'device';
      json: false;
      driver: string;
      id?: string;
      bus?: string;
      /** Properties in order, `driver`, `id` and `bus` excluded; repeats kept. */
      props: Array<[string, string]>;
      warnings: Diagnostic[];
    }
  | { kind: 'device'; json: true; driver: string; id?: string; bus?: string; props: Array<[string, JsonValue]>; warnings: [] };

/**
 * -device DRIVER[,prop=value...] or -device {JSON} (when the argument starts
 * with `{`, QEMU 7.2 parses JSON and keeps typed values). `ctx` tracks ids for
 * "Duplicate ID 'x' for device". A missing driver is reported here, although
 * QEMU only notices it when it creates the device.
 */
export function parseDeviceOpt(arg: string, o: { location?: string; ctx?: OptsContext } = {}): DeviceOpt {
  const location = o.location ?? `-device ${arg}`;
  if (arg.startsWith('{')) {
    let v: JsonValue;
    try {
      v = parseQemuJson(arg);
    } catch (e) {
      if (e instanceof JsonError) throw new CliError({ location, message: e.message });
      throw e;
    }
    const obj = v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
    const str = (k: string): string | undefined => (typeof obj[k] === 'string' ? (obj[k] as string) : undefined);
    const driver = str('driver');
    if (driver === undefined) throw new CliError({ location, message: "Parameter 'driver' is missing" });
    const props = Object.entries(obj).filter(([k]) => k !== 'driver' && k !== 'id' && k !== 'bus');
    const id = str('id');
    const bus = str('bus');
    return { kind: 'device', json: true, driver, ...(id !== undefined ? { id } : {}), ...(bus !== undefined ? { bus } : {}), props, warnings: [] };
  }
  const p = parseQemuOpts(arg, DEVICE_OPTS, { location, ids: o.ctx?.ids('device') });
  const driver = lastOpt(p.opts, 'driver');
  if (driver === 'help' || driver === '?') return { kind: 'list-help' };
  if (driver !== undefined && hasHelpOpt(p.opts)) return { kind: 'driver-help', driver };
  if (driver === undefined) throw new CliError({ location, message: "Parameter 'driver' is missing" }, { warnings: p.warnings });
  const bus = lastOpt(p.opts, 'bus');
  return {
    kind: 'device',
    json: false,
    driver,
    ...(p.id !== undefined ? { id: p.id } : {}),
    ...(bus !== undefined ? { bus } : {}),
    props: p.opts.filter(([k]) => k !== 'driver' && k !== 'bus'),
    warnings: p.warnings,
  };
}

/** QEMU's text for an unknown -device driver (softmmu/qdev-monitor.c). */
export function invalidDeviceModelMessage(driver: string): string {
  return `'${driver}' is not a valid device model name`;
}

// ---------------------------------------------------------------- -global

const GLOBAL_OPTS: QemuOptsList = {
  name: 'global',
  desc: [
    { name: 'driver', type: 'string' },
    { name: 'property', type: 'string' },
    { name: 'value', type: 'string' },
  ],
};

export interface GlobalOpt {
  driver: string;
  property: string;
  value: string;
  warnings: Diagnostic[];
}

/**
 * -global DRIVER.PROP=VALUE (driver up to 63 characters without `.` or `=`,
 * property up to 63 without `=`, the value taken verbatim) or
 * -global driver=D,property=P,value=V (softmmu/qdev-monitor.c qemu_global_option).
 */
export function parseGlobalOpt(arg: string, o: { location?: string } = {}): GlobalOpt {
  const location = o.location ?? `-global ${arg}`;
  const m = /^([^.=]{1,63})\.([^=]{1,63})=/.exec(arg);
  if (m) return { driver: m[1]!, property: m[2]!, value: arg.slice(m[0].length), warnings: [] };
  const p = parseQemuOpts(arg, GLOBAL_OPTS, { location, permitAbbrev: false });
  const driver = lastOpt(p.opts, 'driver');
  const property = lastOpt(p.opts, 'property');
  const value = lastOpt(p.opts, 'value');
  if (driver === undefined || property === undefined || value === undefined) {
    throw new CliError({ location, message: "options 'driver', 'property', and 'value' are required" }, { warnings: p.warnings });
  }
  return { driver, property, value, warnings: p.warnings };
}
