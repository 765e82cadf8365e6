/**
 * From argv to what to build: machine options, -device list, monitors, -S.
 * Syntax and option errors come out as CliError with QEMU's text.
 */
import type { MonitorSpec, PlugboardServerOptions } from '@plugboard/qmp-server';
import { CliError } from './options/errors.js';
import {
  OptsContext, findMachine, mergeMachineOpts, optionLocation, parseCommandLine, parseDeviceOpt, parseGlobalOpt, parseMachineOpt, parseQmpOpt,
  parseChardevOpt, parseMonOpt, parseMemOpt, parseSerialOpt, parsePluginOpt, parseSmpOpt, resolveMonitors, type DeviceOpt, type MachineOpt, type MachineInfo,
} from './options/parse.js';
import { resolveMemory, resolveSmp, type MemOpts } from './options/machine.js';
import type { KeyvalParse } from './options/keyval.js';
import { socketWaitInfo, type ChardevSpec, type MonitorSpec as CliMonitorSpec } from './options/chardev.js';
import type { Diagnostic } from './options/errors.js';

export { CliError };

export type Informational =
  | { kind: 'version' }
  | { kind: 'help' }
  | { kind: 'machine-help' }
  | { kind: 'device-help' }
  | { kind: 'device-driver-help'; driver: string; location: string };

export interface CliPlan {
  machine: PlugboardServerOptions & { deviceLocations: string[] };
  /** `-plugin PATH|PACKAGE` (Plugboard's: a module whose default export is a plugin), in order. */
  plugins: Array<{ spec: string; args: Array<[string, string]>; location: string }>;
  /** `-serial`: where the guest console goes (stdio or a file). */
  serial?: ChardevSpec['backend'];
  /** `waiting`: the line QEMU prints while a server=on,wait=on socket waits for its first client. */
  monitors: Array<{ spec: MonitorSpec; location: string; waiting?: Diagnostic }>;
  startPaused: boolean;
  informational?: Informational;
  warnings: string[];
}

/** `-machine` properties Plugboard accepts (they change nothing it models). */
const MACHINE_PROPS = new Set(['accel', 'usb', 'graphics', 'dump-guest-core', 'mem-merge', 'kernel-irqchip', 'smm', 'vmport', 'sata', 'pit', 'hpet', 'acpi', 'dumpdtb', 'cap-ccf-assist', 'ic-mode', 'max-cpu-compat', 'confidential-guest-support', 'memory-backend', 'modern-hotplug-events']);

