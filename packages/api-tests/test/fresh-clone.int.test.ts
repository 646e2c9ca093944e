import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from '@jest/globals';
import { root } from './workspace.js';

const run = promisify(execFile);

// A fresh clone of the committed tree, installed, runs a package's tests (which import
// @sec/redis-guard) and tsc with no dist/ anywhere: the workspace resolves packages to sources.
it('a fresh clone tests and type-checks a package without building anything', async () => {
  const { stdout } = await run(
    process.execPath,
    [join(root, 'scripts', 'fresh-clone-check.mjs'), 'packages/health', 'test/health.test.ts'],
    { cwd: root, maxBuffer: 16 * 1024 * 1024 },
  );
  expect(stdout).toMatch(/no dist\/ after install/);
  expect(stdout).toMatch(/no dist\/ after packages\/health's jest and tsc/);
}, 300_000);
