import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigurationError, configFromEnv, createRedisGuard, validateRedisConfig } from '../src/index.js';
import { parseRedisUrl } from '../src/redis-url.js';

const STRONG = 'S'.repeat(48);
const PROD_OK = { url: 'rediss://redis.internal:6380', password: STRONG };

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as ConfigurationError).code;
  }
  return undefined;
}

describe('validateRedisConfig in production', () => {
  const production = { environment: 'production' as const };

  it('accepts TLS, a strong password and a remote host, with TLS 1.3 and verification on', () => {
    const { config, warnings } = validateRedisConfig(PROD_OK, production);
    expect(warnings).toEqual([]);
    expect(config.tls).toMatchObject({ minVersion: 'TLSv1.3', rejectUnauthorized: true });
  });

  it.each([
    ['no Redis at all', {}, 'ERR_SEC_REDIS_URL_MISSING'],
    [
      'plaintext',
      { ...PROD_OK, url: 'redis://redis.internal:6379' },
      'ERR_SEC_REDIS_PLAINTEXT_IN_PRODUCTION',
    ],
    ['no password', { url: PROD_OK.url }, 'ERR_SEC_REDIS_PASSWORD_MISSING'],
    ['a 31-character password', { ...PROD_OK, password: 'x'.repeat(31) }, 'ERR_SEC_REDIS_PASSWORD_TOO_SHORT'],
    ['localhost', { ...PROD_OK, url: 'rediss://localhost:6380' }, 'ERR_SEC_REDIS_LOCALHOST_IN_PRODUCTION'],
    ['127.0.0.1', { ...PROD_OK, url: 'rediss://127.0.0.1:6380' }, 'ERR_SEC_REDIS_LOCALHOST_IN_PRODUCTION'],
    [
      'verification off',
      { ...PROD_OK, tls: { rejectUnauthorized: false } },
      'ERR_SEC_REDIS_TLS_VERIFY_DISABLED',
    ],
    ['TLS 1.2', { ...PROD_OK, tls: { minVersion: 'TLSv1.2' as const } }, 'ERR_SEC_REDIS_TLS_VERSION_TOO_LOW'],
    ['memory mode', 'memory', 'ERR_SEC_MEMORY_MODE_IN_PRODUCTION'],
  ])('refuses %s', (_label, config, code) => {
    const run =
      config === 'memory'
        ? () => createRedisGuard({ mode: 'memory', environment: 'production' })
        : () => validateRedisConfig(config as object, production);
    expect(codeOf(run)).toBe(code);
  });

  it('allows plaintext with REDIS_INSECURE_ALLOW_PLAINTEXT=true, with a loud warning', () => {
    const { warnings } = validateRedisConfig(
      { ...PROD_OK, url: 'redis://redis.internal:6379', insecureAllowPlaintext: true },
      production,
    );
    expect(warnings.join()).toMatch(/SECURITY WARNING: plaintext Redis in production/);
  });

  it('allows localhost when REDIS_SINGLE_HOST=true declares a single-host deployment', () => {
    expect(() =>
      validateRedisConfig({ ...PROD_OK, url: 'rediss://localhost:6380', singleHost: true }, production),
    ).not.toThrow();
  });

  it('names the variable to set and never the password in its message', () => {
    const secret = 'short-but-secret-pw';
    try {
      validateRedisConfig({ url: `rediss://:${secret}@redis.internal:6380` }, production);
      throw new Error('expected a ConfigurationError');
    } catch (error) {
      const e = error as ConfigurationError;
      expect(e.code).toBe('ERR_SEC_REDIS_PASSWORD_TOO_SHORT');
      expect(e.variable).toBe('REDIS_PASSWORD');
      expect(e.message).toContain('sec-redis gen-password --env production');
      expect(e.message).not.toContain(secret);
    }
  });

  it('applies production rules to an unrecognised environment name', () => {
    expect(
      codeOf(() =>
        validateRedisConfig({ url: 'redis://redis.internal' }, { env: { NODE_ENV: 'prodution' } }),
      ),
    ).toBe('ERR_SEC_REDIS_PLAINTEXT_IN_PRODUCTION');
  });
});

