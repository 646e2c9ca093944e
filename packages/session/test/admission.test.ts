import { describe, expect, it } from '@jest/globals';
import { rateLimit } from '@sec/rate-limit';
import { captureLogger } from '@sec/testing';
import express from 'express';
import request from 'supertest';
import { bearer, manager, memoryGuard } from './helpers.js';

// authenticate({ with }) in memory mode: nothing to pipeline, the same answers.

describe('combined admission in memory mode', () => {
  it('authenticates, limits, and answers 401 over 429', async () => {
    const log = captureLogger();
    const guard = memoryGuard(log.logger);
    const sessions = manager({ redis: guard, logger: log.logger });
    const limiter = rateLimit({ redis: guard, name: 'mem', points: 2, windowMs: 60_000 });
    const app = express();
    app.get('/me', sessions.authenticate({ with: [limiter] }), (req, res) => {
      res.json({ user: req.auth?.userId });
    });
    const { accessToken } = await sessions.create('mia');
    const ok = await request(app).get('/me').set(bearer(accessToken));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ user: 'mia' });
    expect(ok.headers.ratelimit).toBe('"mem";r=1;t=60');
    expect((await request(app).get('/me')).status).toBe(401);
    const limited = await request(app).get('/me').set(bearer(accessToken));
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await request(app).get('/me').set(bearer('nope'))).status).toBe(401);
    await sessions.close();
  });
});
