/**
 * `-plugin PATH|PACKAGE[,key=value...]`: loads a module whose default export (or `plugin`
 * export) is a Plugboard plugin made with `definePlugin`, and hands it the key=value options
 * (qdev's configurePlugin: undeclared options are refused). A path is resolved from the
 * current directory; anything else is a package name resolved from there too.
 * `-plugin PATH,help` (or `,?`) lists the options the plugin declares, as `-device TYPE,help`
 * lists properties, and exits 0.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configurePlugin, QemuError, type Plugin } from '@plugboard/qdev';
import { CliError } from './options/errors.js';
import { formatPropertyList } from './options/help.js';

function isPlugin(x: unknown): x is Plugin {
  return typeof x === 'object' && x !== null && typeof (x as Plugin).name === 'string';
}

export async function loadPlugins(specs: Array<{ spec: string; args?: Array<[string, string]>; location: string }>): Promise<Plugin[]> {
  const out: Plugin[] = [];
  for (const { spec, args = [], location } of specs) {
    let url: string;
    try {
      url = pathToFileURL(resolvePlugin(spec)).href;
    } catch {
      throw new CliError({ location, message: `Could not find plugin '${spec}'` });
    }
    let mod: Record<string, unknown>;
    try {
      mod = (await import(url)) as Record<string, unknown>;
    } catch (e) {
      throw new CliError({ location, message: `Could not load plugin '${spec}': ${(e as Error).message}` });
    }
    const p = isPlugin(mod.default) ? mod.default : isPlugin(mod.plugin) ? mod.plugin : undefined;
    if (!p) throw new CliError({ location, message: `'${spec}' does not export a plugin (default export of definePlugin(...))` });
    // `help` anywhere among the arguments wins over the other options, as for -device.
    if (args.some(([k]) => k === 'help' || k === '?')) throw new CliError(undefined, { exitCode: 0, stdout: pluginHelp(p) });
    try {
      out.push(configurePlugin(p, args));
    } catch (e) {
      if (e instanceof QemuError) throw new CliError({ location, message: e.message });
      throw new CliError({ location, message: `Could not configure plugin '${spec}': ${(e as Error).message}` });
    }
  }
  return out;
}

/**
 * `-plugin PATH,help`: `NAME options:` then `  name=<str>` padded to 24 columns, ` - description`,
 * ` (default: "text")`, sorted (options are strings, given as written); "There are no options
 * for NAME." for a plugin that declares none (or cannot be configured).
 */
export function pluginHelp(p: Plugin): string {
  const options = p.configure ? Object.entries(p.options ?? {}) : [];
  return formatPropertyList(
    p.name,
    options.map(([name, d]) => ({
      name,
      type: 'str',
      ...(d.description !== undefined ? { description: d.description } : {}),
      ...(d.default !== undefined ? { defaultValue: d.default } : {}),
    })),
  );
}

/**
 * A file, a package directory (its package.json's ESM entry), or a package name looked up in
 * node_modules from the current directory upwards (ESM-only packages have no `require` entry,
 * so the `exports` map is read directly).
 */
function resolvePlugin(spec: string): string {
  const asPath = resolve(spec);
  if (existsSync(asPath)) return statSync(asPath).isDirectory() ? packageEntry(asPath) : asPath;
  if (spec.startsWith('.') || spec.startsWith('/')) throw new Error('not found');
  for (let dir = resolve('.'); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', spec);
    if (existsSync(join(candidate, 'package.json'))) return packageEntry(candidate);
    if (dirname(dir) === dir) break;
  }
  return createRequire(pathToFileURL(resolve('package.json')).href).resolve(spec);
}

function packageEntry(dir: string): string {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports?: unknown; module?: string; main?: string };
  const dot = typeof pkg.exports === 'object' && pkg.exports !== null && '.' in pkg.exports ? (pkg.exports as Record<string, unknown>)['.'] : pkg.exports;
  const pick = (e: unknown): string | undefined =>
    typeof e === 'string' ? e : typeof e === 'object' && e !== null ? pick((e as Record<string, unknown>).import ?? (e as Record<string, unknown>).default) : undefined;
  const entry = pick(dot) ?? pkg.module ?? pkg.main ?? 'index.js';
  return join(dir, entry);
}
