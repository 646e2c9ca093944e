#!/usr/bin/env node
// The whole test suite: every workspace's jest run through turbo (builds first), then one line
// with the total, `tests: N passed, M failed`, which CI reads.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const workspaces = ['packages', 'apps']
  .flatMap((dir) => (existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : []))
  .concat(existsSync('bench') ? ['bench'] : [])
  .filter((dir) => {
    const manifest = join(dir, 'package.json');
    return existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).scripts?.test;
  });

for (const dir of workspaces) rmSync(join(dir, 'test-results.json'), { force: true });

const turbo = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'test', '--continue', '--concurrency=2', ...process.argv.slice(2)],
  {
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' },
  },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const dir of workspaces) {
  const file = join(dir, 'test-results.json');
  if (!existsSync(file)) {
    missing.push(dir);
    continue;
  }
  const counts = JSON.parse(readFileSync(file, 'utf8'));
  passed += counts.passed;
  failed += counts.failed;
  skipped += counts.skipped;
}
// A workspace whose tests never ran (its build failed, say) counts as one failure, so a broken
// build cannot pass as "0 failed".
if (missing.length > 0 && process.argv.length <= 2) {
  console.log(`no test results from: ${missing.join(', ')}`);
  failed += missing.length;
}
console.log(`skipped: ${skipped}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(turbo.status === 0 && failed === 0 ? 0 : 1);
