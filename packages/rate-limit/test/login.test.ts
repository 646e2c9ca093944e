import { describe, expect, it } from '@jest/globals';
import { createRedisGuard } from '@sec/redis-guard';
import { captureLogger } from '@sec/testing';
import request from 'supertest';
import { loginLimiter } from '../src/index.js';
import { loginApp } from './helpers.js';

const guard = () => createRedisGuard({ environment: 'test', mode: 'memory', logger: captureLogger().logger });
const from = (ip: string) => ({ ip, headers: {} }) as never;

describe('loginLimiter', () => {
  it('blocks a username+client pair after N consecutive failures, for blockDuration', async () => {
    const login = loginLimiter({ redis: guard(), maxConsecutiveFailsByUsernameAndIp: 3, blockDuration: 900 });
    const alice = from('203.0.113.1');
    for (let i = 0; i < 2; i++) {
      expect(await login.check(alice, 'alice')).toEqual({ outcome: 'allowed' });
      expect(await login.recordFailure(alice, 'alice')).toEqual({ outcome: 'allowed' });
    }
    const third = await login.recordFailure(alice, 'alice');
    expect(third).toMatchObject({ outcome: 'limited', reason: 'username_ip' });
    const blocked = await login.check(alice, 'alice');
    expect(blocked).toMatchObject({ outcome: 'limited', reason: 'username_ip' });
    expect(blocked.outcome === 'limited' && blocked.retryAfterSeconds).toBeGreaterThan(890);
    expect(await login.check(alice, 'bob')).toEqual({ outcome: 'allowed' });
    expect(await login.check(from('198.51.100.2'), 'alice')).toEqual({ outcome: 'allowed' });
  });

  it('treats usernames case- and width-insensitively', async () => {
    const login = loginLimiter({ redis: guard(), maxConsecutiveFailsByUsernameAndIp: 2 });
    const client = from('203.0.113.1');
    await login.recordFailure(client, 'Alice');
    await login.recordFailure(client, ' ＡＬＩＣＥ ');
    expect(await login.check(client, 'alice')).toMatchObject({ outcome: 'limited' });
  });

  it('resets the consecutive count on success', async () => {
    const login = loginLimiter({ redis: guard(), maxConsecutiveFailsByUsernameAndIp: 3 });
    const client = from('203.0.113.1');
    await login.recordFailure(client, 'alice');
    await login.recordFailure(client, 'alice');
    await login.recordSuccess(client, 'alice');
    await login.recordFailure(client, 'alice');
    await login.recordFailure(client, 'alice');
    expect(await login.check(client, 'alice')).toEqual({ outcome: 'allowed' });
  });

  it('blocks a client trying many usernames after maxFailsByIpPerDay', async () => {
    const login = loginLimiter({ redis: guard(), maxFailsByIpPerDay: 5, ipBlockDuration: 3600 });
    const client = from('203.0.113.9');
    for (let i = 0; i < 5; i++) await login.recordFailure(client, `user${i}`);
    const decision = await login.check(client, 'someone-else');
    expect(decision).toMatchObject({ outcome: 'limited', reason: 'ip' });
    expect(await login.check(from('203.0.113.10'), 'someone-else')).toEqual({ outcome: 'allowed' });
  });

  it('works end to end in a login route: 401s, then 429 with Retry-After, success resets', async () => {
    const login = loginLimiter({ redis: guard(), maxConsecutiveFailsByUsernameAndIp: 2 });
    const app = loginApp(login);
    await request(app).post('/login').send({ username: 'alice', password: 'right' }).expect(200);
    await request(app).post('/login').send({ username: 'alice', password: 'wrong' }).expect(401);
    const blocking = await request(app).post('/login').send({ username: 'alice', password: 'wrong' });
    expect(blocking.status).toBe(429);
    const refused = await request(app).post('/login').send({ username: 'alice', password: 'right' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body).toMatchObject({ error: 'too_many_requests', limiter: 'login' });
  });

  it('answers odd usernames (arrays, objects, missing body) without a 500', async () => {
    const login = loginLimiter({ redis: guard(), maxConsecutiveFailsByUsernameAndIp: 2 });
    const app = loginApp(login);
    await request(app)
      .post('/login')
      .send({ username: ['a', 'b'], password: 'x' })
      .expect(401);
    await request(app)
      .post('/login')
      .send({ username: { $ne: 1 }, password: 'x' })
      .expect(429);
    await request(app).post('/login').set('content-type', 'text/plain').send('nonsense').expect(429);
  });
});
