import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call, onEveryWorker } from './http-probe.js';
import { storeFrom } from './settings.js';
import { socketOnEveryWorker } from './socket-probe.js';

/**
 * `pnpm demo:check`: proves (or, with --store memory, disproves) that a revocation through one
 * worker is enforced by every worker at once. Starts its own cluster unless --url is given.
 */
interface Step {
  readonly label: string;
  readonly expected: number;
  readonly statuses: Map<string, number>;
}

const args = process.argv.slice(2);
const option = (name: string) => {
  const index = args.indexOf(name);
  return index === -1 ? undefined : args[index + 1];
};
const workers = Number(option('--workers') ?? 4);
const store = storeFrom(args, {});
const failures: string[] = [];
const steps: Step[] = [];
/** How soon after a revoke returns an open WebSocket of that session must be closed, on every worker. */
const SOCKET_CLOSE_MS = 1_000;
/** WebSocket close code of a connection whose session ended (policy violation). */
const SESSION_ENDED = 1008;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startCluster(): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const main = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
  const child = spawn(process.execPath, [main, '--store', store], {
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      WORKERS: String(workers),
      RATE_LIMIT_POINTS: process.env.RATE_LIMIT_POINTS ?? '100000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null)
      throw new Error(`the demo exited with ${child.exitCode} before it was ready`);
    const live = await onEveryWorker(base, workers, 'GET', '/health/live').catch(
      () => new Map<string, number>(),
    );
    if (live.size === workers) return { base, child };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the demo did not start within 30 s');
}

async function login(
  base: string,
  username: string,
): Promise<{ token: string; sessionId: string; worker: string }> {
  const response = await call(base, 'POST', '/auth/login', undefined, {
    username,
    password: `${username}-password`,
  });
  const body = response.body as { accessToken?: string; sessionId?: string };
  if (response.status !== 201 || !body.accessToken || !body.sessionId) {
    throw new Error(`login as ${username} failed with ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return { token: body.accessToken, sessionId: body.sessionId, worker: response.worker };
}

/** Records a step of the table; every worker must show `expected`. */
function record(label: string, expected: number, statuses: Map<string, number>): void {
  steps.push({ label, expected, statuses });
  if (statuses.size < workers) failures.push(`${label}: reached only ${statuses.size} of ${workers} workers`);
  const wrong = [...statuses].filter(([, status]) => status !== expected);
  if (wrong.length > 0) {
    failures.push(
      `${label}: expected ${expected} on every worker, got ${wrong.map(([w, s]) => `${s} on worker ${w}`).join(', ')}`,
    );
  }
}

async function expectEverywhere(
  base: string,
  label: string,
  path: string,
  token: string,
  expected: number,
): Promise<void> {
  record(label, expected, await onEveryWorker(base, workers, 'GET', path, token));
}

/**
 * Open WebSockets of one session, one on each worker; one revoke through any worker must close
 * every one of them (1008) within a second. In the table, 0 means still open.
 */
async function liveSockets(base: string, adminToken: string): Promise<void> {
  const alice = await login(base, 'alice');
  const sockets = await socketOnEveryWorker(base, alice.token, workers);
  const revoke = await call(
    base,
    'DELETE',
    `/auth/users/alice/sessions/${encodeURIComponent(alice.sessionId)}`,
    adminToken,
  );
  if (revoke.status !== 204) failures.push(`revoke for the socket test answered ${revoke.status}`);
  const statuses = new Map<string, number>();
  const deadline = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), SOCKET_CLOSE_MS));
  await Promise.all(
    [...sockets].map(async ([worker, socket]) => {
      const closed = await Promise.race([socket.closed, deadline]);
      statuses.set(worker, closed?.code ?? 0);
      socket.close();
    }),
  );
  record(`open WebSocket, 1 s after revoke via worker ${revoke.worker}`, SESSION_ENDED, statuses);
}

/** Logs in and revokes through a different worker than the one that created the session. */
async function revokeElsewhere(
  base: string,
  adminToken: string,
): Promise<{ token: string; loginWorker: string; revokeWorker: string }> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const alice = await login(base, 'alice');
    const revoke = await call(
      base,
      'DELETE',
      `/auth/users/alice/sessions/${encodeURIComponent(alice.sessionId)}`,
      adminToken,
    );
    if (revoke.worker !== alice.worker) {
      if (revoke.status !== 204)
        failures.push(`revoke through worker ${revoke.worker} answered ${revoke.status}`);
      return { token: alice.token, loginWorker: alice.worker, revokeWorker: revoke.worker };
    }
  }
  throw new Error('could not route the revoke to a different worker than the login');
}

function printTable(): void {
  const ids = [...new Set(steps.flatMap((s) => [...s.statuses.keys()]))].sort();
  const width = Math.max(...steps.map((s) => s.label.length)) + 2;
  process.stdout.write(
    `\n${'step'.padEnd(width)}${'expect'.padEnd(8)}${ids.map((id) => `worker ${id}`.padEnd(11)).join('')}\n`,
  );
  for (const step of steps) {
    const cells = ids.map((id) => {
      const status = step.statuses.get(id);
      const mark = status === undefined ? '-' : status === step.expected ? `${status} ok` : `${status} FAIL`;
      return mark.padEnd(11);
    });
    process.stdout.write(`${step.label.padEnd(width)}${String(step.expected).padEnd(8)}${cells.join('')}\n`);
  }
}

async function run(base: string): Promise<void> {
  const admin = await login(base, 'admin');
  const alice = await login(base, 'alice');
  await expectEverywhere(
    base,
    `alice's token (login on worker ${alice.worker})`,
    '/api/me',
    alice.token,
    200,
  );

  const revoked = await revokeElsewhere(base, admin.token);
  process.stdout.write(
    `revoked a session created on worker ${revoked.loginWorker} through worker ${revoked.revokeWorker}\n`,
  );
  await expectEverywhere(base, 'revoked session, at once', '/api/me', revoked.token, 401);

  const first = await login(base, 'alice');
  const second = await login(base, 'alice');
  const all = await call(base, 'DELETE', '/auth/users/alice/sessions', admin.token);
  if (all.status !== 200) failures.push(`revoke-all answered ${all.status}`);
  await expectEverywhere(base, 'after revoke-all, session 1', '/api/me', first.token, 401);
  await expectEverywhere(base, 'after revoke-all, session 2', '/api/me', second.token, 401);
  await liveSockets(base, admin.token);

  const bob = await login(base, 'bob');
  await expectEverywhere(base, 'bob on /api/admin as user', '/api/admin', bob.token, 403);
  const promote = await call(base, 'PUT', '/auth/users/bob/roles', admin.token, { roles: ['admin'] });
  if (promote.status !== 204) failures.push(`promoting bob answered ${promote.status}`);
  await expectEverywhere(base, 'bob after promotion', '/api/admin', bob.token, 200);
  const demote = await call(base, 'PUT', '/auth/users/bob/roles', admin.token, { roles: ['user'] });
  if (demote.status !== 204) failures.push(`demoting bob answered ${demote.status}`);
  await expectEverywhere(base, 'bob after demotion', '/api/admin', bob.token, 403);
}

let child: ChildProcess | undefined;
let exitCode = 1;
try {
  let target = option('--url');
  if (!target) {
    const started = await startCluster();
    child = started.child;
    target = started.base;
  }
  process.stdout.write(`demo:check against ${target} (${workers} workers, store ${store})\n`);
  await run(target);
  printTable();
  if (failures.length === 0) {
    process.stdout.write(
      '\nPASS: revocation, revoke-all, open WebSockets and role changes took effect on every worker at once\n',
    );
    exitCode = 0;
  } else {
    process.stdout.write(
      `\nFAIL: ${failures.length} problem(s)\n${failures.map((f) => `  - ${f}`).join('\n')}\n`,
    );
  }
} catch (error) {
  printTable();
  process.stdout.write(`\nFAIL: ${(error as Error).message}\n`);
} finally {
  if (child) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child?.once('exit', resolve));
  }
}
process.exit(exitCode);
