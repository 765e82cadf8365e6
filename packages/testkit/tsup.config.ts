import { defineConfig } from 'tsup';

// Two entries: the framework-free kit, and the vitest adapter (vitest stays external: it is
// an optional peer, so a project on another runner never loads it).
export default defineConfig({
  entry: ['src/index.ts', 'src/vitest.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  sourcemap: false,
});
