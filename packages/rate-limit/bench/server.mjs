// Serves the same handler twice: bare on one port, behind rateLimit() on the other. Started by
// run.mjs in its own process so the load generator does not share its event loop.
import { createServer } from 'node:http';
import { createRedisClient, createRedisGuard } from '@sec/redis-guard';
import express from 'express';
import { rateLimit } from '../dist/index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const { client } = createRedisClient(
  { url: process.env.BENCH_REDIS_URL },
  { environment: 'development', logger: silent },
);
const guard = createRedisGuard({ client, environment: 'production', logger: silent });
await guard.ready();

const handler = (_req, res) => {
  res.json({ ok: true });
};
const bare = express();
bare.get('/', handler);
const limited = express();
limited.use(rateLimit({ redis: guard, name: 'bench', points: 1_000_000_000, duration: 3600 }));
limited.get('/', handler);

const listen = (app) =>
  new Promise((resolve) => {
    const server = createServer(app).listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
const ports = { bare: await listen(bare), limited: await listen(limited) };
process.send(ports);
process.on('disconnect', () => process.exit(0));
