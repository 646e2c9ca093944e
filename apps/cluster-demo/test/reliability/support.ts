import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type Agent, type IncomingHttpHeaders, request } from 'node:http';
import type { RedisServer } from '@sec/testing';

/**
 * `RELIABILITY_LONG=1` (`pnpm test:reliability:long`) runs every scenario longer and larger; the
 * default is the short form CI runs on every push.
 */
export const LONG = process.env.RELIABILITY_LONG === '1';

/** The short or the long figure, by mode. */
export function scale<T>(short: T, long: T): T {
  return LONG ? long : short;
}

/** Everything a request exchange leaves behind; `status` 0 means no HTTP answer (see `error`). */
export interface Exchange {
  /** performance.now() just before the request was written / when the response ended. */
  readonly start: number;
  readonly end: number;
  readonly status: number;
  readonly worker: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly error?: string;
}

export interface SendOptions {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly body?: string | Buffer;
  /** A keep-alive agent, or undefined for a fresh connection per request (round-robin over workers). */
  readonly agent?: Agent;
  readonly timeoutMs?: number;
}

/**
 * One HTTP exchange that never rejects: socket errors and timeouts come back as status 0, so a load
 * loop records them instead of dying, and the test can assert that none happened.
 */
export function send(base: string, options: SendOptions): Promise<Exchange> {
  const start = performance.now();
  return new Promise((resolve) => {
    const fail = (error: Error) =>
      resolve({
        start,
        end: performance.now(),
        status: 0,
        worker: '?',
        headers: {},
        body: '',
        error: error.message,
      });
    const { hostname, port } = new URL(base);
    const req = request(
      {
        hostname,
        port,
        // Sent as given: hostile cases need `..`, `%00` and friends to reach the server unnormalised.
        path: options.path,
        method: options.method ?? 'GET',
        agent: options.agent ?? false,
        timeout: options.timeoutMs ?? 5_000,
        headers: { ...(options.agent ? {} : { connection: 'close' }), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () =>
          resolve({
            start,
            end: performance.now(),
            status: res.statusCode ?? 0,
            worker: String(res.headers['x-worker-id'] ?? '?'),
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 5_000} ms`)));
    req.on('error', fail);
    req.end(options.body);
  });
}

/** Secrets of one demo run, generated per test file so a leak cannot hide behind a fixed value. */
export interface DemoSecrets {
  readonly redisPassword: string;
  readonly sessionSecret: string;
  readonly encryptionKey: string;
}

export function newSecrets(): DemoSecrets {
  return {
    redisPassword: randomBytes(36).toString('base64url'),
    sessionSecret: randomBytes(48).toString('base64url'),
    encryptionKey: `${randomBytes(32).toString('base64url')}=`,
  };
}

export const DEMO_USERS = 'alice:alice-password:user,bob:bob-password:user,admin:admin-password:admin';

/**
 * The demo's production environment (as in demo.int.test.ts): TLS + password Redis from the
 * harness, every secret supplied, nothing generated.
 */
export function productionEnv(
  server: RedisServer,
  secrets: DemoSecrets,
  extra: Readonly<Record<string, string>> = {},
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    WORKERS: '4',
    SEC_LOG_LEVEL: 'warn',
    REDIS_URL: server.url,
    REDIS_PASSWORD: secrets.redisPassword,
    REDIS_TLS_CA_CERT: server.tls!.caFile,
    REDIS_SINGLE_HOST: 'true',
    DEMO_USERS,
    SESSION_SECRET: secrets.sessionSecret,
    REDIS_ENCRYPTION_KEY: secrets.encryptionKey,
    ...extra,
  };
}

/** The primary's worker processes, sorted: compared before and after to prove none was replaced. */
export function workerPids(primaryPid: number): string[] {
  try {
    return execFileSync('pgrep', ['-P', String(primaryPid)])
      .toString()
      .trim()
      .split('\n')
      .sort();
  } catch {
    return [];
  }
}

export interface LoggedIn {
  readonly user: string;
  readonly token: string;
  readonly sessionId: string;
}

/** POST /auth/login; throws with the answer when it is not a 201. */
export async function login(base: string, user: string, password = `${user}-password`): Promise<LoggedIn> {
  const answer = await send(base, {
    method: 'POST',
    path: '/auth/login',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user, password }),
  });
  if (answer.status !== 201) throw new Error(`login ${user}: ${answer.status} ${answer.body}`);
  const body = JSON.parse(answer.body) as { accessToken: string; sessionId: string };
  return { user, token: body.accessToken, sessionId: body.sessionId };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `fn` over `items` with at most `concurrency` in flight; results in input order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}

/** Nearest-rank percentile of `values` (0 for none). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** `{ "200": 812, "503": 240 }` style counts. */
export function histogram(statuses: Iterable<number | string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const status of statuses) counts[String(status)] = (counts[String(status)] ?? 0) + 1;
  return counts;
}

/** Prints a figure block for the run's report (jest shows it under the test file). */
export function report(title: string, figures: Readonly<Record<string, unknown>>): void {
  console.log(`${title}\n${JSON.stringify(figures, null, 2)}`);
}
