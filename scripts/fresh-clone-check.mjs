#!/usr/bin/env node
// Proves that a fresh clone tests and type-checks without building: clones the committed HEAD,
// installs, then runs one package's jest and tsc with no dist/ anywhere, and checks that neither
// created one. Usage: node scripts/fresh-clone-check.mjs [package dir] [jest arguments...]
// (default: every test of packages/health). Run from the repository root.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const target = process.argv[2] ?? 'packages/health';
const jestArgs = process.argv.slice(3);
const clone = mkdtempSync(join(tmpdir(), 'sec-fresh-'));

const run = (command, args, cwd = clone) => {
  console.log(`$ ${command} ${args.join(' ')}`);
  execFileSync(command, args, { cwd, stdio: 'inherit', env: { ...process.env, CI: '1' } });
};

/** Every dist/ directory of the clone, outside node_modules. */
function distDirs(dir = clone) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === '.git' || !statSync(path).isDirectory()) return [];
    return name === 'dist' ? [relative(clone, path)] : distDirs(path);
  });
}

function expectNoDist(when) {
  const found = distDirs();
  if (found.length > 0) throw new Error(`dist/ ${when}: ${found.join(', ')}`);
  console.log(`no dist/ ${when}`);
}

try {
  run('git', ['clone', '--quiet', '--no-hardlinks', process.cwd(), clone], process.cwd());
  try {
    run('pnpm', ['install', '--frozen-lockfile', '--offline']);
  } catch {
    run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline']);
  }
  expectNoDist('after install');
  const dir = join(clone, target);
  run(
    'node',
    [
      '--experimental-vm-modules',
      '--disable-warning=ExperimentalWarning',
      './node_modules/jest/bin/jest.js',
      ...jestArgs,
    ],
    dir,
  );
  run('./node_modules/.bin/tsc', ['--noEmit', '-p', '.'], dir);
  expectNoDist(`after ${target}'s jest and tsc`);
  console.log(`fresh clone: ${target} tests and type-checks without a build`);
} finally {
  rmSync(clone, { recursive: true, force: true });
}
