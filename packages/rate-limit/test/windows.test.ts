import { describe, expect, it } from '@jest/globals';
import { createRedisGuard } from '@sec/redis-guard';
import { captureLogger } from '@sec/testing';
import request from 'supertest';
import { rateLimit } from '../src/index.js';
import { appWith } from './helpers.js';

// The memory counters (memory mode, and outages on guards created with failClosed: false) follow
// the Redis script: every window or none, costs, blocks.

const memoryGuard = () =>
  createRedisGuard({ environment: 'test', mode: 'memory', logger: captureLogger().logger });

describe('several windows in memory mode', () => {
  it('counts a request in every window or in none', async () => {
    const limiter = rateLimit({
      redis: memoryGuard(),
      name: 'mem',
      windows: [
        { points: 4, windowMs: 60_000 },
        { points: 6, windowMs: 3_600_000 },
      ],
    });
    expect(await limiter.consumeKey('k', 3)).toMatchObject({ outcome: 'allowed', info: { remaining: 1 } });
    const refused = await limiter.consumeKey('k', 2);
    expect(refused).toMatchObject({ outcome: 'limited', info: { limiter: 'mem.60s', remaining: 1 } });
    expect(refused.outcome === 'limited' && refused.policies.map((p) => p.remaining)).toEqual([1, 3]);
    expect(await limiter.consumeKey('k', 1)).toMatchObject({ outcome: 'allowed', info: { remaining: 0 } });
  });

  it('blocks the refusing window for blockDurationMs', async () => {
    const limiter = rateLimit({
      redis: memoryGuard(),
      name: 'mem-block',
      points: 1,
      windowMs: 1_000,
      blockDurationMs: 600_000,
    });
    expect((await limiter.consumeKey('k')).outcome).toBe('allowed');
    const refused = await limiter.consumeKey('k');
    expect(refused.outcome === 'limited' && refused.retryAfterSeconds).toBe(600);
  });

  it('sends both policies and the least remaining one', async () => {
    const app = appWith(
      rateLimit({
        redis: memoryGuard(),
        name: 'mem-hdr',
        windows: [
          { points: 2, windowMs: 1_000 },
          { points: 100, windowMs: 86_400_000 },
        ],
      }),
    );
    const res = await request(app).get('/');
    expect(res.headers['ratelimit-policy']).toBe('"mem-hdr.1s";q=2;w=1, "mem-hdr.86400s";q=100;w=86400');
    expect(res.headers.ratelimit).toBe('"mem-hdr.1s";r=1;t=1');
  });
});
