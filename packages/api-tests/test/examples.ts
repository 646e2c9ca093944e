import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { PUBLIC_PACKAGES, type PublicPackage, publicEntries, rel, root } from './workspace.js';

/** A code example from the docs, with where it came from for error messages. */
export interface Example {
  /** `packages/session/README.md:42` or `packages/session/src/manager.ts:120`. */
  readonly where: string;
  readonly language: 'ts' | 'js';
  readonly code: string;
  /** The package whose docs hold it (undefined for the repository's own docs). */
  readonly pkg: PublicPackage | undefined;
}

const FENCE = /^(\s*)```(ts|typescript|js|javascript|mjs)\s*$/;

/** Every ```ts / ```js block of a Markdown file. */
export function markdownExamples(file: string, pkg: PublicPackage | undefined): Example[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const examples: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const start = i + 1;
    const indent = open[1]!;
    while (i + 1 < lines.length && !lines[i + 1]!.trimStart().startsWith('```')) i++;
    examples.push({
      where: `${rel(file)}:${start + 1}`,
      language: open[2]!.startsWith('t') ? 'ts' : 'js',
      // A block inside a list item is indented with it.
      code: lines
        .slice(start, i + 1)
        .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
        .join('\n'),
      pkg,
    });
    i++;
  }
  return examples;
}

/** The Markdown files whose examples must compile: every README and the docs folder. */
export function markdownFiles(): { file: string; pkg: PublicPackage | undefined }[] {
  const files: { file: string; pkg: PublicPackage | undefined }[] = [
    { file: join(root, 'README.md'), pkg: undefined },
    ...PUBLIC_PACKAGES.map((pkg) => ({ file: join(root, 'packages', pkg, 'README.md'), pkg })),
    { file: join(root, 'apps', 'cluster-demo', 'README.md'), pkg: undefined },
  ];
  const docs = join(root, 'docs');
  for (const name of readdirSync(docs)) {
    if (name.endsWith('.md')) files.push({ file: join(docs, name), pkg: undefined });
  }
  return files;
}

/** A TSDoc `@example`, and whether the declaration it documents is part of the public API. */
export interface TsDocExample extends Example {
  /** The documented declaration's name, for messages. */
  readonly name: string;
  readonly isPublic: boolean;
}

/** The node a JSDoc comment documents, as the checker's declarations see it. */
function documented(node: ts.Node): readonly ts.Node[] {
  if (ts.isVariableStatement(node)) return node.declarationList.declarations;
  return [node];
}

function nameOf(node: ts.Node): string {
  const named = node as ts.Node & { name?: ts.Node };
  return named.name && ts.isIdentifier(named.name) ? named.name.text : ts.SyntaxKind[node.kind];
}

/** Declarations reachable from a package's public entries: the exports and their members. */
function publicNodes(program: ts.Program): Set<ts.Node> {
  const nodes = new Set<ts.Node>();
  const add = (node: ts.Node) => {
    nodes.add(node);
    const members =
      ts.isInterfaceDeclaration(node) || ts.isClassDeclaration(node)
        ? node.members
        : ts.isTypeAliasDeclaration(node) && ts.isTypeLiteralNode(node.type)
          ? node.type.members
          : undefined;
    for (const member of members ?? []) nodes.add(member);
  };
  for (const entry of publicEntries(program)) {
    for (const declarations of entry.exports.values()) declarations.forEach(add);
  }
  return nodes;
}

/** Every `@example` in the packages' sources. */
export function tsDocExamples(program: ts.Program): TsDocExample[] {
  const reachable = publicNodes(program);
  const examples: TsDocExample[] = [];
  for (const pkg of PUBLIC_PACKAGES) {
    const src = join(root, 'packages', pkg, 'src');
    for (const file of program.getSourceFiles()) {
      if (!file.fileName.startsWith(`${src}/`)) continue;
      const visit = (node: ts.Node) => {
        for (const doc of (node as ts.Node & { jsDoc?: ts.JSDoc[] }).jsDoc ?? []) {
          for (const tag of doc.tags ?? []) {
            if (tag.tagName.text !== 'example') continue;
            const line = file.getLineAndCharacterOfPosition(tag.getStart(file)).line + 1;
            const targets = documented(node);
            examples.push({
              where: `${rel(file.fileName)}:${line}`,
              language: 'ts',
              code: ts.getTextOfJSDocComment(tag.comment) ?? '',
              pkg,
              name: nameOf(targets[0]!),
              isPublic: targets.some((target) => reachable.has(target)),
            });
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(file);
    }
  }
  return examples;
}
