// `pnpm bench`: req/s and p99 of bare Express, the peer stack and ours (plus each of our
// middlewares alone). Every stack runs in its own server process against one throw-away
// redis-server; autocannon drives them in interleaved rounds so machine noise spreads evenly, and
// only ratios measured in the same run are meaningful.
//
//   node src/run.mjs [--quick] [--cpu-prof] [--experiments] [--stacks=bare,ours,parallel]
//   BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_WARMUP (2), BENCH_CONNECTIONS (50)
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { freePort } from './free-port.mjs';
import { describeMachine, loadAverage } from './machine.mjs';
import { startRedisServer } from './redis-server.mjs';
import { ROUTE } from './servers/serve.mjs';

const STACKS = [
  { name: 'bare', script: 'bare.mjs', label: 'bare Express 5' },
  {
    name: 'peer',
    script: 'peer.mjs',
    label: 'express-session + connect-redis + express-rate-limit + rate-limit-redis',
  },
  {
    name: 'ours',
    script: 'ours.mjs',
    args: ['ours'],
    label: '@sec/session authenticate() + @sec/rate-limit rateLimit()',
  },
  {
    name: 'authenticate',
    script: 'ours.mjs',
    args: ['authenticate'],
    label: '@sec/session authenticate() only',
  },
  { name: 'rate-limit', script: 'ours.mjs', args: ['rate-limit'], label: '@sec/rate-limit rateLimit() only' },
  {
    name: 'combined',
    script: 'ours.mjs',
    args: ['combined'],
    label: '@sec/session authenticate({ with: [rateLimit()] }): one pipelined write',
  },
  {
    name: 'two-windows',
    script: 'ours.mjs',
    args: ['two-windows'],
    label: '@sec/rate-limit rateLimit() with two windows (per second and per hour)',
  },
  {
    name: 'flood',
    script: 'ours.mjs',
    args: ['flood'],
    label: 'a client over its limit: every request 429 (flood shield)',
    refused: true,
  },
  {
    name: 'parallel',
    script: 'ours.mjs',
    args: ['parallel'],
    label: 'experiment: limiter.consume() and authenticateRequest() started together',
    experiment: true,
  },
];
const TARGET_VS_BARE = 0.65;
const TARGET_VS_PEER = 1.4;
/** The combined admission path (session check + a limiter) against bare Express. */
const TARGET_COMBINED_VS_BARE = 0.85;
/** A client over its limit, refused by the flood shield, against bare Express. */
const TARGET_FLOOD_VS_BARE = 0.9;
/** Redis commands per refused request of a flooding client. */
const TARGET_FLOOD_COMMANDS = 0.05;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    'cpu-prof': { type: 'boolean' },
    experiments: { type: 'boolean' },
    stacks: { type: 'string' },
  },
});
const setting = (name, normal, quick) => Number(process.env[name] ?? (flags.quick ? quick : normal));
const SECONDS = setting('BENCH_SECONDS', 5, 2);
const ROUNDS = setting('BENCH_ROUNDS', 3, 1);
const WARMUP = setting('BENCH_WARMUP', 2, 1);
const CONNECTIONS = setting('BENCH_CONNECTIONS', 50, 50);
const wanted =
  flags.stacks?.split(',') ?? STACKS.filter((s) => flags.experiments || !s.experiment).map((s) => s.name);
const stacks = STACKS.filter((s) => wanted.includes(s.name));
if (stacks.length !== wanted.length)
  throw new Error(`--stacks: pick from ${STACKS.map((s) => s.name).join(', ')}`);

const profileDir = flags['cpu-prof']
  ? new URL(`../profiles/${new Date().toISOString().replace(/[:.]/g, '-')}/`, import.meta.url).pathname
  : undefined;
if (profileDir) mkdirSync(profileDir, { recursive: true });

