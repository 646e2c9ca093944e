// authenticate() throughput as a ratio to a bare Express handler, measured in one run.
// Starts its own throw-away redis-server (never 6379) and the app in a child process, then runs
// autocannon against /bare and /auth alternately, so drift on a shared machine hits both alike.
// Usage: pnpm build && pnpm bench    (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS to tune)
import { fork, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const TARGET = 0.7;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => (port === 6379 ? resolve(freePort()) : resolve(port)));
    });
  });
}

async function startRedis(port) {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
  child.stdout.resume();
  return child;
}

function startApp(redisUrl) {
  const child = fork(fileURLToPath(new URL('./server.mjs', import.meta.url)), {
    env: { ...process.env, BENCH_REDIS_URL: redisUrl },
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, ...message }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

function load(url, token, duration) {
  return autocannon({
    url,
    duration,
    connections: CONNECTIONS,
    headers: { authorization: `Bearer ${token}` },
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const redis = await startRedis(await freePort());
const app = await startApp(`redis://127.0.0.1:${redis.spawnargs[2]}`);
try {
  const base = `http://127.0.0.1:${app.port}`;
  // Warm up both paths (JIT, script cache, connection pools) before measuring.
  await load(`${base}/bare`, app.accessToken, 2);
  await load(`${base}/auth`, app.accessToken, 2);
  const results = { bare: [], auth: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const route of round % 2 ? ['bare', 'auth'] : ['auth', 'bare']) {
      const result = await load(`${base}/${route}`, app.accessToken, SECONDS);
      if (result.non2xx > 0 || result.errors > 0)
        throw new Error(`${route}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      results[route].push(result.requests.average);
      console.log(
        `round ${round} ${route.padEnd(4)} ${result.requests.average.toFixed(0).padStart(7)} req/s  p99 ${result.latency.p99} ms`,
      );
    }
  }
  const bare = median(results.bare);
  const auth = median(results.auth);
  // Each round's pair ran back to back, so its ratio is the least disturbed by other load.
  const ratio = median(results.auth.map((value, i) => value / results.bare[i]));
  console.log('');
  console.log(`bare Express handler      ${bare.toFixed(0).padStart(7)} req/s (median of ${ROUNDS})`);
  console.log(`authenticate() + handler  ${auth.toFixed(0).padStart(7)} req/s (median of ${ROUNDS})`);
  console.log(
    `ratio                     ${ratio.toFixed(2)}x  (median of per-round ratios; target >= ${TARGET}x: ${ratio >= TARGET ? 'met' : 'NOT met'})`,
  );
} finally {
  app.child.disconnect();
  redis.kill('SIGTERM');
}
