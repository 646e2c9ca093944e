// Throughput of rateLimit() (Redis store) relative to bare Express, measured in one run with the
// two targets alternating so drift on a shared machine hits both alike. Prints figures; asserts
// nothing. Needs `pnpm build` first and redis-server on PATH; never touches port 6379.
import { fork, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => (port === 6379 ? freePort().then(resolve, reject) : resolve(port)));
    });
  });
}

function startRedis(port) {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve(child);
    });
    child.once('error', (error) => reject(new Error(`cannot run redis-server: ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
}

function load(url) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration: DURATION_S }, (error, result) => {
      if (error) return reject(error);
      if (result.non2xx > 0 || result.errors > 0) {
        return reject(new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`));
      }
      resolve(result.requests.average);
    });
  });
}

const redisPort = await freePort();
const redis = await startRedis(redisPort);
const server = fork(fileURLToPath(new URL('./server.mjs', import.meta.url)), {
  env: { ...process.env, BENCH_REDIS_URL: `redis://127.0.0.1:${redisPort}` },
});
try {
  const ports = await new Promise((resolve, reject) => {
    server.once('message', resolve);
    server.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const targets = {
    bare: `http://127.0.0.1:${ports.bare}/`,
    rateLimit: `http://127.0.0.1:${ports.limited}/`,
  };
  console.log(
    `autocannon: ${CONNECTIONS} connections, ${DURATION_S} s per run, ${ROUNDS} rounds; Redis on port ${redisPort}`,
  );
  // Warm-up (JIT, connection pools), not counted.
  await load(targets.bare);
  await load(targets.rateLimit);
  const totals = { bare: 0, rateLimit: 0 };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of round % 2 ? ['bare', 'rateLimit'] : ['rateLimit', 'bare']) {
      const rps = await load(targets[name]);
      totals[name] += rps;
      console.log(`round ${round}  ${name.padEnd(9)} ${rps.toFixed(0).padStart(7)} req/s`);
    }
  }
  const bare = totals.bare / ROUNDS;
  const limited = totals.rateLimit / ROUNDS;
  console.log(`\nbare Express          ${bare.toFixed(0).padStart(7)} req/s`);
  console.log(`behind rateLimit()    ${limited.toFixed(0).padStart(7)} req/s`);
  console.log(`ratio rateLimit/bare  ${(limited / bare).toFixed(3)}`);
} finally {
  server.kill();
  redis.kill('SIGKILL');
}
