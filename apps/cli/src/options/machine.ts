/**
 * -m, -smp, -accel/-enable-kvm, -name, -display, -plugin. Each has a parser
 * for the option itself (errors carry the option as location) and, where QEMU
 * checks later against the machine, a resolver (errors without location):
 * hw/core/machine.c (memory), hw/core/machine-smp.c (topology),
 * accel/accel-softmmu.c and softmmu/vl.c (accelerators), ui/ (display).
 */
import { CliError, type Diagnostic } from './errors.js';
import {
  formatQemuOptsHelp,
  lastOpt,
  mergePairs,
  parseKeyval,
  parseQemuOpts,
  type KeyvalParse,
  type QemuOptsList,
} from './keyval.js';
import { hex, qemuStrtoi64, qemuStrtosz, qemuStrtou64 } from './numbers.js';

// ---------------------------------------------------------------- -m

export const MEMORY_OPTS: QemuOptsList = {
  name: 'memory',
  implied: 'size',
  mergeLists: true,
  desc: [
    { name: 'size', type: 'size' },
    { name: 'slots', type: 'number' },
    { name: 'maxmem', type: 'size' },
  ],
};

/** -m options merged over the command line (later values win), as written. */
export interface MemOpts {
  size?: string;
  slots?: string;
  maxmem?: string;
  warnings: Diagnostic[];
}

