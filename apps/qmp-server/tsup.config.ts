import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // monitors: what a command line needs before it loads the machine (apps/cli's start-up).
    entry: ['src/index.ts', 'src/monitors.ts'],
    format: ['esm'],
    dts: true,
    target: 'node20',
    sourcemap: false,
  },
  {
    // `plugboard-qmp`: one bundled file, so starting a fleet does not walk node_modules.
    entry: { 'plugboard-qmp': 'src/daemon.ts' },
    format: ['esm'],
    target: 'node20',
    sourcemap: false,
    noExternal: [/^@plugboard\//],
    banner: { js: '#!/usr/bin/env node' },
  },
]);
