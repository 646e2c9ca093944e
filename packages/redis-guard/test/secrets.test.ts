import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { captureLogger, freePort } from '@sec/testing';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import {
  ConfigurationError,
  configFromEnv,
  createRedisGuard,
  type RedisGuard,
  validateRedisConfig,
} from '../src/index.js';
import { maskText, redactUrl } from '../src/mask.js';
import { parseRedisUrl } from '../src/redis-url.js';

// What `openssl rand -base64 32` and people produce: base64's + / =, and the URL delimiters.
const PASSWORD_CHARS = [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=@#%?:!$&*~-_.[] ',
];
const password = fc
  .array(fc.constantFrom(...PASSWORD_CHARS), { minLength: 8, maxLength: 48 })
  .map((chars) => chars.join(''));

/** Every 6-character piece of the secret (and of its URL-encoded form) that `text` contains. */
function leakedPieces(text: string, secret: string): string[] {
  const pieces: string[] = [];
  for (const form of new Set([secret, encodeURIComponent(secret)])) {
    for (let i = 0; i + 6 <= form.length; i++) {
      const piece = form.slice(i, i + 6);
      if (text.includes(piece)) pieces.push(piece);
    }
  }
  return pieces;
}

function errorOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Everything a log line, a JSON body or a console print of the error could show. */
function printed(error: unknown): string {
  return [String(error), (error as Error).stack, JSON.stringify(error), inspect(error, { depth: 5 })].join(
    '\n',
  );
}

