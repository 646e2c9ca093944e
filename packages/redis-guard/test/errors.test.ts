import { describe, expect, it } from '@jest/globals';
import {
  ConfigurationError,
  classifyRedisError,
  OptionError,
  RedisUnavailableError,
  SecError,
} from '../src/index.js';

const reply = (message: string, extra: object = {}) =>
  Object.assign(new Error(message), { name: 'ReplyError', ...extra });

describe('classifyRedisError', () => {
  it.each(['connect ECONNREFUSED 127.0.0.1:1', 'Command timed out', 'Connection is closed.'])(
    'a client-side error (%s) is an outage',
    (message) => {
      expect(classifyRedisError(new Error(message))).toBe('outage');
    },
  );

  it.each([
    ['LOADING Redis is loading the dataset in memory', 'outage'],
    ['BUSY Redis is busy running a script.', 'outage'],
    ["READONLY You can't write against a read only replica.", 'outage'],
    ['NOREPLICAS Not enough good replicas to write.', 'write-refused'],
    ["OOM command not allowed when used memory > 'maxmemory'.", 'write-refused'],
    [
      'MISCONF Redis is configured to save RDB snapshots, but it is currently unable to persist to disk.',
      'write-refused',
    ],
    ["NOPERM this user has no permissions to run the 'publish' command", 'permission'],
    [
      "ERR The user executing the script can't run this command or subcommand script: abc, on @user_script:1.",
      'permission',
    ],
    ['WRONGTYPE Operation against a key holding the wrong kind of value', 'caller'],
    ["CROSSSLOT Keys in request don't hash to the same slot", 'caller'],
    // Look-alikes of outage replies are the caller's: a key that exists, a group that exists.
    ['BUSYKEY Target key name already exists.', 'caller'],
    ['BUSYGROUP Consumer Group name already exists', 'caller'],
  ])('%s → %s', (message, kind) => {
    const error =
      /^[A-Z]{3,}/.test(message) && !message.startsWith('ECONN') ? reply(message) : new Error(message);
    expect(classifyRedisError(error)).toBe(kind);
  });

  it('judges an aborted transaction by the error of the command that aborted it', () => {
    const aborted = reply('EXECABORT Transaction discarded because of previous errors.', {
      previousErrors: [reply("OOM command not allowed when used memory > 'maxmemory'.")],
    });
    expect(classifyRedisError(aborted)).toBe('write-refused');
    expect(classifyRedisError(reply('EXECABORT Transaction discarded because of previous errors.'))).toBe(
      'caller',
    );
  });

  it('unwraps an error raised inside a script the way Redis 6 reports it', () => {
    const wrapped = reply(
      'ERR Error running script (call to f_4e4b49): @user_script:1: @user_script: 1: -NOREPLICAS Not enough good replicas to write. ',
    );
    expect(classifyRedisError(wrapped)).toBe('write-refused');
  });

  it('non-Errors and our own unavailability errors are outages; only outages count against the breaker', () => {
    expect(classifyRedisError('a string')).toBe('outage');
    expect(classifyRedisError(new RedisUnavailableError('ERR_SEC_REDIS_TIMEOUT', 'slow', 2))).toBe('outage');
    expect(classifyRedisError(reply('NOREPLICAS Not enough good replicas to write.'))).toBe('write-refused');
    expect(classifyRedisError(reply("NOPERM this user has no permissions to run the 'set' command"))).toBe(
      'permission',
    );
  });
});

describe('HTTP status on errors (the http-errors convention)', () => {
  it('RedisUnavailableError is a 503 with a whole-second Retry-After of at least 1', () => {
    expect(
      new RedisUnavailableError('ERR_SEC_CIRCUIT_OPEN', 'open', 29.2, { service: 'sessions' }),
    ).toMatchObject({
      status: 503,
      statusCode: 503,
      expose: false,
      headers: { 'Retry-After': '30' },
      retryAfterSeconds: 30,
      service: 'sessions',
    });
    expect(new RedisUnavailableError('ERR_SEC_REDIS_UNAVAILABLE', 'x', 0).headers).toEqual({
      'Retry-After': '1',
    });
  });

  it('configuration and option errors are 500s whose message is not for the client', () => {
    expect(new ConfigurationError('ERR_SEC_REDIS_URL_INVALID', 'bad url', 'REDIS_URL')).toMatchObject({
      status: 500,
      statusCode: 500,
      expose: false,
    });
    expect(new OptionError('points', 'rateLimit(): bad')).toMatchObject({ status: 500, expose: false });
    expect(new SecError('ERR_SEC_MEMORY_MODE', 'bug')).toMatchObject({ status: 500, expose: false });
    expect(new SecError('ERR_SEC_MEMORY_MODE', 'bad id', { status: 400 })).toMatchObject({
      status: 400,
      expose: true,
    });
  });

  it('keeps the cause only when one is given, and headers only when there are any', () => {
    expect('cause' in new SecError('ERR_SEC_MEMORY_MODE', 'no cause')).toBe(false);
    expect(new SecError('ERR_SEC_MEMORY_MODE', 'with cause', { cause: 'why' }).cause).toBe('why');
    expect('headers' in new SecError('ERR_SEC_MEMORY_MODE', 'plain')).toBe(false);
  });
});
