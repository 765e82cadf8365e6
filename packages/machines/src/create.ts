/**
 * Builds a machine the way QEMU's startup does: board, then `-device` options in order
 * (cold plug), then machine-ready and the first reset.
 */
import { Clock, PluginSet, QemuError, TypeRegistry, deviceAdd, type ClockMode, type MachineOptions, type Plugin } from '@plugboard/qdev';
import type { PlugboardMachine } from './x86.js';

export interface CreateMachineOptions extends Partial<MachineOptions> {
  /** Machine type name or alias; the default machine of `arch` when absent. */
  type?: string;
  /** Machine architecture whose default applies (`x86_64`, `ppc64`). */
  arch?: string;
  /** Clock mode (`--clock`): virtual (default) or realtime with a scale. */
  clock?: { mode: ClockMode; scale?: number };
  /** `-device` options, in command-line order. */
  devices?: Array<{ opts: Record<string, unknown>; json?: boolean }>;
}

export function defaultOptions(o: Partial<MachineOptions> = {}): MachineOptions {
  return {
    props: o.props ?? {},
    globals: o.globals ?? [],
    nodefaults: o.nodefaults ?? false,
    ramSize: o.ramSize ?? 128 * 1024 * 1024,
    ...(o.maxRamSize !== undefined ? { maxRamSize: o.maxRamSize } : {}),
    ...(o.ramSlots !== undefined ? { ramSlots: o.ramSlots } : {}),
    cpus: o.cpus ?? 1,
    ...(o.maxCpus !== undefined ? { maxCpus: o.maxCpus } : {}),
  };
}

/** A type registry and plugin set loaded with `plugins`. */
export function createPluginSet(plugins: Plugin[]): PluginSet {
  const set = new PluginSet(new TypeRegistry());
  for (const p of plugins) set.load(p);
  return set;
}

export function createMachine(plugins: PluginSet, opts: CreateMachineOptions = {}): PlugboardMachine {
  const arch = opts.arch ?? 'x86_64';
  const def = opts.type ? plugins.findMachine(opts.type) : plugins.machineTypes.find((m) => m.arch === arch && m.isDefault);
  if (!def) throw new QemuError(`unsupported machine type "${opts.type ?? ''}"`);
  const clock = opts.clock ? new Clock({ mode: opts.clock.mode, ...(opts.clock.scale !== undefined ? { scale: opts.clock.scale } : {}) }) : undefined;
  const options = defaultOptions({ ...opts, ...(opts.ramSize === undefined && def.defaultRamSize ? { ramSize: def.defaultRamSize } : {}) });
  const machine = def.create({ registry: plugins.registry, options, ...(clock ? { clock } : {}) }) as PlugboardMachine;
  machine.smpCpus = options.cpus;
  plugins.attach(machine);
  (opts.devices ?? []).forEach((d, i) => {
    try {
      deviceAdd(machine, d.opts, { json: d.json ?? false });
    } catch (e) {
      // Lets a command line name the failing `-device` option.
      if (e instanceof QemuError) Object.assign(e, { deviceIndex: i });
      throw e;
    }
  });
  machine.finishInit();
  return machine;
}
