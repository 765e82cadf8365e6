/** -version, -h, -M help, -device help, -device DRIVER,help (softmmu/vl.c, qdev-monitor.c). */
import { DEVICE_CATEGORY_NAMES, deviceListProperties, type DeviceCategory, type PluginSet } from '@plugboard/qdev';
import { createPluginSet } from '@plugboard/machines';
import { builtinPlugins } from '@plugboard/qmp-server';
import type { CliPlan } from './plan.js';

export const PLUGBOARD_VERSION = '0.1.0';

export function versionText(): string {
  return `QEMU emulator version 7.2.22 (Plugboard ${PLUGBOARD_VERSION})\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n`;
}

function machineHelp(p: PluginSet, arch: string): string {
  const rows: string[] = ['Supported machines are:'];
  const types = p.machineTypes.filter((t) => t.arch === arch);
  const entries: Array<[string, string]> = [];
  for (const t of types) {
    if (t.alias) entries.push([t.alias, `${t.description} (alias of ${t.name})`]);
    entries.push([t.name, `${t.description}${t.isDefault ? ' (default)' : ''}${t.deprecated ? ' (deprecated)' : ''}`]);
  }
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [n, d] of entries) rows.push(`${n.padEnd(20)} ${d}`);
  return rows.join('\n') + '\n';
}

const CATEGORY_ORDER: DeviceCategory[] = ['bridge', 'usb', 'storage', 'network', 'input', 'display', 'sound', 'misc', 'cpu', 'watchdog'];

function deviceHelp(p: PluginSet): string {
  const out: string[] = [];
  const types = p.registry.all().filter((t) => t.isA('device') && !t.abstract && t.userCreatable);
  const byCat = new Map<string, typeof types>();
  for (const t of types) {
    const cat = t.category ?? 'uncategorized';
    byCat.set(cat, [...(byCat.get(cat) ?? []), t]);
  }
  const cats = [...CATEGORY_ORDER, 'uncategorized'];
  for (const c of cats) {
    const list = byCat.get(c);
    if (!list) continue;
    if (out.length) out.push('');
    out.push(`${c === 'uncategorized' ? 'Uncategorized devices' : DEVICE_CATEGORY_NAMES[c as DeviceCategory]}:`);
    for (const t of list.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      let line = `name "${t.name}"`;
      if (t.busType) line += `, bus ${t.busType}`;
      const aliases = p.registry.aliasesOf(t.name);
      if (aliases.length) line += `, alias "${aliases[0]}"`;
      if (t.description) line += `, desc "${t.description}"`;
      out.push(line);
    }
  }
  return out.join('\n') + '\n';
}

function driverHelp(p: PluginSet, driver: string): string {
  const props = deviceListProperties(p.registry, driver).sort((a, b) => (a.name < b.name ? -1 : 1));
  const lines = [`${driver} options:`];
  for (const pr of props) {
    let line = `  ${`${pr.name}=<${pr.type}>`.padEnd(22)} - ${pr.description ?? ''}`;
    if (pr['default-value'] !== undefined) line += ` (default: ${typeof pr['default-value'] === 'string' ? `"${pr['default-value']}"` : String(pr['default-value'])})`;
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}

export function answerInformational(plan: CliPlan): { code: number; stdout?: string; stderr?: string } | undefined {
  const info = plan.informational;
  if (!info) return undefined;
  const plugins = createPluginSet(builtinPlugins());
  switch (info.kind) {
    case 'version':
      return { code: 0, stdout: versionText() };
    case 'help':
      return { code: 0, stdout: `${versionText()}usage: plugboard [options]\n\nSee README.md for the QEMU options Plugboard implements.\n` };
    case 'machine-help':
      return { code: 0, stdout: machineHelp(plugins, 'x86_64') + machineHelp(plugins, 'ppc64').split('\n').slice(1).join('\n') };
    case 'device-help':
      return { code: 0, stdout: deviceHelp(plugins) };
    case 'device-driver-help': {
      const t = plugins.registry.lookupDriver(info.driver).type;
      if (!t) return { code: 1, stderr: `plugboard: -device ${info.driver},help: '${info.driver}' is not a valid device model name\n` };
      return { code: 0, stdout: driverHelp(plugins, t.name) };
    }
  }
}

/** Machine types for option checks (name, alias, default, arch). */
export function machineList(): Array<{ name: string; desc: string; alias?: string; isDefault?: boolean; arch: string }> {
  return createPluginSet(builtinPlugins()).machineTypes.map((t) => ({
    name: t.name, desc: t.description, arch: t.arch,
    ...(t.alias ? { alias: t.alias } : {}), ...(t.isDefault ? { isDefault: true } : {}),
  }));
}
