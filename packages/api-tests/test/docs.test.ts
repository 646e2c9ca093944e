import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { compileExamples } from './compile.js';
import { type Example, markdownExamples, markdownFiles, tsDocExamples } from './examples.js';
import { PUBLIC_PACKAGES, rel, root, sourceProgram, tsFilesUnder } from './workspace.js';

describe('documentation examples', () => {
  const program = sourceProgram();
  const tsdoc = tsDocExamples(program);
  const markdown = markdownFiles().flatMap(({ file, pkg }) => markdownExamples(file, pkg));

  it('@example appears on the public API only', () => {
    expect(tsdoc.filter((e) => !e.isPublic).map((e) => `${e.where} (${e.name})`)).toEqual([]);
  });

  it('every README code block and every public @example type-checks', () => {
    const examples = [...markdown, ...tsdoc.filter((e) => e.isPublic)];
    // Every package documents its API with examples; an extractor that finds none is broken.
    expect(markdown.length).toBeGreaterThan(15);
    expect(tsdoc.length).toBeGreaterThan(80);
    const errors = compileExamples(examples, program);
    expect(errors.map((e) => `${e.where}: ${e.message}`)).toEqual([]);
  }, 180_000);

  it('the check fails on a wrong example: a misspelt option, or a field the session does not set', () => {
    const wrong: Example[] = [
      {
        where: 'misspelt',
        language: 'ts',
        pkg: 'redis-guard',
        code: "createRedisGuard({ mdoe: 'memory' });",
      },
      {
        where: 'vary-by-sub',
        language: 'ts',
        pkg: 'cache-crypto',
        code: "import '@sec/session';\napp.get('/me', cacheResponse({ cache, varyByUser: (req) => req.auth?.sub }), handler);",
      },
      { where: 'js-misspelt', language: 'js', pkg: 'rate-limit', code: 'rateLimit({ redis, pionts: 5 });' },
    ];
    const errors = compileExamples(wrong, program);
    expect(errors.find((e) => e.where === 'misspelt')?.message).toMatch(/mdoe/);
    expect(errors.find((e) => e.where === 'vary-by-sub')?.message).toMatch(
      /'sub' does not exist on type 'AuthContext'/,
    );
    expect(errors.find((e) => e.where === 'js-misspelt')?.message).toMatch(/pionts/);
  }, 180_000);
});

describe('docs and comments speak of the product', () => {
  // Wording from the project's own history: issue numbers, reviews, seed documents, old versions.
  const HISTORY = [
    /\bissue\s*#?\d+/i,
    /\breview(ed|s)?\b/i,
    /\bseed\b/i,
    /\b(earlier|previous|older) versions?\b/i,
    /\b(by|in|since|from|before|version|v)\s+0\.\d\b/i,
  ];

  const files = [
    ...markdownFiles().map(({ file }) => file),
    ...['packages', 'apps'].flatMap((group) =>
      readdirSync(join(root, group))
        .map((name) => join(root, group, name, 'src'))
        .filter((src) => existsSync(src))
        .flatMap(tsFilesUnder),
    ),
  ];

  it('has no history wording in READMEs, docs or sources', () => {
    const hits = files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, index) =>
          HISTORY.some((pattern) => pattern.test(line)) ? [`${rel(file)}:${index + 1}: ${line.trim()}`] : [],
        ),
    );
    expect(hits).toEqual([]);
    expect(files.length).toBeGreaterThan(PUBLIC_PACKAGES.length * 5);
  });
});