async function startServer(stack, redis) {
  const port = await freePort();
  const child = fork(new URL(`./servers/${stack.script}`, import.meta.url), stack.args ?? [], {
    env: {
      ...process.env,
      BENCH_PORT: String(port),
      BENCH_REDIS_URL: redis.url,
      BENCH_REDIS_PASSWORD: redis.password,
    },
    execArgv: profileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${stack.name}.cpuprofile`]
      : [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const headers = await new Promise((resolve, reject) => {
    child.once('message', (message) =>
      message?.ready ? resolve(message.headers) : reject(new Error(String(message))),
    );
    child.once('exit', (code) =>
      reject(new Error(`${stack.name} server exited with ${code} before it was ready`)),
    );
  });
  return { ...stack, child, url: `http://127.0.0.1:${port}${ROUTE}`, headers };
}

/** One request up front: a stack that answers 401 or 500 would make every figure after it meaningless. */
async function checkServer(server) {
  if (server.refused) {
    // The flood stack's client spends its limit on the first request: every later one is a 429.
    await (await fetch(server.url, { headers: server.headers })).arrayBuffer();
    const response = await fetch(server.url, { headers: server.headers });
    if (response.status !== 429)
      throw new Error(`${server.name}: GET ${ROUTE} answered ${response.status}, not 429`);
    return;
  }
  const response = await fetch(server.url, { headers: server.headers });
  const body = await response.json().catch(() => undefined);
  if (response.status !== 200 || body?.userId !== 'bench-user') {
    throw new Error(`${server.name}: GET ${ROUTE} answered ${response.status} ${JSON.stringify(body)}`);
  }
}

/** CPU time (user + system) the server process has used so far, in µs. */
function serverCpu(server) {
  return new Promise((resolve) => {
    server.child.once('message', (message) => resolve(message.cpu.user + message.cpu.system));
    server.child.send('cpu');
  });
}

async function load(server, duration) {
  const cpuBefore = await serverCpu(server);
  const redisBefore = redis.cpuMicros();
  const countersBefore = await redis.counters();
  const result = await autocannon({
    url: server.url,
    headers: server.headers,
    connections: CONNECTIONS,
    pipelining: 1,
    duration,
  });
  const wrong = server.refused ? result['2xx'] + result['5xx'] : result.non2xx;
  if (wrong > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${server.name}: ${wrong} unexpected answers (${server.refused ? 'not 429' : 'non-2xx'}), ` +
        `${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  const requests = result.requests.total;
  const serverUs = ((await serverCpu(server)) - cpuBefore) / requests;
  const redisAfter = redis.cpuMicros();
  const redisUs = redisBefore === undefined ? Number.NaN : (redisAfter - redisBefore) / requests;
  const commands = ((await redis.counters()).commands - countersBefore.commands) / requests;
  return { rps: result.requests.average, p99: result.latency.p99, serverUs, redisUs, commands, requests };
}

/**
 * Redis round trips per request, with requests sent one at a time (under load, one connection
 * carries many requests' commands in one read): the reads Redis processed, per request.
 */
async function roundTrips(server, count = 100) {
  const before = await redis.counters();
  for (let i = 0; i < count; i++) await (await fetch(server.url, { headers: server.headers })).arrayBuffer();
  // The earlier INFO's read falls between the two snapshots.
  return ((await redis.counters()).reads - before.reads - 1) / count;
}

const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
const fixed = (value, digits = 0) => value.toFixed(digits);

function report(servers, results, trips) {
  const summary = new Map(
    servers.map((s) => {
      const runs = results.get(s.name);
      const rps = runs.map((r) => r.rps);
      return [
        s.name,
        {
          rps: mean(rps),
          min: Math.min(...rps),
          max: Math.max(...rps),
          p99: mean(runs.map((r) => r.p99)),
          serverUs: mean(runs.map((r) => r.serverUs)),
          redisUs: mean(runs.map((r) => r.redisUs)),
          commands: mean(runs.map((r) => r.commands)),
          reads: trips.get(s.name),
        },
      ];
    }),
  );
  const bare = summary.get('bare');
  console.log('');
  console.log(
    `| stack | req/s (mean of ${ROUNDS}) | min - max | p99 ms | x bare | server CPU µs/req | redis CPU µs/req | redis cmds/req | round trips/req (one at a time) |`,
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of servers) {
    const row = summary.get(s.name);
    const vsBare = bare ? `${fixed(row.rps / bare.rps, 2)}x` : '-';
    console.log(
      `| ${s.name}: ${s.label} | ${fixed(row.rps)} | ${fixed(row.min)} - ${fixed(row.max)} | ${fixed(row.p99, 1)} ` +
        `| ${vsBare} | ${fixed(row.serverUs)} | ${fixed(row.redisUs)} | ${fixed(row.commands, 3)} | ${fixed(row.reads, 2)} |`,
    );
  }
  console.log('');
  // Runs of one round are minutes apart at most: their ratio is the least disturbed by drift.
  const perRound = (mine, other) => results.get(mine).map((run, i) => run.rps / results.get(other)[i].rps);
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  for (const [mine, other, target] of [
    ['ours', 'bare', TARGET_VS_BARE],
    ['ours', 'peer', TARGET_VS_PEER],
    ['combined', 'bare', TARGET_COMBINED_VS_BARE],
    ['combined', 'ours', undefined],
    ['flood', 'bare', TARGET_FLOOD_VS_BARE],
  ]) {
    const row = summary.get(mine);
    const base = summary.get(other);
    if (!row || !base) continue;
    const ratio = row.rps / base.rps;
    const verdict =
      target === undefined ? '' : ` (target >= ${target}x: ${ratio >= target ? 'met' : 'NOT met'})`;
    const rounds = perRound(mine, other);
    console.log(
      `${mine} / ${other}: ${fixed(ratio, 2)}x${verdict}; ` +
        `per round: ${rounds.map((r) => fixed(r, 2)).join(', ')}, median ${fixed(median(rounds), 2)}x`,
    );
  }
  const flood = summary.get('flood');
  if (flood) {
    const verdict = flood.commands <= TARGET_FLOOD_COMMANDS ? 'met' : 'NOT met';
    console.log(
      `flood: ${fixed(flood.commands, 4)} Redis commands per refused request (target <= ${TARGET_FLOOD_COMMANDS}: ${verdict})`,
    );
  }
  const one = summary.get('rate-limit');
  const two = summary.get('two-windows');
  if (one && two) {
    const verdict = two.reads <= one.reads + 0.01 ? 'met' : 'NOT met';
    console.log(
      `two windows: ${fixed(two.reads, 2)} Redis round trips per request, one window ${fixed(one.reads, 2)} ` +
        `(target: no more: ${verdict}); ${fixed(two.commands, 2)} vs ${fixed(one.commands, 2)} commands per request`,
    );
  }
}

const redis = await startRedisServer();
for (const line of describeMachine({ 'redis-server': redis.version })) console.log(line);
console.log(
  `settings: ${ROUNDS} round(s) x ${SECONDS} s per stack, ${WARMUP} s warm-up, ${CONNECTIONS} connections, pipelining 1`,
);
const servers = [];
try {
  for (const stack of stacks) servers.push(await startServer(stack, redis));
  for (const server of servers) await checkServer(server);
  const trips = new Map();
  for (const server of servers) trips.set(server.name, await roundTrips(server));
  // Requests each server answered (the check, warm-up and rounds): turns a profile into µs/request.
  const served = new Map(servers.map((s) => [s.name, 1]));
  for (const server of servers)
    served.set(server.name, served.get(server.name) + (await load(server, WARMUP)).requests);
  const results = new Map(servers.map((s) => [s.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no stack always runs first, last or after the same neighbour.
    const order = servers.map((_, i) => servers[(i + round) % servers.length]);
    for (const server of order) {
      const run = await load(server, SECONDS);
      results.get(server.name).push(run);
      served.set(server.name, served.get(server.name) + run.requests);
      console.log(
        `round ${round + 1} ${server.name.padEnd(12)} ${fixed(run.rps).padStart(7)} req/s  p99 ${run.p99} ms  ` +
          `server ${fixed(run.serverUs)} µs/req  redis ${fixed(run.redisUs)} µs/req`,
      );
    }
  }
  report(servers, results, trips);
  console.log(`load average at end: ${loadAverage()}`);
  if (profileDir) {
    writeFileSync(`${profileDir}requests.json`, `${JSON.stringify(Object.fromEntries(served), null, 2)}\n`);
    console.log(`CPU profiles: ${profileDir} (summarise with: node src/profile-summary.mjs <dir or file>)`);
  }
} finally {
  const exits = servers.map((s) => new Promise((resolve) => s.child.once('exit', resolve)));
  for (const server of servers) server.child.disconnect();
  await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, 5000))]);
  for (const server of servers) if (server.child.exitCode === null) server.child.kill('SIGKILL');
  await redis.stop();
}