/** -m [size=]megs[,slots=n,maxmem=size]; pass the previous result to merge. */
export function parseMemOpt(arg: string, o: { location?: string; into?: MemOpts } = {}): MemOpts {
  const p = parseQemuOpts(arg, MEMORY_OPTS, { location: o.location ?? `-m ${arg}` });
  const out: MemOpts = { ...o.into, warnings: [...(o.into?.warnings ?? []), ...p.warnings] };
  for (const key of ['size', 'slots', 'maxmem'] as const) {
    const v = lastOpt(p.opts, key);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

export interface MemoryConfig {
  size: bigint;
  maxSize: bigint;
  slots: bigint;
  warnings: Diagnostic[];
}

/**
 * The machine's view of -m: a size without suffix means MiB, 0 means the
 * default, the size is rounded up to 8 KiB; then maxmem/slots are checked.
 * `maxRamSlots` adds the PC checks done when memory can be hotplugged.
 */
export function resolveMemory(mem: MemOpts | undefined, machine: { defaultRamSize: bigint; maxRamSlots?: number }): MemoryConfig {
  const warnings: Diagnostic[] = [...(mem?.warnings ?? [])];
  const fatal: (message: string) => never = (message) => {
    throw new CliError({ message }, { warnings });
  };
  const size = (text: string, name: string): bigint => {
    const r = qemuStrtosz(text);
    if (r.hexSuffix) warnings.push({ message: `Using a multiplier suffix on hex numbers is deprecated: ${text}` });
    if (!r.ok) fatal(`Parameter 'memory.${name}' expects size`);
    return r.ok ? r.value : 0n;
  };
  let ram = machine.defaultRamSize;
  const given = mem?.size;
  if (given !== undefined) {
    const parsed = qemuStrtosz(given);
    if (parsed.ok && parsed.value !== 0n) ram = size(/\d$/.test(given) ? `${given}M` : given, 'size');
  }
  ram = (ram + 8191n) & ~8191n & ((1n << 64n) - 1n);
  const slots = mem?.slots !== undefined ? (qemuStrtou64(mem.slots, 0) as { value: bigint }).value : undefined;
  let maxSize = ram;
  if (mem?.maxmem !== undefined) {
    maxSize = size(mem.maxmem, 'max-size');
    if (maxSize < ram) {
      fatal(`invalid value of maxmem: maximum memory size (0x${hex(maxSize)}) must be at least the initial memory size (0x${hex(ram)})`);
    }
    if (slots !== undefined && slots !== 0n && maxSize === ram) {
      fatal(
        `invalid value of maxmem: memory slots were specified but maximum memory size (0x${hex(maxSize)}) ` +
          `is equal to the initial memory size (0x${hex(ram)})`,
      );
    }
  } else if (slots !== undefined) {
    fatal('slots specified but no max-size');
  }
  if (machine.maxRamSlots !== undefined && ram < maxSize) {
    if ((slots ?? 0n) > BigInt(machine.maxRamSlots)) fatal(`unsupported amount of memory slots: ${slots}`);
    if (maxSize % 4096n !== 0n) fatal('maximum memory size must by aligned to multiple of 4096 bytes');
  }
  return { size: ram, maxSize, slots: slots ?? 0n, warnings };
}

// ---------------------------------------------------------------- -smp

const SMP_KEYS = ['cpus', 'sockets', 'dies', 'clusters', 'cores', 'threads', 'maxcpus'] as const;

export const SMP_OPTS: QemuOptsList = {
  name: 'smp-opts',
  implied: 'cpus',
  desc: SMP_KEYS.map((name) => ({ name, type: 'number' as const })),
};

/**
 * -smp [cpus=]n[,maxcpus=..][,sockets=..]...: keyval, so `-smp 2,,3` and
 * `-smp 1,1` fail here; `-smp help` exits 0 with the option list on stdout.
 */
export function parseSmpOpt(arg: string, o: { location?: string } = {}): KeyvalParse {
  const kv = parseKeyval(arg, 'cpus', { location: o.location ?? `-smp ${arg}` });
  if (kv.help) throw new CliError(undefined, { exitCode: 0, stdout: formatQemuOptsHelp(SMP_OPTS) });
  return kv;
}

export interface SmpMachine {
  /** Machine type name as QEMU prints it (`pc-i440fx-7.2`). */
  name: string;
  maxCpus: number;
  minCpus?: number;
  diesSupported?: boolean;
  clustersSupported?: boolean;
  /** Machine types before 6.2 fill sockets before cores. */
  preferSockets?: boolean;
}

export interface SmpConfig {
  cpus: number;
  maxCpus: number;
  sockets: number;
  dies: number;
  clusters: number;
  cores: number;
  threads: number;
  warnings: Diagnostic[];
}

/** Topology from all -smp options (merged, later keys win), machine-smp.c rules. */
export function resolveSmp(opts: readonly KeyvalParse[], machine: SmpMachine): SmpConfig {
  const warnings: Diagnostic[] = [];
  const fatal: (message: string) => never = (message) => {
    throw new CliError({ message }, { warnings });
  };
  const merged = mergePairs(opts.flatMap((o) => o.pairs));
  const given = new Map<string, bigint>();
  for (const key of SMP_KEYS) {
    const text = merged.find(([k]) => k === key)?.[1];
    if (text === undefined) continue;
    const r = qemuStrtoi64(text, 0);
    if (!r.ok) fatal(`Parameter 'smp.${key}' expects integer`);
    if (r.ok) given.set(key, r.value);
  }
  const unexpected = merged.find(([k]) => !(SMP_KEYS as readonly string[]).includes(k.split('.')[0]!));
  if (unexpected) fatal(`Parameter 'smp.${unexpected[0].split('.')[0]}' is unexpected`);
  if ([...given.values()].some((v) => v === 0n)) {
    warnings.push({ message: 'Deprecated CPU topology (considered invalid): CPU topology parameters must be greater than zero' });
  }
  // QEMU copies the int64 values into 32-bit unsigned variables.
  const u = (key: string): number => Number(BigInt.asUintN(32, given.get(key) ?? 0n));
  const mul = (...xs: number[]): number => xs.reduce((a, b) => Math.imul(a, b) >>> 0, 1);
  const div = (a: number, b: number): number => (b === 0 ? 0 : Math.floor(a / b));
  let cpus = u('cpus');
  let sockets = u('sockets');
  let dies = u('dies');
  let clusters = u('clusters');
  let cores = u('cores');
  let threads = u('threads');
  let maxcpus = u('maxcpus');
  if (!machine.diesSupported && dies > 1) fatal("dies not supported by this machine's CPU topology");
  if (!machine.clustersSupported && clusters > 1) fatal("clusters not supported by this machine's CPU topology");
  dies = dies || 1;
  clusters = clusters || 1;
  if (cpus === 0 && maxcpus === 0) {
    sockets = sockets || 1;
    cores = cores || 1;
    threads = threads || 1;
  } else {
    maxcpus = maxcpus || cpus;
    if (machine.preferSockets) {
      if (sockets === 0) {
        cores = cores || 1;
        threads = threads || 1;
        sockets = div(maxcpus, mul(dies, clusters, cores, threads));
      } else if (cores === 0) {
        threads = threads || 1;
        cores = div(maxcpus, mul(sockets, dies, clusters, threads));
      }
    } else if (cores === 0) {
      sockets = sockets || 1;
      threads = threads || 1;
      cores = div(maxcpus, mul(sockets, dies, clusters, threads));
    } else if (sockets === 0) {
      threads = threads || 1;
      sockets = div(maxcpus, mul(dies, clusters, cores, threads));
    }
    if (threads === 0) threads = div(maxcpus, mul(sockets, dies, clusters, cores));
  }
  maxcpus = maxcpus || mul(sockets, dies, clusters, cores, threads);
  cpus = cpus || maxcpus;
  const topo =
    `sockets (${sockets})` +
    (machine.diesSupported ? ` * dies (${dies})` : '') +
    (machine.clustersSupported ? ` * clusters (${clusters})` : '') +
    ` * cores (${cores}) * threads (${threads})`;
  if (mul(sockets, dies, clusters, cores, threads) !== maxcpus) {
    fatal(`Invalid CPU topology: product of the hierarchy must match maxcpus: ${topo} != maxcpus (${maxcpus})`);
  }
  if (maxcpus < cpus) {
    fatal(`Invalid CPU topology: maxcpus must be equal to or greater than smp: ${topo} == maxcpus (${maxcpus}) < smp_cpus (${cpus})`);
  }
  const minCpus = machine.minCpus ?? 1;
  // QEMU prints these counts with %d.
  const signed = (n: number): number => n | 0;
  if (cpus < minCpus) fatal(`Invalid SMP CPUs ${signed(cpus)}. The min CPUs supported by machine '${machine.name}' is ${minCpus}`);
  if (maxcpus > machine.maxCpus) {
    fatal(`Invalid SMP CPUs ${signed(maxcpus)}. The max CPUs supported by machine '${machine.name}' is ${machine.maxCpus}`);
  }
  return { cpus, maxCpus: maxcpus, sockets, dies, clusters, cores, threads, warnings };
}

// ---------------------------------------------------------------- -accel

const ACCEL_OPTS: QemuOptsList = { name: 'accel', implied: 'accel' };

/** Accelerators of Debian's QEMU 7.2 build; Plugboard runs only tcg. */
export const ACCELERATORS = ['tcg', 'kvm'] as const;

const ACCEL_PROPS: Record<string, readonly string[]> = {
  tcg: ['thread', 'tb-size', 'split-wx'],
  kvm: ['kernel-irqchip', 'kvm-shadow-mem', 'dirty-ring-size', 'notify-vmexit', 'notify-window'],
};

export interface AccelOpt {
  accel: string;
  props: Array<[string, string]>;
  location?: string;
}

/** `-accel help` text. */
export function formatAccelHelp(): string {
  return `Accelerators supported in QEMU binary:\n${ACCELERATORS.map((a) => `${a}\n`).join('')}`;
}

/** -accel [accel=]NAME[,prop=value...]; no name or `help` prints the list (exit 0). */
export function parseAccelOpt(arg: string, o: { location?: string } = {}): AccelOpt & { warnings: Diagnostic[] } {
  const location = o.location ?? `-accel ${arg}`;
  const p = parseQemuOpts(arg, ACCEL_OPTS, { location });
  const accel = lastOpt(p.opts, 'accel');
  if (accel === undefined || accel === 'help' || accel === '?') {
    throw new CliError(undefined, { exitCode: 0, stdout: formatAccelHelp(), warnings: p.warnings });
  }
  return { accel, props: p.opts.filter(([k]) => k !== 'accel'), location, warnings: p.warnings };
}

/**
 * Picks the accelerator as QEMU 7.2 on a host without /dev/kvm: `-machine
 * accel=a:b` (or -enable-kvm, i.e. accel=kvm) or the -accel options in order,
 * never both; kvm fails with QEMU's messages, the next one is tried. `errors`
 * are lines QEMU prints (error style) even when a later accelerator works.
 */
export function resolveAccel(accelOpts: readonly AccelOpt[], machineAccel: string | undefined): { accel: AccelOpt; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  let list: AccelOpt[];
  let initFailed = false;
  if (accelOpts.length === 0) {
    list = [];
    const names = (machineAccel ?? 'tcg:kvm').split(':').filter((n) => n !== '');
    for (const name of names) {
      if ((ACCELERATORS as readonly string[]).includes(name)) list.push({ accel: name, props: [] });
      else {
        initFailed = true;
        errors.push({ message: `invalid accelerator ${name}` });
      }
    }
  } else {
    if (machineAccel !== undefined) throw new CliError({ message: 'The -accel and "-machine accel=" options are incompatible' });
    list = [...accelOpts];
  }
  for (const a of list) {
    if (!(ACCELERATORS as readonly string[]).includes(a.accel)) {
      initFailed = true;
      errors.push({ location: a.location, message: `invalid accelerator ${a.accel}` });
      continue;
    }
    const bad = a.props.find(([k]) => !ACCEL_PROPS[a.accel]!.includes(k));
    if (bad) throw new CliError({ location: a.location, message: `Property '${a.accel}-accel.${bad[0]}' not found` }, { preceding: errors });
    if (a.accel === 'kvm') {
      initFailed = true;
      errors.push({ plain: true, message: 'Could not access KVM kernel module: No such file or directory' });
      errors.push({ location: a.location, message: 'failed to initialize kvm: No such file or directory' });
      continue;
    }
    if (initFailed) errors.push({ message: `falling back to ${a.accel}` });
    return { accel: a, errors };
  }
  if (!initFailed) errors.push({ message: 'no accelerator found' });
  const last = errors.pop()!;
  throw new CliError(last, { preceding: errors });
}

// ---------------------------------------------------------------- -name

export const NAME_OPTS: QemuOptsList = {
  name: 'name',
  implied: 'guest',
  mergeLists: true,
  desc: [
    {
      name: 'guest',
      type: 'string',
      help: 'Sets the name of the guest.\nThis name will be displayed in the SDL window caption.\nThe name will also be used for the VNC server',
    },
    { name: 'process', type: 'string', help: 'Sets the name of the QEMU process, as shown in top etc' },
    {
      name: 'debug-threads',
      type: 'bool',
      help: 'When enabled, name the individual threads; defaults off.\nNOTE: The thread names are for debugging and not a\nstable API.',
    },
  ],
};

/** -name [guest=]NAME[,process=P][,debug-threads=on|off] */
export function parseNameOpt(arg: string, o: { location?: string } = {}): { guest?: string; process?: string; warnings: Diagnostic[] } {
  const p = parseQemuOpts(arg, NAME_OPTS, { location: o.location ?? `-name ${arg}` });
  const guest = lastOpt(p.opts, 'guest');
  const process = lastOpt(p.opts, 'process');
  return { ...(guest !== undefined ? { guest } : {}), ...(process !== undefined ? { process } : {}), warnings: p.warnings };
}

// ---------------------------------------------------------------- -display

const DISPLAY_TYPES = ['default', 'none', 'gtk', 'sdl', 'egl-headless', 'curses', 'spice-app', 'dbus'];
const DISPLAY_BASE_KEYS = ['type', 'full-screen', 'window-close', 'show-cursor', 'gl'];

/** `-display help` with Plugboard's single backend. */
export function formatDisplayHelp(): string {
  return 'Available display backend types:\nnone\n';
}

/**
 * -display TYPE[,...]: QEMU's keyval/QAPI checks, then Plugboard's answer:
 * only `none` (and `default`, which is none here) exist.
 */
export function parseDisplayOpt(arg: string, o: { location?: string } = {}): { type: 'none' } | { help: true } {
  const location = o.location ?? `-display ${arg}`;
  const fatal: (message: string) => never = (message) => {
    throw new CliError({ location, message });
  };
  if (arg === 'help' || arg === '?') return { help: true };
  if (arg.startsWith('vnc')) {
    if (arg[3] !== '=') fatal('VNC requires a display argument vnc=<display>');
    fatal('VNC is not supported by Plugboard');
  }
  const kv = parseKeyval(arg, 'type', { location, helpAllowed: false });
  const merged = mergePairs(kv.pairs);
  const type = merged.find(([k]) => k === 'type')?.[1];
  if (type === undefined) fatal("Parameter 'type' is missing");
  if (!DISPLAY_TYPES.includes(type!)) fatal(`Parameter 'type' does not accept value '${type}'`);
  // QEMU's words for a display whose module is missing; reported without location.
  if (type !== 'none' && type !== 'default') throw new CliError({ message: `Display '${type}' is not available.` });
  const extra = merged.find(([k]) => !DISPLAY_BASE_KEYS.includes(k.split('.')[0]!));
  if (extra) fatal(`Parameter '${extra[0].split('.')[0]}' is unexpected`);
  return { type: 'none' };
}

// ---------------------------------------------------------------- -plugin

const PLUGIN_OPTS: QemuOptsList = { name: 'plugin', implied: 'file' };

/** -plugin [file=]NAME|PATH[,key=value...]: a Plugboard plugin and its arguments. */
export function parsePluginOpt(arg: string, o: { location?: string } = {}): { file: string; args: Array<[string, string]>; warnings: Diagnostic[] } {
  const location = o.location ?? `-plugin ${arg}`;
  const p = parseQemuOpts(arg, PLUGIN_OPTS, { location });
  const file = lastOpt(p.opts, 'file');
  if (!file) throw new CliError({ location, message: 'requires a non-empty argument' }, { warnings: p.warnings });
  return { file, args: p.opts.filter(([k]) => k !== 'file'), warnings: p.warnings };
}
