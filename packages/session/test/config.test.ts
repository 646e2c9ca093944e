import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createRedisGuard, OptionError } from '@sec/redis-guard';
import { captureLogger } from '@sec/testing';
import { createSessionManager, type SessionManagerOptions, type SigningKeyInput } from '../src/index.js';
import { AUDIENCE, ISSUER, KEYS, memoryGuard } from './helpers.js';

const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const pem = (key: import('node:crypto').KeyObject) =>
  key
    .export(key.type === 'private' ? { format: 'pem', type: 'pkcs8' } : { format: 'pem', type: 'spki' })
    .toString();

const make = (options: Partial<SessionManagerOptions>) =>
  createSessionManager({
    redis: memoryGuard(),
    signingKeys: KEYS,
    issuer: ISSUER,
    audience: AUDIENCE,
    ...options,
  });
const keys = (...signingKeys: SigningKeyInput[]) => make({ signingKeys });

describe('createSessionManager() validates at start-up', () => {
  it.each<[string, () => unknown, string]>([
    ['no keys', () => keys(), 'ERR_SEC_INVALID_OPTION'],
    ['no options at all', () => createSessionManager(undefined as never), 'ERR_SEC_INVALID_OPTION'],
    ['options that are not an object', () => createSessionManager('x' as never), 'ERR_SEC_INVALID_OPTION'],
    ['a 31-byte secret', () => keys({ kid: 'a', secret: 'x'.repeat(31) }), 'ERR_SEC_SESSION_KEY_TOO_SHORT'],
    [
      'a public key PEM as an HS256 secret',
      () => keys({ kid: 'a', secret: pem(ed.publicKey) }),
      'ERR_SEC_SESSION_KEY_INVALID',
    ],
    ['a missing kid', () => keys({ secret: randomBytes(32) } as never), 'ERR_SEC_SESSION_KEY_INVALID'],
    ['a kid with spaces', () => keys({ kid: 'a b', secret: randomBytes(32) }), 'ERR_SEC_SESSION_KEY_INVALID'],
    [
      'a duplicate kid',
      () => keys({ kid: 'a', secret: randomBytes(32) }, { kid: 'a', secret: randomBytes(32) }),
      'ERR_SEC_SESSION_DUPLICATE_KID',
    ],
    [
      'a verify-only first key',
      () => keys({ kid: 'a', alg: 'EdDSA', publicKey: pem(ed.publicKey) }),
      'ERR_SEC_SESSION_FIRST_KEY_CANNOT_SIGN',
    ],
    [
      'an EC key for EdDSA',
      () => keys({ kid: 'a', alg: 'EdDSA', privateKey: pem(ec.privateKey) }),
      'ERR_SEC_SESSION_KEY_INVALID',
    ],
    [
      'a P-384 key for ES256',
      () => keys({ kid: 'a', alg: 'ES256', privateKey: pem(ec384.privateKey) }),
      'ERR_SEC_SESSION_KEY_INVALID',
    ],
    [
      'an unreadable PEM',
      () =>
        keys({
          kid: 'a',
          alg: 'ES256',
          privateKey: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----',
        }),
      'ERR_SEC_SESSION_KEY_INVALID',
    ],
    [
      'keys that are not a pair',
      () =>
        keys({
          kid: 'a',
          alg: 'EdDSA',
          privateKey: pem(ed.privateKey),
          publicKey: pem(generateKeyPairSync('ed25519').publicKey),
        }),
      'ERR_SEC_SESSION_KEY_INVALID',
    ],
    [
      'an unsupported algorithm',
      () => keys({ kid: 'a', alg: 'RS256', privateKey: 'x' } as never),
      'ERR_SEC_SESSION_KEY_INVALID',
    ],
    ['no issuer', () => make({ issuer: undefined as never }), 'ERR_SEC_INVALID_OPTION'],
    ['an empty audience', () => make({ audience: '' }), 'ERR_SEC_INVALID_OPTION'],
    [
      'idleTimeoutMs > absoluteTimeoutMs',
      () => make({ idleTimeoutMs: 7_200_000, absoluteTimeoutMs: 3_600_000 }),
      'ERR_SEC_SESSION_INVALID_TIMEOUTS',
    ],
    [
      'touchIntervalMs >= idleTimeoutMs',
      () => make({ idleTimeoutMs: 300_000, touchIntervalMs: 300_000 }),
      'ERR_SEC_SESSION_INVALID_TIMEOUTS',
    ],
    ['a typo in an option name', () => make({ idleTimoutMs: 300_000 } as never), 'ERR_SEC_INVALID_OPTION'],
    ['a time-out as a string', () => make({ idleTimeoutMs: '30m' as never }), 'ERR_SEC_INVALID_OPTION'],
    ['a time-out under a second', () => make({ absoluteTimeoutMs: 999 }), 'ERR_SEC_INVALID_OPTION'],
    ['a fractional time-out', () => make({ idleTimeoutMs: 1_500.5 }), 'ERR_SEC_INVALID_OPTION'],
    ['a touch interval of 0', () => make({ touchIntervalMs: 0 }), 'ERR_SEC_INVALID_OPTION'],
    ['a negative clock tolerance', () => make({ clockToleranceMs: -1 }), 'ERR_SEC_INVALID_OPTION'],
    // Unit-less names (Duration strings, seconds) are refused, never read as ms.
    ['a unit-less idleTimeout', () => make({ idleTimeout: '30m' } as never), 'ERR_SEC_INVALID_OPTION'],
    ['a unit-less clockTolerance', () => make({ clockTolerance: 5 } as never), 'ERR_SEC_INVALID_OPTION'],
    [
      'a keyPrefix of its own (it is set on the guard)',
      () => make({ keyPrefix: 'app:' } as never),
      'ERR_SEC_INVALID_OPTION',
    ],
    [
      'an unknown cookie option',
      () => make({ cookie: { httpOnly: false } as never }),
      'ERR_SEC_INVALID_OPTION',
    ],
    [
      'sameSite none without Secure',
      () => make({ cookie: { sameSite: 'none', secure: false } }),
      'ERR_SEC_SESSION_INSECURE_COOKIE',
    ],
    [
      "sameSite 'none' with the origin check turned off",
      () => make({ cookie: { sameSite: 'none', originCheck: false } }),
      'ERR_SEC_SESSION_COOKIE_UNPROTECTED',
    ],
    [
      'a __Host- cookie without Secure',
      () => make({ cookie: { name: '__Host-s', secure: false } }),
      'ERR_SEC_SESSION_COOKIE_PREFIX',
    ],
    [
      'a __Host- cookie with a domain',
      () => make({ cookie: { name: '__Host-s', domain: 'example.com' } }),
      'ERR_SEC_SESSION_COOKIE_PREFIX',
    ],
    [
      'a __host- cookie (any case) with a path',
      () => make({ cookie: { name: '__host-s', path: '/app' } }),
      'ERR_SEC_SESSION_COOKIE_PREFIX',
    ],
    [
      'a __Secure- cookie without Secure',
      () => make({ cookie: { name: '__SECURE-s', secure: false } }),
      'ERR_SEC_SESSION_COOKIE_PREFIX',
    ],
    [
      'a trusted origin with a path',
      () => make({ cookie: { trustedOrigins: ['https://app.example.com/'] } }),
      'ERR_SEC_INVALID_OPTION',
    ],
    [
      'a trusted origin that is not a URL',
      () => make({ cookie: { trustedOrigins: ['app.example.com'] } }),
      'ERR_SEC_INVALID_OPTION',
    ],
    ['maxSessionsPerUser 0', () => make({ maxSessionsPerUser: 0 }), 'ERR_SEC_INVALID_OPTION'],
    ['maxSessionsPerUser 5,000', () => make({ maxSessionsPerUser: 5_000 }), 'ERR_SEC_INVALID_OPTION'],
    [
      'an unknown session limit policy',
      () => make({ sessionLimitPolicy: 'revoke-oldest' as never }),
      'ERR_SEC_INVALID_OPTION',
    ],
    ['a re-check slower than 1 s', () => make({ connectionRecheckMs: 5_000 }), 'ERR_SEC_INVALID_OPTION'],
  ])('refuses %s', (_name, build, code) => {
    expect(build).toThrow(expect.objectContaining({ code }));
  });

  it.each<[string, Parameters<typeof make>[0]['cookie'], string]>([
    ['Secure, host-only, Path=/ (the default)', true, '__Host-sec_session'],
    ['with a domain', { domain: 'example.com' }, '__Secure-sec_session'],
    ['with a path', { path: '/app' }, '__Secure-sec_session'],
    ['without Secure (development)', { secure: false }, 'sec_session'],
    ['named by the app', { name: 'sid' }, 'sid'],
  ])('names the cookie %s', (_name, cookie, name) => {
    expect(make({ cookie }).cookie?.name).toBe(name);
  });

  it('names each missing required option, as every package does', () => {
    expect(() => createSessionManager(undefined as never)).toThrow(
      expect.objectContaining({ option: 'signingKeys', message: expect.stringMatching(/is required/) }),
    );
    expect(() => make({ issuer: undefined as never })).toThrow(
      expect.objectContaining({ option: 'issuer', message: expect.stringMatching(/"issuer" is required/) }),
    );
    expect(() => make({ audience: undefined as never })).toThrow(
      expect.objectContaining({ option: 'audience' }),
    );
  });

  it('suggests the option that was meant', () => {
    expect(() => make({ idleTimoutMs: 300_000 } as never)).toThrow(OptionError);
    expect(() => make({ idleTimoutMs: 300_000 } as never)).toThrow(/did you mean "idleTimeoutMs"/);
    expect(() => make({ idleTimeout: '30m' } as never)).toThrow(/did you mean "idleTimeoutMs"/);
    expect(() => make({ absoluteTimeout: '8h' } as never)).toThrow(/did you mean "absoluteTimeoutMs"/);
    expect(() => make({ touchInterval: '60s' } as never)).toThrow(/did you mean "touchIntervalMs"/);
  });

  it('refuses a non-Secure cookie in production', () => {
    const guard = createRedisGuard({
      mode: 'redis',
      environment: 'production',
      config: { url: 'rediss://redis.internal:6380', password: 'p'.repeat(40) },
      logger: captureLogger().logger,
    });
    expect(() => make({ redis: guard, cookie: { secure: false } })).toThrow(
      expect.objectContaining({ code: 'ERR_SEC_SESSION_INSECURE_COOKIE' }),
    );
    void guard.close();
  });

  it("refuses memory mode in production (the guard's typed error)", () => {
    expect(() => createRedisGuard({ mode: 'memory', environment: 'production' })).toThrow(
      expect.objectContaining({ code: 'ERR_SEC_MEMORY_MODE_IN_PRODUCTION' }),
    );
  });
});

