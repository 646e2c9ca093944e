// `pnpm --filter @sec/bench micro`: tinybench micro-benchmarks, each beside its baseline.
//   - JWT verify (jose, key imported once) vs the full session check against Redis;
//   - Fernet encrypt/decrypt at 1 KiB, 64 KiB and 1 MiB vs the same token built on raw node:crypto;
//   - circuit-breaker overhead: guard.execute(ping) vs client.ping(), and breaker.allowsRequests();
//   - the Redis work behind one request of each stack, without HTTP (where the time goes).
//
//   node src/micro.mjs [--quick]      BENCH_MICRO_TIME: ms per task (default 1000; --quick 300)
import { randomBytes, webcrypto } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Fernet } from '@sec/cache-crypto';
import { createRedisGuard } from '@sec/redis-guard';
import { createSessionManager } from '@sec/session';
import { jwtVerify } from 'jose';
import { describeMachine, loadAverage } from './machine.mjs';
import { rawFernet } from './raw-fernet.mjs';
import { startRedisServer } from './redis-server.mjs';
import { silentLogger } from './servers/serve.mjs';
import { storeWorkGroup } from './store-work.mjs';
import { runGroup } from './tinybench-table.mjs';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean' } } });
const time = Number(process.env.BENCH_MICRO_TIME ?? (flags.quick ? 300 : 1000));
const ISSUER = 'https://bench.local';
const AUDIENCE = 'bench';
/** More tokens than @sec/session remembers as verified (5,000), so cycling through them always misses. */
const COLD_TOKENS = 6_000;
const CONCURRENT = 100;
const LOOP = 10_000;
/** Keeps the result of the tight loop observable, so the JIT cannot drop the calls. */
let sink = 0;

async function sessionGroup(guard) {
  const secret = randomBytes(32);
  const sessions = createSessionManager({
    redis: guard,
    signingKeys: [{ kid: 'bench', secret }],
    issuer: ISSUER,
    audience: AUDIENCE,
    channel: false,
    logger: silentLogger,
  });
  const { accessToken } = await sessions.create('bench-user', { roles: ['user'] });
  const cold = [];
  for (let i = 0; i < COLD_TOKENS; i += 200) {
    const batch = Array.from({ length: 200 }, (_, j) =>
      sessions.create(`cold-${i + j}`, { roles: ['user'] }),
    );
    for (const created of await Promise.all(batch)) cold.push(created.accessToken);
  }
  let next = 0;
  // The same checks @sec/session asks jose for, with the key imported once.
  const key = await webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'verify',
  ]);
  const joseOptions = {
    algorithms: ['HS256'],
    issuer: ISSUER,
    audience: AUDIENCE,
    clockTolerance: 5,
    maxTokenAge: 8 * 3600 + 5,
    requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
    typ: 'JWT',
  };
  const auth = await sessions.verifyRequestToken(accessToken);
  if (auth.userId !== 'bench-user') throw new Error('session check returned the wrong user');
  await runGroup(
    'JWT verify vs session check (sequential, one at a time)',
    [
      {
        name: 'jose jwtVerify HS256 (key imported once)',
        fn: () => jwtVerify(accessToken, key, joseOptions),
      },
      {
        name: 'verifyRequestToken, same token (verified-token cache + Redis)',
        fn: () => sessions.verifyRequestToken(accessToken),
        versus: 'jose jwtVerify HS256 (key imported once)',
      },
      {
        name: `verifyRequestToken, ${COLD_TOKENS} tokens in turn (jose + Redis)`,
        fn: () => sessions.verifyRequestToken(cold[next++ % COLD_TOKENS]),
        versus: 'jose jwtVerify HS256 (key imported once)',
      },
    ],
    { time },
  );
  await sessions.close();
}

async function fernetGroup() {
  const key = Fernet.generateKey();
  const fernet = new Fernet(key);
  const raw = rawFernet(key);
  for (const [label, bytes] of [
    ['1 KiB', 1024],
    ['64 KiB', 64 * 1024],
    ['1 MiB', 1024 * 1024],
  ]) {
    const data = randomBytes(bytes);
    const token = fernet.encrypt(data);
    const rawToken = raw.encrypt(data);
    // The baseline must do the same work: each reads the other's tokens.
    if (!raw.decrypt(token).equals(data) || !fernet.decrypt(rawToken).equals(data)) {
      throw new Error('raw node:crypto baseline and Fernet disagree');
    }
    await runGroup(
      `Fernet ${label}`,
      [
        { name: `raw node:crypto encrypt ${label}`, fn: () => raw.encrypt(data) },
        {
          name: `Fernet.encrypt ${label}`,
          fn: () => fernet.encrypt(data),
          versus: `raw node:crypto encrypt ${label}`,
        },
        { name: `raw node:crypto decrypt ${label}`, fn: () => raw.decrypt(rawToken) },
        {
          name: `Fernet.decrypt ${label}`,
          fn: () => fernet.decrypt(token),
          versus: `raw node:crypto decrypt ${label}`,
        },
      ],
      { time },
    );
  }
}

async function breakerGroup(guard) {
  const { client, breaker } = guard;
  const many = (fn) => () => Promise.all(Array.from({ length: CONCURRENT }, fn));
  await runGroup(
    'Circuit breaker overhead',
    [
      { name: 'client.ping()', fn: () => client.ping() },
      {
        name: 'guard.execute(c => c.ping())',
        fn: () => guard.execute((c) => c.ping()),
        versus: 'client.ping()',
      },
      { name: `${CONCURRENT} concurrent client.ping()`, fn: many(() => client.ping()), perCall: CONCURRENT },
      {
        name: `${CONCURRENT} concurrent guard.execute(ping)`,
        fn: many(() => guard.execute((c) => c.ping())),
        perCall: CONCURRENT,
        versus: `${CONCURRENT} concurrent client.ping()`,
      },
      {
        name: 'breaker.allowsRequests()',
        fn: () => {
          let allowed = 0;
          for (let i = 0; i < LOOP; i++) if (breaker.allowsRequests()) allowed++;
          sink = allowed;
        },
        perCall: LOOP,
      },
    ],
    { time },
  );
}

const redis = await startRedisServer();
for (const line of describeMachine({ 'redis-server': redis.version })) console.log(line);
console.log(`settings: ${time} ms per task (plus warm-up)`);
const guard = createRedisGuard({
  config: { url: redis.url, password: redis.password },
  environment: 'test',
  logger: silentLogger,
});
try {
  await guard.ready();
  await sessionGroup(guard);
  await fernetGroup();
  await breakerGroup(guard);
  await storeWorkGroup(guard, redis, { time: Math.max(time, 1000) });
  if (sink !== LOOP) throw new Error('the breaker refused requests during the benchmark');
  console.log(`\nload average at end: ${loadAverage()}`);
} finally {
  await guard.close();
  await redis.stop();
}
