import { describe, expect, it } from '@jest/globals';
import { captureLogger } from '@sec/testing';
import { toGuard } from '../src/guard.js';
import { createRedisClient, createRedisGuard, OptionError, validateRedisConfig } from '../src/index.js';

function optionError(run: () => unknown): OptionError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OptionError);
    return error as OptionError;
  }
  throw new Error('no OptionError was thrown');
}

const production = {
  NODE_ENV: 'production',
  REDIS_URL: 'rediss://redis.internal:6380',
  REDIS_PASSWORD: 'p'.repeat(40),
};

describe('mode accepts exactly auto, redis and memory', () => {
  it.each([
    ['Memory', 'memory'],
    ['Redis', 'redis'],
    ['AUTO', 'auto'],
    ['memroy', 'memory'],
    ['redis ', 'redis'],
  ])('mode %j throws at creation, naming the allowed values and suggesting %j', (mode, hint) => {
    const error = optionError(() =>
      createRedisGuard({ mode: mode as never, env: production, logger: captureLogger().logger }),
    );
    expect(error.option).toBe('mode');
    expect(error.message).toContain("'auto', 'redis', 'memory'");
    expect(error.message).toContain(`did you mean '${hint}'`);
  });

  it.each([[''], ['in-memory-please'], ['none']])('mode %j throws too', (mode) => {
    const error = optionError(() => createRedisGuard({ mode: mode as never, env: production }));
    expect(error.message).toMatch(/option "mode" must be one of 'auto', 'redis', 'memory'/);
  });

  it('through toGuard as well (every package builds its guard there)', () => {
    expect(() => toGuard(undefined, { mode: 'Memory' as never, env: production })).toThrow(OptionError);
  });
});

describe('environment options are checked the same way', () => {
  it.each([['Production'], ['prod'], ['']])('createRedisGuard({ environment: %j }) throws', (environment) => {
    const error = optionError(() => createRedisGuard({ environment: environment as never, env: {} }));
    expect(error.message).toContain("'production', 'staging', 'development', 'test'");
  });

  it('createRedisClient and validateRedisConfig refuse an unknown environment instead of applying lax rules', () => {
    const insecure = { url: 'redis://redis.internal:6379' };
    expect(() => validateRedisConfig(insecure, { environment: 'Production' as never })).toThrow(
      /did you mean 'production'/,
    );
    expect(() => createRedisClient(insecure, { environment: 'Production' as never })).toThrow(OptionError);
  });
});

describe('other fixed sets in redis-guard', () => {
  it("createJsonLogger({ level: 'Info' }) throws instead of logging everything", async () => {
    const { createJsonLogger } = await import('../src/index.js');
    expect(() => createJsonLogger({ level: 'Info' as never })).toThrow(/did you mean 'info'/);
  });

  it("tls.minVersion given in code must be 'TLSv1.2' or 'TLSv1.3'", () => {
    expect(() =>
      validateRedisConfig(
        { url: 'rediss://redis.internal:6380', tls: { minVersion: 'TLSv1.1' as never } },
        { environment: 'development' },
      ),
    ).toThrow(/tls.minVersion "TLSv1.1" is not supported/);
  });
});
