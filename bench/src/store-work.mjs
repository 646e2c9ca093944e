// The Redis work behind one request, without HTTP: what each stack's middlewares ask of their
// client, 100 requests in flight at once (as under load, so auto-pipelining can batch). Separates
// the cost of our packages from Express and the socket writes of the HTTP response.
// Measured in batches by hand rather than with tinybench, to report CPU per request.
import { rateLimit } from '@sec/rate-limit';
import { createSessionManager } from '@sec/session';
import { RedisStore as SessionStore } from 'connect-redis';
import { RedisStore as LimitStore } from 'rate-limit-redis';
import { createClient } from 'redis';
import { silentLogger } from './servers/serve.mjs';

const IN_FLIGHT = 100;
const WINDOW_MS = 3_600_000;

/**
 * Runs `request` in batches of IN_FLIGHT for `ms`; wall-clock rate and CPU per request of this
 * process and of redis-server (CPU is less disturbed than the rate by other load on the machine).
 */
async function measure(request, ms, redisServer) {
  const cpu = process.cpuUsage();
  const redisBefore = redisServer.cpuMicros();
  const started = performance.now();
  let count = 0;
  while (performance.now() - started < ms) {
    await Promise.all(Array.from({ length: IN_FLIGHT }, request));
    count += IN_FLIGHT;
  }
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const redisAfter = redisServer.cpuMicros();
  return {
    perSecond: (count * 1000) / elapsed,
    nodeUs: (used.user + used.system) / count,
    redisUs: redisBefore === undefined ? Number.NaN : (redisAfter - redisBefore) / count,
  };
}

/**
 * Prints the table of per-request Redis work.
 * @param {import('@sec/redis-guard').RedisGuard} guard
 * @param {{ url: string, password: string, cpuMicros(): number | undefined }} redisServer
 * @param {{ time: number }} options
 */
export async function storeWorkGroup(guard, redisServer, { time }) {
  const sessions = createSessionManager({
    redis: guard,
    signingKeys: [{ kid: 'bench', secret: 'store-work-benchmark-secret-of-32+bytes' }],
    issuer: 'https://bench.local',
    audience: 'bench',
    channel: false,
    logger: silentLogger,
  });
  const { accessToken } = await sessions.create('store-user', { roles: ['user'] });
  const limiter = rateLimit({ redis: guard, name: 'store-work', points: 1_000_000_000, windowMs: 3_600_000 });
  const ipKey = 'ip:127.0.0.1';

  const peerClient = createClient({ url: redisServer.url, password: redisServer.password });
  await peerClient.connect();
  const peerSessions = new SessionStore({ client: peerClient, prefix: 'peer-sess:' });
  const peerLimits = new LimitStore({
    sendCommand: (...args) => peerClient.sendCommand(args),
    prefix: 'peer-rl:',
  });
  peerLimits.init({ windowMs: WINDOW_MS });
  const sid = 'store-work-session';
  const cookie = {
    originalMaxAge: WINDOW_MS,
    expires: new Date(Date.now() + WINDOW_MS),
    httpOnly: true,
    path: '/',
  };
  await peerSessions.set(sid, { cookie, userId: 'store-user' });

  const client = guard.client;
  await client.set('store-work:plain', 'x');
  const scenarios = [
    ['floor: one ioredis GET', () => client.get('store-work:plain')],
    ['one GET through guard.execute()', () => guard.execute((c) => c.get('store-work:plain'))],
    [
      'peer: rate-limit-redis increment, connect-redis get + touch',
      async () => {
        await peerLimits.increment('127.0.0.1');
        const session = await peerSessions.get(sid);
        // express-session touches after the response; its CPU still counts.
        await peerSessions.touch(sid, session);
      },
    ],
    [
      'ours: consumeKey, then verifyRequestToken',
      async () => {
        await limiter.consumeKey(ipKey);
        await sessions.verifyRequestToken(accessToken);
      },
    ],
    [
      'ours: consumeKey and verifyRequestToken together',
      () => Promise.all([limiter.consumeKey(ipKey), sessions.verifyRequestToken(accessToken)]),
    ],
    ['ours: verifyRequestToken only', () => sessions.verifyRequestToken(accessToken)],
    ['ours: consumeKey only', () => limiter.consumeKey(ipKey)],
  ];
  try {
    console.log(`\n### Per-request Redis work without HTTP (${IN_FLIGHT} requests in flight)\n`);
    console.log('| work per request | requests/s | node CPU µs/req | redis CPU µs/req |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const [name, request] of scenarios) {
      await measure(request, Math.min(time, 250), redisServer);
      const { perSecond, nodeUs, redisUs } = await measure(request, time, redisServer);
      console.log(
        `| ${name} | ${(perSecond / 1000).toFixed(1)} k | ${nodeUs.toFixed(1)} | ${redisUs.toFixed(1)} |`,
      );
    }
  } finally {
    await sessions.close();
    await peerClient.quit();
  }
}
