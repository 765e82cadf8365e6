/** Fixture access and machine construction from a recorded QEMU command line. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pciCatalogPlugin } from '@plugboard/pci-core';
import { corePlugin, createMachine, createPluginSet, machinesPlugin, type PlugboardMachine } from '@plugboard/machines';

const root = fileURLToPath(new URL('../../../../fixtures/qemu-7.2/', import.meta.url));

interface Exchange {
  send?: { execute?: string; arguments?: Record<string, unknown> };
  replies?: Array<Record<string, unknown>>;
}

export function loadFixture(name: string): { argv: string[]; exchanges: Exchange[] } {
  return JSON.parse(readFileSync(root + name + '.json', 'utf8'));
}

/** `query-pci` as QEMU answered it after `cont` (SeaBIOS had run for ~3 s). */
export function queryPciAfterCont(name: string): unknown {
  const ex = loadFixture(name).exchanges;
  const cont = ex.findIndex((e) => e.send?.execute === 'cont');
  const q = ex.slice(cont).find((e) => e.send?.execute === 'query-pci');
  if (cont < 0 || !q) throw new Error(`fixture ${name} has no query-pci after cont`);
  return q.replies![0]!.return;
}

/** `-M TYPE`, `-nodefaults` and the `-device` options (QemuOpts keyval, no `,,` escapes used). */
export function machineFromFixture(name: string): PlugboardMachine {
  const argv = loadFixture(name).argv;
  const devices: Array<{ opts: Record<string, unknown> }> = [];
  let type: string | undefined;
  argv.forEach((a, i) => {
    if (a === '-M' || a === '-machine') type = argv[i + 1]!.split(',')[0];
    if (a !== '-device') return;
    const [driver, ...rest] = argv[i + 1]!.split(',');
    const opts: Record<string, unknown> = { driver };
    for (const kv of rest) opts[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
    devices.push({ opts });
  });
  const plugins = createPluginSet([corePlugin, pciCatalogPlugin, machinesPlugin]);
  return createMachine(plugins, { type, nodefaults: argv.includes('-nodefaults'), devices });
}

export const X86_FIXTURES = ['pc-nodefaults', 'pc-defaults', 'pc-bridge', 'q35-nodefaults', 'q35-defaults', 'q35-ports', 'q35-switch'] as const;
