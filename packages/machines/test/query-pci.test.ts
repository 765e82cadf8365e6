import { describe, expect, it } from 'vitest';
import { formatInfoPci, pciCatalogPlugin, queryPci } from '@plugboard/pci-core';
import { corePlugin, createMachine, createPluginSet, hotplugSpaprPlugin, machinesPlugin } from '../src/index.js';
import { fixtureDevices, loadFixture, replyTo } from './fixtures.js';

const plugins = () => createPluginSet([corePlugin, pciCatalogPlugin, hotplugSpaprPlugin, machinesPlugin]);

const cases: Array<[string, string, string?]> = [
  ['pc-nodefaults', 'pc'],
  ['pc-defaults', 'pc'],
  ['q35-nodefaults', 'q35'],
  ['q35-defaults', 'q35'],
  ['q35-ports', 'q35'],
  ['q35-switch', 'q35'],
  ['pc-bridge', 'pc'],
  ['pseries-nodefaults', 'pseries', 'ppc64'],
  ['pseries-bridge', 'pseries', 'ppc64'],
];

describe('query-pci equals QEMU 7.2 before firmware (-S)', () => {
  for (const [fixture, type, arch] of cases) {
    it(fixture, () => {
      const argv = loadFixture(fixture).argv;
      const m = createMachine(plugins(), { type, arch: arch ?? 'x86_64', nodefaults: argv.includes('-nodefaults'), devices: fixtureDevices(fixture) });
      const expected = replyTo(fixture, 'query-pci').return;
      expect(JSON.parse(JSON.stringify(queryPci(m.pciRoots)))).toEqual(expected);
    });
  }
});

describe('HMP info pci equals QEMU 7.2', () => {
  for (const [fixture, type, arch] of cases) {
    it(fixture, () => {
      const argv = loadFixture(fixture).argv;
      const m = createMachine(plugins(), { type, arch: arch ?? 'x86_64', nodefaults: argv.includes('-nodefaults'), devices: fixtureDevices(fixture) });
      let expected: unknown;
      try {
        expected = replyTo(fixture, 'human-monitor-command', { 'command-line': 'info pci' }).return;
      } catch {
        return; // not recorded for this scenario
      }
      expect(formatInfoPci(queryPci(m.pciRoots))).toBe(expected);
    });
  }
});
