import { scrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, PRODUCTION_ON_LOOPBACK, type RedisServer, startRedis } from '@sec/testing';
import { Redis } from 'ioredis';
import { loginLimiter } from '../src/index.js';
import { type Listening, listen, loginApp, type Verifier, waitUntil } from './helpers.js';

/**
 * The check-then-act race of a login limiter, attacked for real: bursts of concurrent attempts
 * whose password check yields (scrypt in libuv's thread pool, or held open on purpose), against
 * counters in a real redis-server.
 */
const hash = promisify(scrypt) as (password: string, salt: string, length: number) => Promise<Buffer>;
const BURST = 200;
const N = 5;
// Production checks the app's own client: a password, and the loopback relaxations declared.
const PASSWORD = 'login-Int-Password-0123456789abcdef';

let redis: RedisServer;
let guard: RedisGuard;
const servers: Listening[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
  const client = new Redis({ host: '127.0.0.1', port: redis.port, password: PASSWORD });
  client.on('error', () => undefined);
  clients.push(client);
  guard = createRedisGuard({
    client,
    environment: 'production',
    env: PRODUCTION_ON_LOOPBACK,
    logger: captureLogger().logger,
  });
  await guard.ready();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const client of clients) client.disconnect();
  await redis?.stop();
});

/** Counts the password checks it runs; each one really yields (scrypt in the thread pool). */
function countingVerifier(
  passwords: Readonly<Record<string, string>>,
): Verifier & { readonly calls: number } {
  let calls = 0;
  const verify = async (username: unknown, password: unknown) => {
    calls += 1;
    await hash(String(password), 'per-user-salt', 32);
    return typeof username === 'string' && passwords[username] === password;
  };
  return Object.defineProperty(verify, 'calls', { get: () => calls }) as Verifier & {
    readonly calls: number;
  };
}

async function serve(verify: Verifier, options: Parameters<typeof loginLimiter>[0]): Promise<string> {
  const listening = await listen(loginApp(loginLimiter({ redis: guard, ...options }), verify));
  servers.push(listening);
  return listening.url;
}

const attempt = (url: string, username: string, password: string) =>
  fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  }).then((res) => res.status);

function histogram(statuses: readonly number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

describe('loginLimiter under concurrent bursts (Redis, production)', () => {
  it(`${BURST} concurrent wrong passwords with an async hash run at most ${N} checks`, async () => {
    const verify = countingVerifier({ alice: 'right' });
    const url = await serve(verify, { name: 'burst', maxConsecutiveFailsByUsernameAndIp: N });
    const statuses = await Promise.all(Array.from({ length: BURST }, () => attempt(url, 'alice', 'wrong')));
    console.log(`login burst: ${verify.calls} password checks for ${BURST} attempts (limit ${N})`);
    expect(verify.calls).toBe(N);
    expect(histogram(statuses)).toEqual({ 401: N, 429: BURST - N });
  });

  it('the right password sent inside the burst, after N wrong ones are counted, is refused', async () => {
    // Hold every password check open, so that the whole burst is in flight at once.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = 0;
    const verify: Verifier = async (_username, password) => {
      started += 1;
      await gate;
      return password === 'right';
    };
    const url = await serve(verify, { name: 'gated', maxConsecutiveFailsByUsernameAndIp: N });
    const wrong = Array.from({ length: BURST }, () => attempt(url, 'alice', 'wrong'));
    await waitUntil('N checks in flight', async () => started === N);
    const right = await attempt(url, 'alice', 'right');
    release();
    expect(right).toBe(429);
    expect(histogram(await Promise.all(wrong))).toEqual({ 401: N, 429: BURST - N });
    expect(started).toBe(N);
  });

  it('a burst over many accounts from one client runs at most maxFailsByIpPerDay checks', async () => {
    const verify = countingVerifier({});
    const daily = 10;
    const url = await serve(verify, { name: 'daily', maxFailsByIpPerDay: daily });
    const statuses = await Promise.all(
      Array.from({ length: BURST }, (_, i) => attempt(url, `user${i}`, 'wrong')),
    );
    expect(verify.calls).toBe(daily);
    expect(histogram(statuses)).toEqual({ 401: daily, 429: BURST - daily });
  });

  it('look-alike accounts (case, full-width, NFKC) logging in leave the victim’s counter alone', async () => {
    const lookAlikes = ['ALICE', 'Alice', 'ＡＬＩＣＥ', 'ａｌｉｃｅ', 'ⓐlice', 'alice ', 'ALİCE'];
    const verify = countingVerifier(Object.fromEntries(lookAlikes.map((u) => [u, 'theirs'])));
    const url = await serve(verify, { name: 'look-alike', maxConsecutiveFailsByUsernameAndIp: N });
    for (let i = 0; i < N - 1; i++) expect(await attempt(url, 'alice', `guess${i}`)).toBe(401);
    // Each look-alike account is real and logs in with its own password, from the attacker's client.
    for (const account of lookAlikes) expect(await attempt(url, account, 'theirs')).toBe(200);
    expect(await attempt(url, 'alice', 'last-guess')).toBe(401);
    expect(await attempt(url, 'alice', 'one-more')).toBe(429);
    expect(verify.calls).toBe(N + lookAlikes.length);
  });

  it('stores neither usernames nor unbounded keys: a fixed-size digest per account', async () => {
    const verify = countingVerifier({});
    const url = await serve(verify, { name: 'keys', maxConsecutiveFailsByUsernameAndIp: N });
    expect(await attempt(url, 'alice@example.com', 'x')).toBe(401);
    expect(await attempt(url, 'm'.repeat(50_000), 'x')).toBe(401);
    const [, keys] = await guard.execute((c) =>
      (c as Redis).scan('0', 'MATCH', 'sec:rl:keys.*', 'COUNT', 10_000),
    );
    expect(keys.join('\n')).not.toMatch(/alice|mmmm/);
    expect(Math.max(...keys.map((k) => k.length))).toBeLessThan(120);
  });
});