describe('validateRedisConfig in staging, development and test', () => {
  it('staging wants TLS 1.2+, verification and 24 characters', () => {
    const staging = { environment: 'staging' as const };
    expect(
      validateRedisConfig({ ...PROD_OK, password: 'y'.repeat(24) }, staging).config.tls?.minVersion,
    ).toBe('TLSv1.2');
    expect(codeOf(() => validateRedisConfig({ ...PROD_OK, password: 'y'.repeat(23) }, staging))).toBe(
      'ERR_SEC_REDIS_PASSWORD_TOO_SHORT',
    );
    expect(
      codeOf(() => validateRedisConfig({ ...PROD_OK, tls: { rejectUnauthorized: false } }, staging)),
    ).toBe('ERR_SEC_REDIS_TLS_VERIFY_DISABLED');
  });

  it('development warns instead of failing, and allows self-signed setups', () => {
    const { warnings, config } = validateRedisConfig(
      { url: 'rediss://redis.dev:6380', tls: { rejectUnauthorized: false } },
      { environment: 'development' },
    );
    expect(config.tls?.rejectUnauthorized).toBe(false);
    expect(warnings.join('\n')).toMatch(/no password/);
    expect(warnings.join('\n')).toMatch(/verification is off/);
  });

  it('development without any Redis is allowed (memory mode is decided by the guard)', () => {
    expect(validateRedisConfig({}, { environment: 'development' }).config.topology).toBe('none');
  });
});

describe('bad input', () => {
  it.each([
    ['http://redis.internal:6379', /unknown scheme "http"/],
    ['redis://:6379', /no host/],
    ['redis://redis.internal:70000', /out of range/],
    ['redis://redis.internal:0', /out of range/],
    ['not a url', /not a redis:\/\/ or rediss:\/\/ URL/],
    ['redis://redis.internal:6379/abc', /database that is not a number/],
    ['redis://redis.internal:6379/0?family=6', /query or fragment/],
  ])('REDIS_URL=%s → ERR_SEC_REDIS_URL_INVALID', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(message);
    expect(codeOf(() => parseRedisUrl(url))).toBe('ERR_SEC_REDIS_URL_INVALID');
  });

  it('never echoes the userinfo of a malformed URL', () => {
    try {
      parseRedisUrl('redsi://:hunter2-hunter2@redis.internal:6379');
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
      expect((error as Error).message).toMatch(/unknown scheme/);
    }
    expect.assertions(2);
  });

  it('refuses different passwords in REDIS_URL and REDIS_PASSWORD', () => {
    expect(
      codeOf(() =>
        validateRedisConfig(
          { url: 'redis://:one-password@h:1', password: 'two-password' },
          { environment: 'test' },
        ),
      ),
    ).toBe('ERR_SEC_REDIS_PASSWORD_CONFLICT');
  });

  it('rejects a boolean flag that is not a boolean, naming the variable', () => {
    expect(() => configFromEnv({ REDIS_INSECURE_ALLOW_PLAINTEXT: 'ture' })).toThrow(
      /REDIS_INSECURE_ALLOW_PLAINTEXT="ture" is not a boolean/,
    );
  });

  describe('certificate files', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sec-pem-'));
      await writeFile(join(dir, 'garbage.crt'), 'this is not a certificate');
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('an unreadable file → ERR_SEC_REDIS_TLS_FILE_UNREADABLE naming the variable', () => {
      expect(codeOf(() => configFromEnv({ REDIS_TLS_CA_CERT: join(dir, 'missing.crt') }))).toBe(
        'ERR_SEC_REDIS_TLS_FILE_UNREADABLE',
      );
      expect(() => configFromEnv({ REDIS_TLS_CA_CERT: join(dir, 'missing.crt') })).toThrow(
        /REDIS_TLS_CA_CERT/,
      );
    });

    it('a non-PEM file → ERR_SEC_REDIS_TLS_FILE_INVALID', () => {
      expect(codeOf(() => configFromEnv({ REDIS_TLS_KEY: join(dir, 'garbage.crt') }))).toBe(
        'ERR_SEC_REDIS_TLS_FILE_INVALID',
      );
    });
  });

  it('option typos and wrong types in code → OptionError with a suggestion', () => {
    expect(() => createRedisGuard({ environment: 'test', comandTimeoutMs: 5 } as never)).toThrow(
      /did you mean "commandTimeoutMs"/,
    );
    expect(() => createRedisGuard({ environment: 'test', commandTimeoutMs: '5' } as never)).toThrow(
      /option "commandTimeoutMs" must be number/,
    );
  });
});
