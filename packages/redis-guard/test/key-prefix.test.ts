import { describe, expect, it } from '@jest/globals';
import { captureLogger } from '@sec/testing';
import { createRedisGuard, OptionError } from '../src/index.js';
import { DEFAULT_KEY_PREFIX } from '../src/internal.js';

const memoryGuard = (keyPrefix?: string) =>
  createRedisGuard({
    env: { NODE_ENV: 'test' },
    logger: captureLogger().logger,
    ...(keyPrefix !== undefined && { keyPrefix }),
  });

describe('keyPrefix: the one prefix every package derives its keys from', () => {
  it("defaults to 'sec:' and is part of the guard's printable summary", () => {
    const guard = memoryGuard();
    expect(guard.keyPrefix).toBe(DEFAULT_KEY_PREFIX);
    expect(DEFAULT_KEY_PREFIX).toBe('sec:');
    expect(JSON.stringify(guard)).toContain('"keyPrefix":"sec:"');
    expect(memoryGuard('sec:shop:').keyPrefix).toBe('sec:shop:');
    expect(memoryGuard('').keyPrefix).toBe('');
  });

  it.each([
    ['{tenant}:', 'a brace would become the hash tag of every key'],
    ['sec:}', 'a closing brace'],
    ['sec:*', 'a glob character in SCAN MATCH and ACL patterns'],
    ['sec:[a]', 'a glob class'],
    ['sec: shop', 'a space'],
    ['sec:\n', 'a control character'],
    ['x'.repeat(65), 'too long'],
  ])('refuses %j at creation (%s)', (keyPrefix) => {
    expect(() => memoryGuard(keyPrefix)).toThrow(OptionError);
    expect(() => memoryGuard(keyPrefix)).toThrow(/option "keyPrefix" must be at most 64 of/);
  });

  it('refuses a prefix that is not a string', () => {
    expect(() => createRedisGuard({ env: { NODE_ENV: 'test' }, keyPrefix: 42 as unknown as string })).toThrow(
      /option "keyPrefix" must be string, got number/,
    );
  });
});
