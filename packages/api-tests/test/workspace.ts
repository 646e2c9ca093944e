import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The published packages, by directory under packages/. */
export const PUBLIC_PACKAGES = ['redis-guard', 'session', 'rate-limit', 'cache-crypto', 'health'] as const;
export type PublicPackage = (typeof PUBLIC_PACKAGES)[number];

export const rel = (path: string) => relative(root, path);

/** The compiler options of the workspace's typecheck (sources resolved through "@sec/source"). */
export function compilerOptions(): ts.CompilerOptions {
  return ts.getParsedCommandLineOfConfigFile(
    join(root, 'packages', 'api-tests', 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
  )!.options;
}

/** Every TypeScript file under a directory, subdirectories included. */
export function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(dir, file))
    .sort();
}

/** Every source file of a package. */
export function sourceFiles(name: PublicPackage): string[] {
  return tsFilesUnder(join(root, 'packages', name, 'src'));
}

/** One TypeScript program over every package's sources, resolved as the typecheck resolves them. */
export function sourceProgram(): ts.Program {
  return ts.createProgram(PUBLIC_PACKAGES.flatMap(sourceFiles), compilerOptions());
}

/**
 * Public entries besides each package's root, by the source file behind them: `@sec/redis-guard/audit`
 * is `packages/redis-guard/src/audit.ts`. (The internal entry is not public.)
 */
export const PUBLIC_SUBPATHS: Readonly<Partial<Record<PublicPackage, readonly string[]>>> = {
  'redis-guard': ['audit'],
};

/** What a package's root entry (or the named public subpath's) exports: name → the declarations behind it. */
export function rootExports(
  program: ts.Program,
  name: PublicPackage,
  entry = 'index',
): Map<string, readonly ts.Declaration[]> {
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(join(root, 'packages', name, 'src', `${entry}.ts`))!;
  const exports = new Map<string, readonly ts.Declaration[]>();
  for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(file)!)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    exports.set(symbol.name, target.declarations ?? []);
  }
  return exports;
}

/** Every public entry of every package: its import specifier, package and exports, roots first. */
export function publicEntries(
  program: ts.Program,
): { specifier: string; pkg: PublicPackage; exports: Map<string, readonly ts.Declaration[]> }[] {
  return PUBLIC_PACKAGES.flatMap((pkg) => [
    { specifier: `@sec/${pkg}`, pkg, exports: rootExports(program, pkg) },
    ...(PUBLIC_SUBPATHS[pkg] ?? []).map((entry) => ({
      specifier: `@sec/${pkg}/${entry}`,
      pkg,
      exports: rootExports(program, pkg, entry),
    })),
  ]);
}

export function readme(name: PublicPackage): string {
  return readFileSync(join(root, 'packages', name, 'README.md'), 'utf8');
}
