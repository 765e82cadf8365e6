/**
 * `-plugin PATH|PACKAGE`: loads a module whose default export (or `plugin` export) is a
 * Plugboard plugin made with `definePlugin`. A path is resolved from the current directory;
 * anything else is a package name resolved from there too.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from '@plugboard/qdev';
import { CliError } from './options/errors.js';

function isPlugin(x: unknown): x is Plugin {
  return typeof x === 'object' && x !== null && typeof (x as Plugin).name === 'string';
}

export async function loadPlugins(specs: Array<{ spec: string; location: string }>): Promise<Plugin[]> {
  const out: Plugin[] = [];
  for (const { spec, location } of specs) {
    let url: string;
    try {
      const asPath = resolve(spec);
      url = spec.startsWith('.') || spec.startsWith('/') || existsSync(asPath)
        ? pathToFileURL(asPath).href
        : pathToFileURL(createRequire(pathToFileURL(resolve('package.json')).href).resolve(spec)).href;
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
    out.push(p);
  }
  return out;
}
