import { describe, expect, it } from '@jest/globals';
import { createJsonLogger, maskingLogger } from '../src/logger.js';
import { maskSecret, maskText, redactUrl, scrubError } from '../src/mask.js';
import { classifyRedisError } from '../src/outage.js';

describe('masking', () => {
  it('redacts URL passwords and keeps the rest', () => {
    expect(redactUrl('rediss://app:s3cret-value@redis.internal:6380/2')).toBe(
      'rediss://app:****@redis.internal:6380/2',
    );
    expect(redactUrl('redis://redis.internal:6379')).toBe('redis://redis.internal:6379');
  });

  it('shows that a secret is set without showing it', () => {
    expect(maskSecret('abcdefghijkl')).toBe('**** (12 chars)');
    expect(maskSecret(undefined)).toBe('(not set)');
  });

  it('scrubs AUTH arguments that ioredis copies into errors', () => {
    const error = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
      name: 'ReplyError',
      command: { name: 'auth', args: ['default', 'topsecret-password'] },
    });
    const safe = scrubError(error, ['topsecret-password']);
    expect(JSON.stringify({ ...safe, message: safe.message, stack: safe.stack })).not.toContain(
      'topsecret-password',
    );
    expect(safe.name).toBe('ReplyError');
  });

  it('a masking logger removes secrets from messages and nested fields', () => {
    const lines: string[] = [];
    const logger = maskingLogger(createJsonLogger({ level: 'debug', write: (l) => lines.push(l) }), () => [
      'p4ssw0rd-xyz',
    ]);
    logger.error(
      { err: new Error('auth p4ssw0rd-xyz failed'), nested: { url: 'redis://:p4ssw0rd-xyz@h:1' } },
      'p4ssw0rd-xyz',
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('p4ssw0rd-xyz');
    expect(lines[0]).toContain('****');
  });

  it('the default logger is quiet: warn and above', () => {
    const lines: string[] = [];
    const logger = createJsonLogger({ write: (l) => lines.push(l) });
    logger.info({}, 'hidden');
    logger.warn({ event: 'x' }, 'shown');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['shown']);
  });
});

describe('outage classification', () => {
  it('a cross-slot pipeline refused by ioredis is a caller bug, not an outage', () => {
    expect(
      classifyRedisError(new Error('All the keys in a pipeline command should belong to the same slot')),
    ).toBe('caller');
    expect(
      classifyRedisError(
        Object.assign(new Error('WRONGTYPE Operation against a key'), { name: 'ReplyError' }),
      ),
    ).toBe('caller');
    expect(
      classifyRedisError(Object.assign(new Error('LOADING Redis is loading'), { name: 'ReplyError' })),
    ).toBe('outage');
    expect(classifyRedisError(new Error('connect ECONNREFUSED 127.0.0.1:1'))).toBe('outage');
  });
});

describe('URL userinfo in free text', () => {
  it('is removed whole, up to the last @, and a path with an @ is left alone', () => {
    expect(maskText('dial redis://app:p@ss/w#rd@redis.internal:6379 failed', [])).toBe(
      'dial redis://app:****@redis.internal:6379 failed',
    );
    expect(maskText('see https://www.npmjs.com/package/@sec/session', [])).toBe(
      'see https://www.npmjs.com/package/@sec/session',
    );
  });
});
