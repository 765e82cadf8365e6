/**
 * -version, -h, -M help, -device help, -device DRIVER,help: the data comes from the
 * loaded plugins, the layout from options/help.ts (QEMU 7.2's formats).
 */
import { deviceListProperties, type Plugin, type PluginSet } from '@plugboard/qdev';
import { createPluginSet } from '@plugboard/machines';
import { builtinPlugins } from '@plugboard/qmp-server';
import {
  deviceHelpNotFound, formatDiagnostic, formatDeviceList, formatHelp, formatMachineList, formatPropertyList, formatVersion, type JsonValue,
} from './options/index.js';
import type { CliPlan } from './plan.js';

let cached: PluginSet | undefined;
let extra: Plugin[] = [];
/** The built-in plugins plus those given with -plugin, built once per process. */
function plugins(): PluginSet {
  return (cached ??= createPluginSet([...builtinPlugins(), ...extra]));
}

/** Makes `-plugin` types and machines visible to the help texts and option checks. */
export function useExtraPlugins(p: Plugin[]): void {
  if (p.length === 0 && extra.length === 0) return; // the set built for the option checks stands
  extra = p;
  cached = undefined;
}

/** The same set for the machine itself: the types are registered once per process. */
export function runPluginSet(): PluginSet {
  return plugins();
}

/** Machine types for option checks (name, alias, default, arch). */
export function machineList(): Array<{ name: string; desc: string; alias?: string; isDefault?: boolean; arch: string }> {
  return plugins().machineTypes.map((t) => ({
    name: t.name, desc: t.description, arch: t.arch,
    ...(t.alias ? { alias: t.alias } : {}), ...(t.isDefault ? { isDefault: true } : {}),
  }));
}

function deviceHelp(p: PluginSet): string {
  return formatDeviceList(
    p.registry.all()
      .filter((t) => t.isA('device') && !t.abstract && t.userCreatable)
      .map((t) => {
        const alias = p.registry.aliasesOf(t.name)[0];
        return {
          name: t.name,
          ...(t.busType ? { bus: t.busType } : {}),
          ...(alias ? { alias } : {}),
          ...(t.description ? { desc: t.description } : {}),
          ...(t.category ? { category: t.category } : {}),
        };
      }),
  );
}

export function answerInformational(plan: CliPlan): { code: number; stdout?: string; stderr?: string } | undefined {
  const info = plan.informational;
  if (!info) return undefined;
  const p = plugins();
  switch (info.kind) {
    case 'version':
      return { code: 0, stdout: formatVersion() };
    case 'help':
      return { code: 0, stdout: formatHelp() };
    case 'machine-help':
      return { code: 0, stdout: formatMachineList(machineList().filter((m) => m.arch === 'x86_64')) };
    case 'device-help':
      return { code: 0, stdout: deviceHelp(p) };
    case 'device-driver-help': {
      const t = p.registry.lookupDriver(info.driver).type;
      // QEMU reports these as errors (with the option's location) but still exits 0.
      if (!t || !t.isA('device')) return { code: 0, stderr: formatDiagnostic({ location: info.location, message: deviceHelpNotFound(info.driver) }) };
      if (t.abstract) return { code: 0, stderr: formatDiagnostic({ location: info.location, message: "Parameter 'typename' expects a non-abstract device type" }) };
      const props = deviceListProperties(p.registry, t.name).map((x) => ({
        name: x.name, type: x.type,
        ...(x.description !== undefined ? { description: x.description } : {}),
        ...(x['default-value'] !== undefined ? { defaultValue: x['default-value'] as JsonValue } : {}),
      }));
      return { code: 0, stdout: formatPropertyList(t.name, props) };
    }
  }
}
