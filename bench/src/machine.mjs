// The facts a benchmark figure needs next to it: machine, load and versions.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

const PACKAGES = [
  'express',
  'express-session',
  'connect-redis',
  'redis',
  'express-rate-limit',
  'rate-limit-redis',
  'ioredis',
  'jose',
  'autocannon',
  'tinybench',
  '@sec/redis-guard',
  '@sec/session',
  '@sec/rate-limit',
  '@sec/cache-crypto',
];

function versionOf(name) {
  try {
    const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return JSON.parse(readFileSync(file, 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

/** "1.23 1.10 0.98" — the 1, 5 and 15 minute load averages. */
export function loadAverage() {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

/** Lines describing the machine and the versions under test. */
export function describeMachine(extra = {}) {
  const lines = [
    `cpu: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    `memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `node: ${process.version}`,
    ...Object.entries(extra).map(([key, value]) => `${key}: ${value}`),
    `packages: ${PACKAGES.map((name) => `${name}@${versionOf(name)}`).join(', ')}`,
    `load average at start: ${loadAverage()}`,
  ];
  return lines;
}