describe('signing keys', () => {
  it.each([
    ['EdDSA (PEM)', { kid: 'ed', alg: 'EdDSA', privateKey: pem(ed.privateKey) }],
    ['ES256 (KeyObject)', { kid: 'ec', alg: 'ES256', privateKey: ec.privateKey }],
    [
      'ES256 (JWK)',
      {
        kid: 'ecj',
        alg: 'ES256',
        privateKey: ec.privateKey.export({ format: 'jwk' }),
        publicKey: ec.publicKey.export({ format: 'jwk' }),
      },
    ],
    ['HS256 (Uint8Array)', { kid: 'hs', secret: randomBytes(32) }],
  ] as [string, SigningKeyInput][])('signs and verifies with %s, naming the kid', async (_name, key) => {
    const sessions = keys(key);
    const { accessToken } = await sessions.create('alice');
    const header = JSON.parse(Buffer.from(accessToken.split('.')[0]!, 'base64url').toString()) as {
      alg: string;
      kid: string;
    };
    expect(header).toEqual({ alg: key.alg ?? 'HS256', kid: key.kid, typ: 'JWT' });
    await expect(sessions.verifyRequestToken(accessToken)).resolves.toMatchObject({ userId: 'alice' });
  });
});

describe('a secret read from an unset environment variable', () => {
  // `secret: process.env.SESSION_SECRET` is how the README's example reads it: unset, or set to
  // nothing, it must be named as such at creation, not reported as an algorithm problem.
  it.each<[string, SigningKeyInput]>([
    ['undefined', { kid: '2025-06', secret: process.env.SEC_TEST_UNSET_SECRET as never }],
    ['an empty string', { kid: '2025-06', secret: '' }],
    ['absent', { kid: '2025-06' } as never],
    ['absent with alg HS256', { kid: '2025-06', alg: 'HS256' } as never],
  ])('%s: ERR_SEC_SESSION_SECRET_MISSING naming SESSION_SECRET and signingKeys', (_what, key) => {
    let error: unknown;
    try {
      keys(key);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({
      code: 'ERR_SEC_SESSION_SECRET_MISSING',
      name: 'ConfigurationError',
      variable: 'signingKeys',
    });
    expect((error as Error).message).toContain('SESSION_SECRET');
    expect((error as Error).message).not.toMatch(/alg must be/);
  });

  it('a verify-only asymmetric key without a secret is not mistaken for a missing secret', () => {
    const publicKey = pem(ed.publicKey);
    expect(() =>
      keys({ kid: 'new', secret: randomBytes(32) }, { kid: 'old', alg: 'EdDSA', publicKey }),
    ).not.toThrow();
  });
});
