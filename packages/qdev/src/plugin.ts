/**
 * The plugin API (ARCHITECTURE.md "Plugins"). Built-in catalogs and backends register
 * through exactly this, as a third party would.
 */
import type { Machine } from './machine.js';
import type { Clock } from './clock.js';
import type { TypeDef, TypeExtension, TypeRegistry } from './types.js';

/** How a machine type is built; `options` carries `-machine` properties and globals. */
export interface MachineCreateContext {
  registry: TypeRegistry;
  options: MachineOptions;
  /** The machine's clock (virtual by default); a fleet may hand each machine its own. */
  clock?: Clock;
}

export interface MachineOptions {
  /** `-machine` properties other than `type`, as strings. */
  props: Record<string, string>;
  /** `-global DRIVER.PROP=VALUE` entries, in order. */
  globals: Array<{ driver: string; property: string; value: string }>;
  /** `-nodefaults` */
  nodefaults: boolean;
  /** RAM size in bytes (`-m`), and the hotplug limits (`maxmem`, `slots`). */
  ramSize: number;
  maxRamSize?: number;
  ramSlots?: number;
  /** `-smp` */
  cpus: number;
  maxCpus?: number;
}

export interface MachineTypeDef {
  /** e.g. `pc-q35-7.2` */
  name: string;
  /** e.g. `q35` */
  alias?: string;
  description: string;
  isDefault?: boolean;
  deprecated?: boolean;
  /** The QEMU binary this machine belongs to (`x86_64`, `ppc64`). */
  arch: string;
  /** query-machines facts (MachineInfo). */
  cpuMax: number;
  defaultCpuType: string;
  defaultRamId: string;
  numaMemSupported?: boolean;
  /** RAM when `-m` is not given (QEMU: 128 MiB on x86, 512 MiB on pseries). */
  defaultRamSize?: number;
  create(ctx: MachineCreateContext): Machine;
}

/** A QMP command contributed by a plugin; the server adapts it to its dispatcher. */
export interface PluginCommand {
  name: string;
  /** QAPI-style member types: `'str'`, `'int'`, `'bool'`, `'any'`...; `*name` is optional. */
  args?: Record<string, unknown>;
  allowExtraArgs?: boolean;
  handler(args: Record<string, unknown>, ctx: { machine: Machine }): unknown | Promise<unknown>;
}

/**
 * An HMP command contributed by a plugin (reached through `human-monitor-command`).
 * `params` is the argument signature: `s` one word, `S` the rest of the line, `O` QemuOpts
 * text, `?` after a letter makes it optional. The result is the command's output text.
 */
export interface PluginHmpCommand {
  name: string;
  aliases?: string[];
  params: string;
  /** The usage shown by `help` (e.g. `[-a] [-c] id <error_status>`). */
  usage?: string;
  help: string;
  run(args: string[], ctx: { machine: Machine }): string | Promise<string>;
}

export interface Plugin {
  name: string;
  types?: TypeDef[];
  machines?: MachineTypeDef[];
  qmpCommands?: PluginCommand[];
  hmpCommands?: PluginHmpCommand[];
  /** Behaviour added to existing types (see TypeRegistry.extend). */
  extensions?: Array<{ type: string; extend: TypeExtension }>;
  /** Guest drivers, typed by @plugboard/guest (opaque here). */
  guestDrivers?: unknown[];
  /** Called for every machine created while the plugin is loaded (wire handlers, resets...). */
  onMachine?(machine: Machine): void;
}

export function definePlugin<T extends Plugin>(plugin: T): T {
  if (!plugin || typeof plugin.name !== 'string' || plugin.name === '') throw new TypeError('a plugin needs a name');
  return plugin;
}

/** Everything the loaded plugins contribute. */
export class PluginSet {
  readonly plugins: Plugin[] = [];
  readonly machineTypes: MachineTypeDef[] = [];
  readonly commands: PluginCommand[] = [];
  readonly hmpCommands: PluginHmpCommand[] = [];
  readonly guestDrivers: unknown[] = [];

  constructor(readonly registry: TypeRegistry) {}

  load(plugin: Plugin): void {
    if (this.plugins.some((p) => p.name === plugin.name)) return;
    this.plugins.push(plugin);
    if (plugin.types) this.registry.register(...plugin.types);
    for (const e of plugin.extensions ?? []) this.registry.extend(e.type, e.extend);
    for (const m of plugin.machines ?? []) {
      if (this.machineTypes.some((x) => x.name === m.name)) throw new Error(`machine type '${m.name}' is already registered`);
      this.machineTypes.push(m);
    }
    this.commands.push(...(plugin.qmpCommands ?? []));
    this.hmpCommands.push(...(plugin.hmpCommands ?? []));
    this.guestDrivers.push(...(plugin.guestDrivers ?? []));
  }

  findMachine(name: string): MachineTypeDef | undefined {
    return this.machineTypes.find((m) => m.name === name || m.alias === name);
  }

  /** Tells every plugin about a newly created machine. */
  attach(machine: Machine): void {
    for (const p of this.plugins) p.onMachine?.(machine);
  }
}
