import { rmSync, writeFileSync } from 'node:fs';
import type { Options } from 'tsup';

/**
 * The build of every public package: one ES module build, and for `require()` a CommonJS file per
 * entry that loads that same build (Node >= 20.19 loads ES modules through require()). A process
 * therefore holds one instance of each package whether it imports it, requires it, or both, and
 * module-private state (a WeakSet of guards, a registry of limiter names) needs no global.
 * CommonJS TypeScript users get `.d.cts` declarations next to the `.d.ts` ones.
 *
 * Declarations are built against the siblings' published types (`dist`), not against their
 * sources: the development-only export condition is switched off for the build.
 */
export function packageBuild(entries: readonly string[], extra: readonly Options[] = []): Options[] {
  // Cleaned here, once, rather than with `clean: true`: the configs below run concurrently.
  rmSync('dist', { recursive: true, force: true });
  const entry = entries.map((name) => `src/${name}.ts`);
  const dtsCompilerOptions = { customConditions: [] };
  return [
    {
      entry,
      format: ['esm'],
      target: 'node20',
      sourcemap: true,
      dts: { compilerOptions: dtsCompilerOptions },
      async onSuccess() {
        for (const name of entries) {
          writeFileSync(
            `dist/${name}.cjs`,
            "'use strict';\n// The ES module build, loaded through require(): one instance of the package per process.\n" +
              `module.exports = require('./${name}.js');\n`,
          );
        }
      },
    },
    { entry, format: ['cjs'], target: 'node20', dts: { only: true, compilerOptions: dtsCompilerOptions } },
    ...extra,
  ];
}
