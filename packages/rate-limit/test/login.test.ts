import { describe, expect, it } from '@jest/globals';
import { createRedisGuard } from '@sec/redis-guard';
import { captureLogger } from '@sec/testing';
import request from 'supertest';
import { type LoginAttempt, loginLimiter } from '../src/index.js';
import { loginApp } from './helpers.js';

const guard = (logger = captureLogger().logger) =>
  createRedisGuard({ environment: 'test', mode: 'memory', logger });
const from = (ip: string) => ({ ip, headers: {} }) as never;

/** Reserves and fails `times` attempts, expecting each to be allowed. */
async function fail(login: ReturnType<typeof loginLimiter>, req: never, username: unknown, times = 1) {
  for (let i = 0; i < times; i++) {
    const attempt = await login.reserve(req, username);
    expect(attempt.outcome).toBe('allowed');
    if (attempt.outcome === 'allowed') await attempt.failed();
  }
}

async function succeed(login: ReturnType<typeof loginLimiter>, req: never, username: unknown) {
  const attempt = await login.reserve(req, username);
  expect(attempt.outcome).toBe('allowed');
  if (attempt.outcome === 'allowed') await attempt.succeeded();
}

describe('loginLimiter', () => {
  it('allows N password checks per account+client, then refuses the pair for blockDurationMs', async () => {
    const login = loginLimiter({
      redis: guard(),
      maxConsecutiveFailsByUsernameAndIp: 3,
      blockDurationMs: 900_000,
    });
    const alice = from('203.0.113.1');
    await fail(login, alice, 'alice', 3);
    const blocked = await login.reserve(alice, 'alice');
    expect(blocked).toMatchObject({ outcome: 'limited', reason: 'account_client' });
    expect(blocked.outcome === 'limited' && blocked.retryAfterSeconds).toBeGreaterThan(890);
    expect((await login.reserve(alice, 'bob')).outcome).toBe('allowed');
    expect((await login.reserve(from('198.51.100.2'), 'alice')).outcome).toBe('allowed');
  });

  it('counts an attempt when it is reserved: never-settled attempts count as failures', async () => {
    const login = loginLimiter({ redis: guard(), maxConsecutiveFailsByUsernameAndIp: 2 });
    const client = from('203.0.113.1');
    const pending = [await login.reserve(client, 'alice'), await login.reserve(client, 'alice')];
    expect(pending.map((a) => a.outcome)).toEqual(['allowed', 'allowed']);
    expect(await login.reserve(client, 'alice')).toMatchObject({
      outcome: 'limited',
      reason: 'account_client',
    });
  });

  it('keys the pair by the exact account: a look-alike account’s success leaves the victim’s counter alone', async () => {
    const login = loginLimiter({ redis: guard(), maxConsecutiveFailsByUsernameAndIp: 3 });
    const client = from('203.0.113.1');
    await fail(login, client, 'alice', 2);
    for (const lookAlike of ['ALICE', 'Alice', 'ＡＬＩＣＥ', 'ａｌｉｃｅ', ' alice', 'alice\u200b'])
      await succeed(login, client, lookAlike);
    await fail(login, client, 'alice');
    expect(await login.reserve(client, 'alice')).toMatchObject({
      outcome: 'limited',
      reason: 'account_client',
    });
  });

  it('the account option maps spellings to one account, as the app’s user lookup does', async () => {
    const login = loginLimiter({
      redis: guard(),
      maxConsecutiveFailsByUsernameAndIp: 2,
      account: (username) => username.normalize('NFKC').trim().toLowerCase(),
    });
    const client = from('203.0.113.1');
    await fail(login, client, 'Alice');
    await fail(login, client, ' ＡＬＩＣＥ ');
    expect(await login.reserve(client, 'alice')).toMatchObject({ outcome: 'limited' });
  });

  it('a success resets the pair; only failures use up the client’s daily budget', async () => {
    const login = loginLimiter({
      redis: guard(),
      maxConsecutiveFailsByUsernameAndIp: 2,
      maxFailsByIpPerDay: 3,
    });
    const client = from('203.0.113.1');
    await fail(login, client, 'alice');
    await succeed(login, client, 'alice');
    await fail(login, client, 'alice', 2);
    // Daily: three failures counted, the success given back.
    expect(await login.reserve(client, 'bob')).toMatchObject({ outcome: 'limited', reason: 'client' });
  });

  it('a refused pair does not use up the client’s daily budget', async () => {
    const login = loginLimiter({
      redis: guard(),
      maxConsecutiveFailsByUsernameAndIp: 1,
      maxFailsByIpPerDay: 3,
    });
    const client = from('203.0.113.9');
    await fail(login, client, 'alice');
    for (let i = 0; i < 5; i++)
      expect(await login.reserve(client, 'alice')).toMatchObject({
        outcome: 'limited',
        reason: 'account_client',
      });
    await fail(login, client, 'bob');
    await fail(login, client, 'carol');
    expect(await login.reserve(client, 'dave')).toMatchObject({ outcome: 'limited', reason: 'client' });
    expect((await login.reserve(from('203.0.113.10'), 'dave')).outcome).toBe('allowed');
  });

  it('settles an attempt once: succeeded() after failed() (or twice) changes nothing', async () => {
    const login = loginLimiter({ redis: guard(), maxConsecutiveFailsByUsernameAndIp: 2 });
    const client = from('203.0.113.1');
    const first = (await login.reserve(client, 'alice')) as Extract<LoginAttempt, { outcome: 'allowed' }>;
    await first.failed();
    await first.succeeded();
    await fail(login, client, 'alice');
    expect(await login.reserve(client, 'alice')).toMatchObject({ outcome: 'limited' });
  });

  it('an account option that throws counts the attempt in a bucket of its own, with one warning', async () => {
    const log = captureLogger();
    const login = loginLimiter({
      redis: guard(log.logger),
      maxConsecutiveFailsByUsernameAndIp: 1,
      account: (username) => {
        if (username.startsWith('!')) throw new Error('bad input');
        return username;
      },
    });
    const client = from('203.0.113.1');
    await fail(login, client, '!one');
    expect(await login.reserve(client, '!two')).toMatchObject({ outcome: 'limited' });
    expect((await login.reserve(client, 'alice')).outcome).toBe('allowed');
    expect(log.messages('warn').filter((m) => m.includes('account option failed'))).toHaveLength(1);
  });

  it('works end to end in a login route: 401s, then 429 with Retry-After, even for the right password', async () => {
    const login = loginLimiter({ redis: guard(), maxConsecutiveFailsByUsernameAndIp: 2 });
    const app = loginApp(login);
    await request(app).post('/login').send({ username: 'alice', password: 'right' }).expect(200);
    await request(app).post('/login').send({ username: 'alice', password: 'wrong' }).expect(401);
    await request(app).post('/login').send({ username: 'alice', password: 'wrong' }).expect(401);
    const refused = await request(app).post('/login').send({ username: 'alice', password: 'right' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body).toMatchObject({ error: 'too_many_requests', limiter: 'login' });
  });

  it('answers odd usernames (arrays, objects, missing body) without a 500, in one bucket per client', async () => {
    const login = loginLimiter({ redis: guard(), maxConsecutiveFailsByUsernameAndIp: 2 });
    const app = loginApp(login);
    await request(app)
      .post('/login')
      .send({ username: ['a', 'b'], password: 'x' })
      .expect(401);
    await request(app)
      .post('/login')
      .send({ username: { $ne: 1 }, password: 'x' })
      .expect(401);
    await request(app).post('/login').set('content-type', 'text/plain').send('nonsense').expect(429);
    await request(app).post('/login').send({ username: 'alice', password: 'right' }).expect(200);
  });
});
