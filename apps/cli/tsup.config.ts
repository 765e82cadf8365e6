import { defineConfig } from 'tsup';

export default defineConfig([
  { entry: ['src/index.ts'], format: ['esm'], dts: true, target: 'node20' },
  {
    // One bundled file for the command: start-up does not walk node_modules.
    entry: { plugboard: 'src/bin.ts' },
    format: ['esm'],
    target: 'node20',
    noExternal: [/^@plugboard\//],
    banner: { js: '#!/usr/bin/env node' },
  },
]);
