import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CacheCryptoErrorCode, cacheResponse, createEncryptedCache } from '@sec/cache-crypto';
import { createHealth, HealthErrorCode } from '@sec/health';
import { RateLimitErrorCode } from '@sec/rate-limit';
import { createRedisGuard, OptionError, RedisGuardErrorCode, SecError } from '@sec/redis-guard';
import { createSessionManager, SessionErrorCode, sessionRouter } from '@sec/session';
// Not exported from the package: applications match findings by the literal union of
// PostureResult['code']. The table itself is read here to hold it to the same rules.
import { PostureFindingCode } from '../../redis-guard/src/posture/types.js';
import { PUBLIC_PACKAGES, type PublicPackage, readme, root, sourceFiles, tsFilesUnder } from './workspace.js';

interface CodeTable {
  /** The name its sources use for it. */
  readonly name: string;
  readonly codes: Record<string, string>;
}

/**
 * Each package's table of the codes it throws, and for redis-guard the codes its posture audit
 * reports (in PostureResult.code and log lines) without throwing them.
 */
const TABLES: Record<PublicPackage, { readonly thrown: CodeTable; readonly reported?: CodeTable }> = {
  'redis-guard': {
    thrown: { name: 'RedisGuardErrorCode', codes: RedisGuardErrorCode },
    reported: { name: 'PostureFindingCode', codes: PostureFindingCode },
  },
  session: { thrown: { name: 'SessionErrorCode', codes: SessionErrorCode } },
  'rate-limit': { thrown: { name: 'RateLimitErrorCode', codes: RateLimitErrorCode } },
  'cache-crypto': { thrown: { name: 'CacheCryptoErrorCode', codes: CacheCryptoErrorCode } },
  health: { thrown: { name: 'HealthErrorCode', codes: HealthErrorCode } },
};
const declared = (pkg: PublicPackage) =>
  new Set([...Object.values(TABLES[pkg].thrown.codes), ...Object.values(TABLES[pkg].reported?.codes ?? {})]);
const everyCode = new Set(PUBLIC_PACKAGES.flatMap((pkg) => [...declared(pkg)]));

/** The codes in the first column of the tables of a README's `## Errors` / `## Error codes` section. */
function documentedIn(text: string): Set<string> {
  const start = text.search(/^## Error/m);
  expect(start).toBeGreaterThan(-1);
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end === -1 ? undefined : end);
  const codes = new Set<string>();
  for (const line of section.split('\n')) {
    const first = /^\|([^|]*)\|/.exec(line)?.[1] ?? '';
    for (const [code] of first.matchAll(/ERR_SEC_[A-Z_]+(?![A-Z_*])/g)) codes.add(code);
  }
  return codes;
}

const documented = (pkg: PublicPackage) => documentedIn(readme(pkg));

const sources = (pkg: PublicPackage) => sourceFiles(pkg).map((file) => readFileSync(file, 'utf8'));

/** Every use of a table outside the table itself: `Code.Key`, `<Table>.Key` or the literal. */
function unused(table: CodeTable, text: string, alias: string): [string, string][] {
  const uses = text.replace(/^\s+\w+: 'ERR_SEC_[A-Z_]+',$/gm, '');
  return Object.entries(table.codes).filter(
    ([key, code]) => !new RegExp(`\\b(${alias}|${table.name})\\.${key}\\b|'${code}'`).test(uses),
  );
}

