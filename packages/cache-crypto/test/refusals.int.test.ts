import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard, RedisUnavailableError, secErrorHandler } from '@sec/redis-guard';
import { captureLogger, type RedisServer, refuseWrites, startRedis } from '@sec/testing';
import express from 'express';
import { cacheResponse, createEncryptedCache, type EncryptedCache, Fernet } from '../src/index.js';

// A live Redis that refuses writes (NOREPLICAS, OOM, MISCONF): the cache keeps serving what it
// has, skips what it cannot store (one log line), and an invalidation that did not happen is a
// RedisUnavailableError (503), never reported as done and never a 500.

const KEY = Fernet.generateKey();
const PASSWORD = 'cache-Refusals-Password-0123456789-abcdef';
const events = (log: ReturnType<typeof captureLogger>, event: string) =>
  log.records.filter((r) => (r.obj as { event?: string }).event === event);

describe.each(['NOREPLICAS', 'OOM', 'MISCONF'] as const)(
  'the encrypted cache on a server refusing writes with %s',
  (refusal) => {
    let redis: RedisServer;
    let guard: RedisGuard;
    let cache: EncryptedCache;
    let http: { server: Server; url: string };
    const log = captureLogger();
    let produced = 0;
    // OOM refuses only writes that may grow memory: a delete still works.
    const deletesRefused = refusal !== 'OOM';

    beforeAll(async () => {
      redis = await startRedis({ password: PASSWORD });
      guard = createRedisGuard({
        config: { url: redis.url, password: PASSWORD, insecureAllowPlaintext: true, singleHost: true },
        environment: 'production',
        logger: log.logger,
      });
      await guard.ready();
      cache = createEncryptedCache({ redis: guard, keys: KEY, namespace: 'profiles', logger: log.logger });
      const app = express();
      app.get('/catalogue', cacheResponse({ cache, ttlMs: 60_000 }), (_req, res) => {
        res.json({ produced: ++produced });
      });
      app.delete('/profiles/:id', (req, res, next) => {
        cache.del(`user:${req.params.id}`).then(() => res.status(204).end(), next);
      });
      app.use(secErrorHandler());
      http = await new Promise((resolve) => {
        const server = app.listen(0, '127.0.0.1', () =>
          resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
        );
      });
    });
    afterAll(async () => {
      http?.server.close();
      await guard?.close();
      await redis?.stop();
    });

    it('reads go on, writes are skipped and logged once, and an invalidation is never falsely reported', async () => {
      await cache.set('user:1', { name: 'Ada' });
      await cache.set('user:2', { name: 'Grace' });
      const restore = await refuseWrites(redis, refusal);
      let deleted: Response;
      try {
        for (let i = 0; i < 5; i++) {
          expect(await cache.get('user:1')).toEqual({ name: 'Ada' });
          expect(await cache.set(`user:new:${i}`, { i })).toBe(false);
        }
        expect(await cache.wrap('user:3', () => ({ name: 'produced' }))).toEqual({ name: 'produced' });
        // cacheResponse never turns the refusal into an error: the route answers.
        for (let i = 0; i < 3; i++) expect((await fetch(`${http.url}/catalogue`)).status).toBe(200);

        deleted = await fetch(`${http.url}/profiles/2`, { method: 'DELETE' });
        if (deletesRefused) {
          expect(deleted.status).toBe(503);
          expect(Number(deleted.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
          expect(await deleted.json()).toMatchObject({ error: 'service_unavailable', service: 'redis' });
          await expect(cache.del('user:1')).rejects.toBeInstanceOf(RedisUnavailableError);
        } else {
          expect(deleted.status).toBe(204);
        }
      } finally {
        await restore();
      }
      // The answer told the truth: a 503 left the entry, a 204 removed it.
      expect(await cache.get('user:2')).toEqual(deleted.status === 204 ? undefined : { name: 'Grace' });
      expect(await cache.get('user:new:0')).toBeUndefined();
      expect(events(log, 'cache.write_refused')).toHaveLength(1);
      expect(events(log, 'cache.store_error')).toHaveLength(0);
      expect(events(log, 'cache.bypass')).toHaveLength(0);
      expect(guard.breaker.state).toBe('closed');
      expect(await cache.set('user:new:0', { i: 0 })).toBe(true);
      expect(log.text()).not.toContain(PASSWORD);
    });
  },
);
