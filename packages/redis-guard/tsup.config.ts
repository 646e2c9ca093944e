import { defineConfig } from 'tsup';

// The library ships ESM + CJS with types; the CLI is ESM only (it uses top-level await).
export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
  },
  { entry: ['src/cli.ts'], format: ['esm'], sourcemap: true, target: 'node20' },
]);
