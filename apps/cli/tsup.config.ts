import { defineConfig } from 'tsup';

export default defineConfig([
  // The library entry (run, main): imports the @plugboard packages, so a -plugin module shares
  // the very same classes (Device, PCIDevice...) with the machine. bin.ts falls back to it when
  // the command line has -plugin.
  { entry: ['src/index.ts'], format: ['esm'], dts: true, target: 'node20' },
  {
    // The command: the @plugboard packages bundled in, split so that what opens the monitors
    // (options, QMP) loads before the device models (early.ts). One file per phase instead of a
    // module per package: Node 20's ESM loader spends milliseconds per module it resolves.
    entry: { plugboard: 'src/bin.ts' },
    format: ['esm'],
    target: 'node20',
    splitting: true,
    noExternal: [/^@plugboard\//],
    banner: { js: '#!/usr/bin/env node' },
  },
]);
