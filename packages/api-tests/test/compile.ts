import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import type { Example } from './examples.js';
import { compilerOptions, type PublicPackage, publicEntries, root } from './workspace.js';

const HERE = join(root, 'packages', 'api-tests');
const OUT = join(HERE, '.examples');
/** Ambient declarations for the app-specific names examples use (`guard`, `app`, `checkPassword`…). */
const ENVIRONMENT = join(HERE, 'examples-env.d.ts');

/** Names declared or imported at the top level of an example (they must not be imported over). */
function topLevelNames(file: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const bind = (name: ts.BindingName) => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  for (const statement of file.statements) {
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement)) &&
      statement.name
    ) {
      names.add(statement.name.text);
    } else if (ts.isImportDeclaration(statement) && statement.importClause) {
      const { name, namedBindings } = statement.importClause;
      if (name) names.add(name.text);
      if (namedBindings && ts.isNamespaceImport(namedBindings)) names.add(namedBindings.name.text);
      if (namedBindings && ts.isNamedImports(namedBindings)) {
        for (const element of namedBindings.elements) names.add(element.name.text);
      }
    }
  }
  return names;
}

function identifiers(file: ts.SourceFile): Set<string> {
  const found = new Set<string>();
  const visit = (node: ts.Node) => {
    if (ts.isIdentifier(node)) found.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** One public entry's names, for imports: `@sec/redis-guard/audit` → createAuditTrail, … */
interface EntryNames {
  readonly specifier: string;
  readonly pkg: PublicPackage;
  readonly names: ReadonlySet<string>;
}

/**
 * The example as a module: the public @sec names it uses but neither declares nor imports are
 * imported for it, from the package it documents first (its root, then its subpaths), then
 * @sec/redis-guard, then the others.
 */
function moduleFor(example: Example, entries: readonly EntryNames[]): string {
  const parsed = ts.createSourceFile('example.ts', example.code, ts.ScriptTarget.ES2022, true);
  const declared = topLevelNames(parsed);
  const used = identifiers(parsed);
  const sources: PublicPackage[] = [...new Set([example.pkg ?? 'redis-guard', 'redis-guard' as const])];
  const rank = (pkg: PublicPackage) => (sources.includes(pkg) ? sources.indexOf(pkg) : sources.length);
  const ordered = [...entries].sort((a, b) => rank(a.pkg) - rank(b.pkg));
  const lines: string[] = [];
  const taken = new Set<string>();
  for (const entry of ordered) {
    const names = [...entry.names].filter(
      (name) => used.has(name) && !declared.has(name) && !taken.has(name),
    );
    for (const name of names) taken.add(name);
    if (names.length > 0) lines.push(`import { ${names.join(', ')} } from '${entry.specifier}';`);
  }
  return `${lines.join('\n')}\n${example.code}\nexport {};\n`;
}

// The last program per language: the next compile reuses its unchanged source files.
const previous = new Map<'ts' | 'js', ts.Program>();

/** A compile error, placed at the example it came from. */
export interface ExampleError {
  readonly where: string;
  readonly message: string;
}

/** Type-checks every example at once against the packages' sources; returns the errors. */
export function compileExamples(examples: readonly Example[], program: ts.Program): ExampleError[] {
  const exportsOf: EntryNames[] = publicEntries(program).map(({ specifier, pkg, exports }) => ({
    specifier,
    pkg,
    names: new Set(exports.keys()),
  }));
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const files = new Map<string, Example>();
  examples.forEach((example, index) => {
    const file = join(OUT, `example-${String(index).padStart(3, '0')}.${example.language}`);
    writeFileSync(file, moduleFor(example, exportsOf));
    files.set(file, example);
  });
  const strict: ts.CompilerOptions = {
    ...compilerOptions(),
    noEmit: true,
    // Examples show one call; unused names in them are not mistakes.
    noUnusedLocals: false,
    noUnusedParameters: false,
  };
  // JavaScript blocks are checked as a JavaScript user's editor checks them: wrong names, options
  // and call shapes are errors; null checks and implicit any are TypeScript's business.
  const lenient: ts.CompilerOptions = {
    ...strict,
    allowJs: true,
    checkJs: true,
    strictNullChecks: false,
    noImplicitAny: false,
  };
  const errors: ExampleError[] = [];
  for (const [language, options] of [
    ['ts', strict],
    ['js', lenient],
  ] as const) {
    const roots = [...files].filter(([, example]) => example.language === language).map(([file]) => file);
    if (roots.length === 0) continue;
    const checked = ts.createProgram([...roots, ENVIRONMENT], options, undefined, previous.get(language));
    previous.set(language, checked);
    for (const diagnostic of ts.getPreEmitDiagnostics(checked)) {
      const example = diagnostic.file && files.get(diagnostic.file.fileName);
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      if (!example) {
        // The packages' own sources are held to the strict options only.
        if (options === strict) errors.push({ where: diagnostic.file?.fileName ?? 'options', message });
        continue;
      }
      const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const text = diagnostic.file!.text.split('\n')[line]?.trim();
      errors.push({ where: example.where, message: `${message}\n    at: ${text}` });
    }
  }
  return errors;
}
