// The app under test, in its own process so autocannon does not share its event loop.
// One Express app, two routes with the same handler: /bare and /auth (behind authenticate()).
import { randomBytes } from 'node:crypto';
import { createJsonLogger, createRedisGuard } from '@sec/redis-guard';
import express from 'express';
import { createSessionManager } from '../dist/index.js';

const logger = createJsonLogger({ level: 'silent' });
const guard = createRedisGuard({
  config: { url: process.env.BENCH_REDIS_URL },
  environment: 'development',
  logger,
});
await guard.ready();
const sessions = createSessionManager({
  redis: guard,
  signingKeys: [{ kid: 'bench', secret: randomBytes(32) }],
  issuer: 'https://bench.local',
  audience: 'bench',
  logger,
});
const { accessToken } = await sessions.create('bench-user', { roles: ['user'] });

const app = express();
const handler = (_req, res) => {
  res.json({ ok: true });
};
app.get('/bare', handler);
app.get('/auth', sessions.authenticate(), handler);
const server = app.listen(0, '127.0.0.1', () => {
  process.send({ port: server.address().port, accessToken });
});
process.on('disconnect', async () => {
  server.close();
  await sessions.close();
  await guard.close();
  process.exit(0);
});