describe('one error family', () => {
  it.each(PUBLIC_PACKAGES)('@sec/%s documents every code it declares, and only codes that exist', (pkg) => {
    const readmeCodes = documented(pkg);
    expect([...declared(pkg)].filter((code) => !readmeCodes.has(code))).toEqual([]);
    expect([...readmeCodes].filter((code) => !everyCode.has(code))).toEqual([]);
  });

  it.each(PUBLIC_PACKAGES)('@sec/%s throws every code it declares as thrown', (pkg) => {
    expect(unused(TABLES[pkg].thrown, sources(pkg).join('\n'), 'Code')).toEqual([]);
  });

  it('@sec/redis-guard reports every posture finding code, and a refusal is thrown with a thrown code', () => {
    const reported = TABLES['redis-guard'].reported!;
    expect(unused(reported, sources('redis-guard').join('\n'), 'Finding')).toEqual([]);
    // A finding code reaches a throw only as a rule's `refusal`, typed as a thrown code.
    const rules = sourceFiles('redis-guard').filter((file) => file.includes('/posture/'));
    const refusals = rules.flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/refusal: Code\.(\w+)/g)].map((m) => m[1]!),
    );
    expect(refusals).toEqual(['EvictionPolicy']);
    expect(RedisGuardErrorCode.EvictionPolicy).toBe(PostureFindingCode.EvictionPolicy);
  });

  it.each(PUBLIC_PACKAGES)('@sec/%s writes no code outside the code tables', (pkg) => {
    const literals = sources(pkg).flatMap((text) =>
      [...text.matchAll(/'(ERR_SEC_[A-Z_]+)'/g)].map((m) => m[1]!),
    );
    expect(literals.filter((code) => !everyCode.has(code))).toEqual([]);
  });

  it('the demo declares, throws and documents its own codes, and uses no undeclared one', () => {
    const demo = join(root, 'apps', 'cluster-demo');
    const declaration = readFileSync(join(demo, 'src', 'error-codes.ts'), 'utf8');
    const own = [...declaration.matchAll(/^\s+(ERR_SEC_[A-Z_]+): true;$/gm)].map((m) => m[1]!);
    expect(own.length).toBeGreaterThan(0);
    const text = tsFilesUnder(join(demo, 'src'))
      .filter((file) => !file.endsWith('error-codes.ts'))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const thrown = new Set([...text.matchAll(/'(ERR_SEC_[A-Z_]+)'/g)].map((m) => m[1]!));
    expect(own.filter((code) => !thrown.has(code))).toEqual([]);
    expect([...thrown].filter((code) => !own.includes(code) && !everyCode.has(code))).toEqual([]);
    const readmeCodes = documentedIn(readFileSync(join(demo, 'README.md'), 'utf8'));
    expect(own.filter((code) => !readmeCodes.has(code))).toEqual([]);
  });

  it('a missing required option is the same OptionError, naming the option, in every package', async () => {
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const guard = createRedisGuard({ mode: 'memory', env: { NODE_ENV: 'test' }, logger: quiet });
    const cache = createEncryptedCache({ redis: guard, namespace: 'ns', logger: quiet });
    const sessions = createSessionManager({
      redis: guard,
      signingKeys: [{ kid: 'k', secret: 'k'.repeat(32) }],
      issuer: 'i',
      audience: 'a',
    });
    const missing: [() => unknown, string][] = [
      [() => createSessionManager(undefined as never), 'signingKeys'],
      [
        () =>
          createSessionManager({
            redis: guard,
            signingKeys: [{ kid: 'k', secret: 'k'.repeat(32) }],
          } as never),
        'issuer',
      ],
      [() => sessionRouter(sessions, {} as never), 'verifyCredentials'],
      [() => createHealth({} as never), 'checks'],
      [() => cacheResponse({} as never), 'cache'],
      [() => createEncryptedCache({ redis: guard } as never), 'namespace'],
    ];
    for (const [call, option] of missing) {
      let thrown: unknown;
      try {
        call();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(OptionError);
      expect(thrown).toBeInstanceOf(SecError);
      expect(thrown).not.toBeInstanceOf(TypeError);
      expect(thrown).toMatchObject({ code: 'ERR_SEC_INVALID_OPTION', option, status: 500, expose: false });
      expect((thrown as Error).message).toMatch(new RegExp(`"${option}" is required`));
    }
    expect(cache.namespace).toBe('ns');
    await sessions.close();
  });
});
