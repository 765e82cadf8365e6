/**
 * The plugin API (ARCHITECTURE.md "Plugins"). Built-in catalogs and backends register
 * through exactly this, as a third party would.
 */
import { QemuError } from './errors.js';
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

/** An option a plugin accepts from `-plugin NAME,key=value` (see Plugin.options). */
export interface PluginOptionDef {
  /** What the option means, in one line (printed by `-plugin NAME,help`). */
  description?: string;
  /** The value the plugin uses when the option is not given, as text (printed by `-plugin NAME,help`). */
  default?: string;
}

export interface Plugin {
  name: string;
  /**
   * The options the plugin accepts, by name. `-plugin NAME,key=value,...` refuses any other
   * option before `configure` runs; a plugin without `options` accepts none.
   */
  options?: Record<string, PluginOptionDef>;
  /**
   * Returns the plugin to load for the options given (only declared ones, values as the user
   * wrote them: strings). Called only when at least one option is given; otherwise the plugin
   * itself is loaded. Return a new plugin object rather than changing this one: the same module
   * may serve several machines with different options in one process. Throw `QemuError` to
   * refuse a value.
   */
  configure?(options: Readonly<Record<string, string>>): Plugin;
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

/**
 * Applies `-plugin` options (`[key, value]` pairs in command-line order; the last of a repeated
 * key wins) to a plugin: refuses an option the plugin does not declare, with a QemuError whose
 * text lists the ones it does, then returns `plugin.configure(options)`. No options: `plugin`.
 */
export function configurePlugin(plugin: Plugin, args: ReadonlyArray<readonly [string, string]>): Plugin {
  if (args.length === 0) return plugin;
  const declared = plugin.configure ? Object.keys(plugin.options ?? {}) : [];
  const options = Object.create(null) as Record<string, string>;
  for (const [key, value] of args) {
    if (!declared.includes(key)) {
      throw new QemuError(
        declared.length
          ? `Plugin '${plugin.name}' has no option '${key}' (its options: ${declared.join(', ')})`
          : `Plugin '${plugin.name}' takes no options ('${key}' given)`,
      );
    }
    options[key] = value;
  }
  const configured = plugin.configure!(Object.freeze(options));
  if (!configured || typeof configured.name !== 'string' || configured.name === '') {
    throw new TypeError(`plugin '${plugin.name}': configure() must return a plugin`);
  }
  return configured;
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
