import { defineConfig } from 'tsup';

export default defineConfig({
  // listen: sockets and the greeting alone (`@plugboard/qmp/listen`), for a command line that
  // opens its monitors before it loads anything else.
  entry: ['src/index.ts', 'src/listen.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  sourcemap: false,
});