export function planFromArgv(argv: string[], machines: ReadonlyArray<MachineInfo & { arch: string }> = []): CliPlan {
  const cl = parseCommandLine(argv);
  const ctx = new OptsContext();
  const machineOpts: MachineOpt[] = [];
  const devices: NonNullable<PlugboardServerOptions['devices']> = [];
  const deviceLocations: string[] = [];
  const globals: Array<{ driver: string; property: string; value: string }> = [];
  const chardevs: ChardevSpec[] = [];
  const mons: CliMonitorSpec[] = [];
  let informational: Informational | undefined;
  let startPaused = false;
  let noShutdown = false;
  let noReboot = false;
  let nodefaults = false;
  let qmpIndex = 0;
  const plugins: CliPlan['plugins'] = [];
  let serialIndex = 0;
  let serial: ChardevSpec['backend'] | undefined;
  let mem: MemOpts | undefined;
  const smp: KeyvalParse[] = [];
  const chardevIds = new Set<string>();
  for (const o of cl.options) {
    const location = optionLocation(o);
    const arg = o.arg ?? '';
    switch (o.name) {
      case 'version':
        informational ??= { kind: 'version' };
        break;
      case 'h':
        informational ??= { kind: 'help' };
        break;
      case 'machine': {
        const m = parseMachineOpt(arg, { location });
        if (m.help) informational ??= { kind: 'machine-help' };
        machineOpts.push(m);
        break;
      }
      case 'device': {
        const d: DeviceOpt = parseDeviceOpt(arg, { location, ctx });
        if (d.kind === 'list-help') informational ??= { kind: 'device-help' };
        else if (d.kind === 'driver-help') informational ??= { kind: 'device-driver-help', driver: d.driver, location };
        else {
          // No prototype: an option named `__proto__` stays an option (refused as a property).
          const opts = Object.assign(Object.create(null) as Record<string, unknown>, { driver: d.driver });
          if (d.id !== undefined) opts.id = d.id;
          if (d.bus !== undefined) opts.bus = d.bus;
          for (const [k, v] of d.props) opts[k] = v; // a bigint (JSON int64 beyond 2^53) stays exact
          devices.push({ opts, json: d.json });
          deviceLocations.push(location);
        }
        break;
      }
      case 'global': {
        const g = parseGlobalOpt(arg, { location });
        globals.push({ driver: g.driver, property: g.property, value: g.value });
        break;
      }
      case 'S':
        startPaused = true;
        break;
      case 'no-reboot':
        noReboot = true;
        break;
      case 'no-shutdown':
        noShutdown = true;
        break;
      case 'nodefaults':
        nodefaults = true;
        break;
      case 'qmp':
      case 'qmp-pretty': {
        const q = parseQmpOpt(arg, { location, index: qmpIndex++, pretty: o.name === 'qmp-pretty' });
        if (q.chardev) chardevs.push(q.chardev);
        mons.push(q.monitor);
        break;
      }
      case 'chardev': {
        const c = parseChardevOpt(arg, { location, ids: chardevIds });
        if ('help' in c) break;
        chardevs.push(c);
        break;
      }
      case 'm':
        mem = parseMemOpt(arg, { location, ...(mem ? { into: mem } : {}) });
        break;
      case 'smp':
        smp.push(parseSmpOpt(arg, { location }));
        break;
      case 'serial': {
        const sp = parseSerialOpt(arg, { location, index: serialIndex++ });
        if (sp && !('ref' in sp)) serial = sp.backend;
        break;
      }
      case 'plugin': {
        const pl = parsePluginOpt(arg, { location });
        // The arguments go to the plugin's configure() once it is loaded (plugins.ts).
        plugins.push({ spec: pl.file, args: pl.args, location });
        break;
      }
      case 'mon':
        mons.push(parseMonOpt(arg, { location }));
        break;
      default:
        break; // -display none, -name, -m, -smp, -accel...: accepted, nothing to model yet
    }
  }
  const monitors: CliPlan['monitors'] = [];
  for (const { monitor, chardev } of resolveMonitors(chardevs, mons)) {
    if (monitor.mode !== 'control') continue; // HMP monitors on a chardev: not offered yet
    const b = chardev.backend;
    const location = monitor.location ?? chardev.location ?? '';
    // Without server=on the monitor connects out (QEMU's client mode); with it, wait=on (the default) waits.
    const wait = b.kind === 'unix' || b.kind === 'tcp' ? (!b.server ? { connect: true } : b.wait ? { wait: true } : {}) : {};
    if (b.kind === 'unix') {
      const waiting = socketWaitInfo(b);
      monitors.push({ spec: { kind: 'unix', path: b.path, ...wait }, location, ...(waiting ? { waiting } : {}) });
    } else if (b.kind === 'tcp') {
      // An empty host binds loopback here (QEMU: every address); the line names what is bound.
      const host = b.host === '' ? '127.0.0.1' : b.host;
      const waiting = socketWaitInfo(b, host);
      monitors.push({ spec: { kind: 'tcp', host, port: Number(b.port), ...wait }, location, ...(waiting ? { waiting } : {}) });
    } else if (b.kind === 'stdio') monitors.push({ spec: { kind: 'stdio' }, location });
    else throw new CliError({ location, message: `monitor on a '${b.kind}' chardev is not supported by Plugboard` });
  }
  const merged = mergeMachineOpts(machineOpts);
  let ramSize: number | undefined;
  let arch: string | undefined;
  // -m slots/maxmem and -smp cpus/maxcpus size the hotplug space (pseries LMB and CPU-core DRCs).
  let hotplugSpace: { maxRamSize?: number; ramSlots?: number; cpus?: number; maxCpus?: number } = {};
  if (!informational && machines.length) {
    const def = findMachine(merged.type, machines.filter((m) => m.arch === 'x86_64' || m.name === merged.type || m.alias === merged.type));
    const qomType = `${def.name}-machine`;
    for (const [k] of merged.props) if (!MACHINE_PROPS.has(k)) throw new CliError({ message: `Property '${qomType}.${k}' not found` });
    arch = def.arch;
    const memory = resolveMemory(mem, { defaultRamSize: def.arch === 'ppc64' ? 512n * 1024n * 1024n : 128n * 1024n * 1024n });
    ramSize = Number(memory.size);
    const cpus = resolveSmp(smp, { name: def.name, maxCpus: def.arch === 'ppc64' ? 2048 : 288 });
    hotplugSpace = {
      ...(memory.maxSize > memory.size ? { maxRamSize: Number(memory.maxSize), ramSlots: Number(memory.slots) } : {}),
      ...(smp.length ? { cpus: cpus.cpus, maxCpus: cpus.maxCpus } : {}),
    };
  }
  return {
    machine: {
      ...(merged.type !== undefined ? { type: merged.type } : {}),
      props: Object.fromEntries(merged.props),
      globals,
      nodefaults,
      clock: { mode: cl.plugboard.clock.mode, scale: cl.plugboard.clock.scale },
      ...(cl.plugboard.trace ? { traceFile: cl.plugboard.trace } : {}),
      ...(cl.plugboard.guest ? { guest: cl.plugboard.guest } : {}),
      ...(ramSize !== undefined ? { ramSize } : {}),
      ...hotplugSpace,
      ...(arch !== undefined ? { arch } : {}),
      ...(noShutdown ? { noShutdown } : {}),
      ...(noReboot ? { noReboot } : {}),
      devices,
      deviceLocations,
    },
    monitors,
    plugins,
    ...(serial ? { serial } : {}),
    startPaused,
    ...(informational ? { informational } : {}),
    warnings: [],
  };
}