describe('REDIS_URL passwords with URL delimiters', () => {
  it('percent-encoded, any password round-trips exactly and the host stays the host', () => {
    fc.assert(
      fc.property(password, (secret) => {
        const parsed = parseRedisUrl(`rediss://app:${encodeURIComponent(secret)}@redis.internal:6380/3`);
        expect(parsed).toEqual({
          tls: true,
          host: 'redis.internal',
          port: 6380,
          username: 'app',
          password: secret,
          db: 3,
        });
      }),
      { numRuns: 500 },
    );
  });

  it('pasted raw, a password is either read whole or refused with a ConfigurationError that shows none of it', () => {
    fc.assert(
      fc.property(password, (secret) => {
        const url = `redis://:${secret}@redis.internal:6379`;
        const error = errorOf(() => parseRedisUrl(url));
        if (error === undefined) {
          const parsed = parseRedisUrl(url);
          expect(parsed.host).toBe('redis.internal');
          expect(parsed.port).toBe(6379);
          expect(parsed.password).toBe(decodeURIComponent(secret));
          return;
        }
        expect(error).toBeInstanceOf(ConfigurationError);
        expect((error as ConfigurationError).code).toBe('ERR_SEC_REDIS_URL_INVALID');
        expect(leakedPieces(printed(error), secret)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('a URL that is wrong elsewhere (scheme, port, db, host, no @) never echoes any piece of the password', () => {
    const broken = [
      (pw: string) => `redsi://:${pw}@redis.internal:6379`,
      (pw: string) => `redis://:${pw}@redis.internal:99999`,
      (pw: string) => `redis://:${pw}@redis.internal:6379/db`,
      (pw: string) => `redis://:${pw}@:6379`,
      (pw: string) => `redis://:${pw}@redis.internal:6379?family=6`,
      // No '@' at all; a password that has its own raw '@' would then hide the mistake.
      (pw: string) => `redis://:${pw.replaceAll('@', '')}redis.internal:6379`,
      (pw: string) => `${pw}`,
    ];
    fc.assert(
      fc.property(password, fc.constantFrom(...broken), fc.boolean(), (secret, shape, encode) => {
        const url = shape(encode ? encodeURIComponent(secret) : secret);
        const error = errorOf(() => validateRedisConfig({ url }, { environment: 'production' }));
        expect(error).toBeInstanceOf(ConfigurationError);
        expect(leakedPieces(printed(error), secret)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('redis://:p@ss#word@host:6379 is refused, not read as host "ss", and the message says how to fix it', () => {
    const error = errorOf(() => parseRedisUrl('redis://:p@ss#word@redis.internal:6379'));
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toMatch(/percent-encode/i);
    expect(message).toMatch(/REDIS_PASSWORD/);
    expect(leakedPieces(message, 'p@ss#word')).toEqual([]);
    expect(message).not.toMatch(/p@ss|ss#w/);
    expect(parseRedisUrl('redis://:p%40ss%23word@redis.internal:6379')).toMatchObject({
      host: 'redis.internal',
      password: 'p@ss#word',
    });
  });

  it('an openssl base64 password with "/" is refused without being printed, and works once encoded', () => {
    const secret = 'q8Zr/3kT+Wm9xv0b4Lh2c/1yPa5sJ0nE7QfR6uD8oXg=';
    const error = errorOf(() =>
      validateRedisConfig({ url: `rediss://:${secret}@redis.internal:6380` }, { environment: 'production' }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(leakedPieces(printed(error), secret)).toEqual([]);
    const { config } = validateRedisConfig(
      { url: `rediss://:${encodeURIComponent(secret)}@redis.internal:6380` },
      { environment: 'production' },
    );
    expect(config.password).toBe(secret);
    expect(config.hosts).toEqual([{ host: 'redis.internal', port: 6380 }]);
  });

  it.each([
    ['a lone %', 'redis://:abc%zzdefgh@redis.internal:6379'],
    ['%HH that is not UTF-8', 'redis://:%C3%28abcdefgh@redis.internal:6379'],
  ])('malformed percent-encoding (%s) is a ConfigurationError, not a URIError', (_what, url) => {
    const error = errorOf(() => parseRedisUrl(url));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).code).toBe('ERR_SEC_REDIS_URL_INVALID');
    expect((error as Error).message).not.toMatch(/abcdef/);
  });

  it('redactUrl and maskText remove a raw password whole, whatever it contains', () => {
    fc.assert(
      fc.property(
        password.filter((s) => !s.includes(' ')),
        (secret) => {
          const url = `rediss://app:${secret}@redis.internal:6380/0`;
          expect(leakedPieces(redactUrl(url), secret)).toEqual([]);
          expect(leakedPieces(maskText(`connecting to ${url} failed`, []), secret)).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('other variables that can hold a pasted secret', () => {
  const SECRET = 'Kq9/Vb#Xm@z%Tn-0123456789ABCDEFGH';

  it('a REDIS_CLUSTER_NODES entry that is a URL with a password is not echoed', () => {
    const error = errorOf(() =>
      configFromEnv({ REDIS_CLUSTER_NODES: `10.0.0.1:6379,redis://:${SECRET}@10.0.0.2:6379` }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(leakedPieces(printed(error), SECRET)).toEqual([]);
  });

  it('a REDIS_TLS_KEY holding a mangled inline key (its header lost) is not echoed as a path', () => {
    const body = 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5d7Kq9VbXmzTn0123456789ABCDEFGH';
    for (const value of [body, `"-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----"`]) {
      const error = errorOf(() => configFromEnv({ REDIS_TLS_KEY: value }));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(leakedPieces(printed(error), body)).toEqual([]);
    }
  });
});

describe('no secret in anything serialisable or inspectable', () => {
  const SECRET = 'Serial/ised#P@ss%word-0123456789abcdefghij';
  const guards: RedisGuard[] = [];
  afterAll(() => Promise.all(guards.map((g) => g.close())));

  // JSON.stringify honours toJSON; pino-std-serializers-style copies read every enumerable
  // property (getters included) and ignore it; util.inspect may be asked for everything.
  function everyView(value: object): string {
    const copied: Record<string, unknown> = {};
    for (const key in value) copied[key] = (value as Record<string, unknown>)[key];
    return [
      JSON.stringify(value),
      JSON.stringify({ guard: value }),
      String(value),
      inspect(value, { depth: 10 }),
      inspect(value, { depth: 10, showHidden: true, getters: true }),
      JSON.stringify(copied, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
      inspect(copied, { depth: 10, getters: true }),
    ].join('\n');
  }

  it('a guard built from REDIS_URL', async () => {
    const guard = createRedisGuard({
      env: { REDIS_URL: `redis://:${encodeURIComponent(SECRET)}@127.0.0.1:${await freePort()}` },
      environment: 'test',
      logger: captureLogger().logger,
    });
    guards.push(guard);
    expect(guard.secrets()).toContain(SECRET);
    const views = everyView(guard);
    expect(leakedPieces(views, SECRET)).toEqual([]);
    expect(views).toContain('RedisGuard<redis');
  });

  it('a guard around the app’s own client, and that client itself', async () => {
    const client = new Redis({ port: await freePort(), password: SECRET, lazyConnect: true });
    const guard = createRedisGuard({ client, environment: 'test', logger: captureLogger().logger });
    guards.push(guard);
    expect(guard.secrets()).toContain(SECRET);
    expect(leakedPieces(everyView(guard), SECRET)).toEqual([]);
    // What a logger does with a plain value (pino's serialisers copy properties of errors only).
    const clientViews = [
      JSON.stringify({ client }),
      String(client),
      inspect(client, { depth: 10, showHidden: true, getters: true }),
    ].join('\n');
    expect(leakedPieces(clientViews, SECRET)).toEqual([]);
  });

  it('the guard’s logger masks the app client’s password', async () => {
    const log = captureLogger();
    const client = new Redis({ port: await freePort(), password: SECRET, lazyConnect: true });
    const guard = createRedisGuard({ client, environment: 'test', logger: log.logger });
    guards.push(guard);
    guard.logger.error({ err: new Error(`AUTH ${SECRET} failed`), nested: { SECRET } }, `pw=${SECRET}`);
    expect(leakedPieces(log.text(), SECRET)).toEqual([]);
  });
});
