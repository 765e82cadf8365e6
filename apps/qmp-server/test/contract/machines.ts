/**
 * Built-in machines for the contract, built on the clock the testkit hands over, with the
 * guest wiring PlugboardServer.create does (the DSDT for acpiphp). createMachine() takes a
 * clock *mode*, not a clock, hence the few lines of it repeated here.
 */
import { deviceAdd, type Clock, type Plugin } from '@plugboard/qdev';
import { createPluginSet, defaultOptions, type PlugboardMachine, type X86Machine } from '@plugboard/machines';
import { provideAcpiTables } from '@plugboard/guest';
import { dsdtForController } from '@plugboard/hotplug-acpi';
import * as guestPkg from '@plugboard/guest';
import { builtinPlugins } from '../../src/plugins.js';

export interface BoardSpec {
  type: string;
  globals?: Array<{ driver: string; property: string; value: string }>;
  devices?: Array<Record<string, unknown>>;
  /** Plugins after the built-ins (a backend not yet in builtinPlugins, a third-party plugin). */
  plugins?: Plugin[];
}

export function builtMachine(clock: Clock, spec: BoardSpec): PlugboardMachine {
  const set = createPluginSet([...builtinPlugins(), ...(spec.plugins ?? [])]);
  const def = set.findMachine(spec.type);
  if (!def) throw new Error(`no machine type ${spec.type}`);
  const m = def.create({ registry: set.registry, options: defaultOptions({ nodefaults: true, globals: spec.globals ?? [] }), clock }) as PlugboardMachine;
  set.attach(m);
  for (const d of spec.devices ?? []) deviceAdd(m, d);
  m.finishInit();
  const acpi = (m as X86Machine).acpiHotplug;
  if (acpi) provideAcpiTables(m.guestView, () => ({ dsdt: dsdtForController(acpi) }));
  return m;
}

/**
 * Why the guest-driven cases must wait, if the guest package does not export `driver` yet
 * (the drivers land in @plugboard/guest one by one).
 */
export function guestDriverMissing(exportName: string): string | false {
  return exportName in guestPkg ? false : `@plugboard/guest does not export ${exportName} yet`;
}
