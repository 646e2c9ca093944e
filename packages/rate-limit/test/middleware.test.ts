import { describe, expect, it } from '@jest/globals';
import { createRedisGuard, type SecEvent } from '@sec/redis-guard';
import { captureLogger } from '@sec/testing';
import express from 'express';
import request from 'supertest';
import { rateLimit } from '../src/index.js';
import { appWith } from './helpers.js';

function memoryGuard() {
  const log = captureLogger();
  const guard = createRedisGuard({ environment: 'test', mode: 'memory', logger: log.logger });
  return { guard, log };
}

describe('rateLimit in memory mode (test environment, no Redis)', () => {
  it('lets N requests through and answers the N+1th with 429, headers and a JSON body', async () => {
    const { guard } = memoryGuard();
    const events: SecEvent[] = [];
    guard.observe((event) => events.push(event));
    const app = appWith(rateLimit({ redis: guard, name: 'api', points: 3, windowMs: 60_000 }));
    for (let remaining = 2; remaining >= 0; remaining--) {
      const ok = await request(app).get('/');
      expect(ok.status).toBe(200);
      expect(ok.headers['ratelimit-policy']).toBe('"api";q=3;w=60');
      expect(ok.headers.ratelimit).toMatch(new RegExp(`^"api";r=${remaining};t=(60|59)$`));
    }
    const limited = await request(app).get('/');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(59);
    expect(limited.headers.ratelimit).toMatch(/^"api";r=0;t=(60|59)$/);
    expect(limited.body).toMatchObject({
      error: 'too_many_requests',
      limiter: 'api',
      retry_after: expect.any(Number),
    });
    expect(events).toContainEqual({ type: 'ratelimit.rejected', limiter: 'api' });
  });

  it('blocks for blockDurationMs once over the limit', async () => {
    const { guard } = memoryGuard();
    const app = appWith(rateLimit({ redis: guard, points: 1, windowMs: 10_000, blockDurationMs: 600_000 }));
    await request(app).get('/').expect(200);
    const limited = await request(app).get('/').expect(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(590);
  });

  it('keeps named limiters on one app apart and lists each in the headers', async () => {
    const { guard } = memoryGuard();
    const app = appWith(
      rateLimit({ redis: guard, name: 'global', points: 10, windowMs: 60_000 }),
      rateLimit({ redis: guard, name: 'per-route', points: 2, windowMs: 30_000 }),
    );
    const first = await request(app).get('/').expect(200);
    expect(first.headers['ratelimit-policy']).toBe('"global";q=10;w=60, "per-route";q=2;w=30');
    expect(first.headers.ratelimit).toMatch(/^"global";r=9;t=\d+, "per-route";r=1;t=\d+$/);
    await request(app).get('/').expect(200);
    const third = await request(app).get('/').expect(429);
    expect(third.body.limiter).toBe('per-route');
  });

  it('counts by keyBy and falls back to the IP when it returns nothing', async () => {
    const { guard } = memoryGuard();
    const app = express();
    app.use((req, _res, next) => {
      (req as { user?: string }).user = req.get('x-user');
      next();
    });
    app.use(
      rateLimit({
        redis: guard,
        name: 'per-user',
        points: 1,
        keyBy: (req) => (req as { user?: string }).user,
      }),
    );
    app.get('/', (_req, res) => res.send('ok'));
    await request(app).get('/').set('x-user', 'alice').expect(200);
    await request(app).get('/').set('x-user', 'alice').expect(429);
    await request(app).get('/').set('x-user', 'bob').expect(200);
    await request(app).get('/').expect(200);
    await request(app).get('/').expect(429);
  });

  it('keeps counting by IP when keyBy throws, and says so once', async () => {
    const { guard, log } = memoryGuard();
    const keyBy = () => {
      throw new Error('no session store');
    };
    const app = appWith(rateLimit({ redis: guard, name: 'throwing', points: 1, keyBy }));
    await request(app).get('/').expect(200);
    await request(app).get('/').expect(429);
    expect(
      log.messages('warn').filter((m) => m.includes('keyBy threw; counting the request by client IP')),
    ).toHaveLength(1);
  });

  it('applies cost and skip', async () => {
    const { guard } = memoryGuard();
    const app = appWith(
      rateLimit({
        redis: guard,
        points: 5,
        cost: (req) => (req.path === '/' ? 2 : 1),
        skip: (req) => req.get('x-health') === '1',
      }),
    );
    await request(app).get('/').set('x-health', '1').expect(200);
    const first = await request(app).get('/').expect(200);
    expect(first.headers.ratelimit).toMatch(/r=3;/);
    await request(app).get('/').expect(200);
    await request(app).get('/').expect(429);
  });

  it('stores a bounded key for a huge key value', async () => {
    const { guard } = memoryGuard();
    const limiter = rateLimit({ redis: guard, name: 'huge', points: 1 });
    const huge = 'x'.repeat(1_000_000);
    expect((await limiter.consumeKey(huge)).outcome).toBe('allowed');
    expect((await limiter.consumeKey(huge)).outcome).toBe('limited');
    expect((await limiter.consumeKey(`${huge}y`)).outcome).toBe('allowed');
  });

  it('answers a 12 KB header value used as key without error', async () => {
    const { guard } = memoryGuard();
    const app = appWith(rateLimit({ redis: guard, points: 1, keyBy: (req) => req.get('x-api-key') }));
    const key = 'k'.repeat(12_000);
    await request(app).get('/').set('x-api-key', key).expect(200);
    await request(app).get('/').set('x-api-key', key).expect(429);
  });

  it('groups IPv6 clients by /56 and unwraps IPv4-mapped addresses (trust proxy)', async () => {
    const { guard } = memoryGuard();
    const app = appWith(rateLimit({ redis: guard, points: 1 }));
    app.set('trust proxy', 'loopback');
    await request(app).get('/').set('X-Forwarded-For', '2001:db8:aa:bb01::1').expect(200);
    await request(app).get('/').set('X-Forwarded-For', '2001:db8:aa:bbff:ffff::9').expect(429);
    await request(app).get('/').set('X-Forwarded-For', '2001:db8:aa:cc00::1').expect(200);
    await request(app).get('/').set('X-Forwarded-For', '198.51.100.7').expect(200);
    await request(app).get('/').set('X-Forwarded-For', '::ffff:198.51.100.7').expect(429);
  });

  it('uses only the trusted hop of a spoofed X-Forwarded-For chain', async () => {
    const { guard } = memoryGuard();
    const app = appWith(rateLimit({ redis: guard, points: 1 }));
    app.set('trust proxy', 1);
    await request(app).get('/').set('X-Forwarded-For', '1.1.1.1, 203.0.113.5').expect(200);
    await request(app).get('/').set('X-Forwarded-For', '2.2.2.2, 203.0.113.5').expect(429);
  });

  it('warns once when X-Forwarded-For arrives while trust proxy is off', async () => {
    const { guard, log } = memoryGuard();
    const app = appWith(rateLimit({ redis: guard, points: 100 }));
    await request(app).get('/').set('X-Forwarded-For', '203.0.113.5').expect(200);
    await request(app).get('/').set('X-Forwarded-For', '203.0.113.6').expect(200);
    const warnings = log.messages('warn').filter((m) => m.includes('"trust proxy" is off'));
    expect(warnings).toHaveLength(1);
  });

  it('warns once when trust proxy is true (clients choose their own address)', async () => {
    const { guard, log } = memoryGuard();
    const app = appWith(rateLimit({ redis: guard, points: 100 }));
    app.set('trust proxy', true);
    await request(app).get('/').expect(200);
    await request(app).get('/').expect(200);
    expect(log.messages('warn').filter((m) => m.includes('"trust proxy" is true'))).toHaveLength(1);
  });

  it('counts requests without a client address in one shared bucket', async () => {
    const { guard, log } = memoryGuard();
    const limiter = rateLimit({ redis: guard, points: 1 });
    const req = { ip: undefined, headers: {}, app: undefined } as never;
    expect((await limiter.consume(req)).outcome).toBe('allowed');
    expect((await limiter.consume(req)).outcome).toBe('limited');
    expect(log.messages('warn').some((m) => m.includes('no client address'))).toBe(true);
  });

  it('omits headers when asked and forgets a key on reset', async () => {
    const { guard } = memoryGuard();
    const limiter = rateLimit({ redis: guard, points: 1, headers: false });
    const app = appWith(limiter);
    const ok = await request(app).get('/').expect(200);
    expect(ok.headers.ratelimit).toBeUndefined();
    const limited = await request(app).get('/').expect(429);
    expect(limited.headers.ratelimit).toBeUndefined();
    expect(limited.headers['retry-after']).toBeDefined();
    await limiter.reset('ip:127.0.0.1');
    await request(app).get('/').expect(200);
  });
});
