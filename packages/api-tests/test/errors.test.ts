import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { CacheCryptoErrorCode, cacheResponse, createEncryptedCache } from '@sec/cache-crypto';
import { createHealth, HealthErrorCode } from '@sec/health';
import { RateLimitErrorCode } from '@sec/rate-limit';
import { createRedisGuard, OptionError, RedisGuardErrorCode, SecError } from '@sec/redis-guard';
import { createSessionManager, SessionErrorCode, sessionRouter } from '@sec/session';
import { PUBLIC_PACKAGES, type PublicPackage, readme, sourceFiles } from './workspace.js';

/** Each package's code table, by the name its sources use for it. */
const TABLES: Record<PublicPackage, { readonly name: string; readonly codes: Record<string, string> }> = {
  'redis-guard': { name: 'RedisGuardErrorCode', codes: RedisGuardErrorCode },
  session: { name: 'SessionErrorCode', codes: SessionErrorCode },
  'rate-limit': { name: 'RateLimitErrorCode', codes: RateLimitErrorCode },
  'cache-crypto': { name: 'CacheCryptoErrorCode', codes: CacheCryptoErrorCode },
  health: { name: 'HealthErrorCode', codes: HealthErrorCode },
};
const declared = (pkg: PublicPackage) => new Set(Object.values(TABLES[pkg].codes));
const everyCode = new Set(PUBLIC_PACKAGES.flatMap((pkg) => [...declared(pkg)]));

/** The codes in the first column of the README's errors tables (`## Errors` / `## Error codes`). */
function documented(pkg: PublicPackage): Set<string> {
  const text = readme(pkg);
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

const sources = (pkg: PublicPackage) => sourceFiles(pkg).map((file) => readFileSync(file, 'utf8'));

describe('one error family', () => {
  it.each(PUBLIC_PACKAGES)('@sec/%s documents every code it declares, and only codes that exist', (pkg) => {
    const readmeCodes = documented(pkg);
    expect([...declared(pkg)].filter((code) => !readmeCodes.has(code))).toEqual([]);
    expect([...readmeCodes].filter((code) => !everyCode.has(code))).toEqual([]);
  });

  it.each(PUBLIC_PACKAGES)('@sec/%s throws every code it declares', (pkg) => {
    const { name, codes } = TABLES[pkg];
    const text = sources(pkg)
      .join('\n')
      // The table itself does not count as a use.
      .replace(/^\s+\w+: 'ERR_SEC_[A-Z_]+',$/gm, '');
    const unused = Object.entries(codes).filter(
      ([key, code]) => !new RegExp(`\\b(Code|${name})\\.${key}\\b|'${code}'`).test(text),
    );
    expect(unused).toEqual([]);
  });

  it.each(PUBLIC_PACKAGES)('@sec/%s writes no code outside the code tables', (pkg) => {
    const literals = sources(pkg).flatMap((text) =>
      [...text.matchAll(/'(ERR_SEC_[A-Z_]+)'/g)].map((m) => m[1]!),
    );
    expect(literals.filter((code) => !everyCode.has(code))).toEqual([]);
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
