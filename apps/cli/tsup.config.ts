import { defineConfig } from 'tsup';

export default defineConfig([
  { entry: ['src/index.ts'], format: ['esm'], dts: true, target: 'node20' },
  {
    // The command imports the @plugboard packages rather than bundling them, so a -plugin
    // module shares the very same classes (Device, PCIDevice...) with the machine.
    entry: { plugboard: 'src/bin.ts' },
    format: ['esm'],
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
