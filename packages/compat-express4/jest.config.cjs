// The packages' own test files, run with `express` resolved to Express 4 instead of 5: every module
// jest loads (the tests, the packages' sources and their built siblings) gets the same Express 4.
// The files are the HTTP-facing ones; tests that only make sense on Express 5 (an async handler
// left to Express to catch) are not among them.
const { join } = require('node:path');

const packages = join(__dirname, '..');
const HTTP_TESTS = {
  'redis-guard': ['guard.int.test.ts'],
  session: [
    'router.test.ts',
    'http-errors.test.ts',
    'sessions.int.test.ts',
    'cookie-csrf.int.test.ts',
    'login-limiter.int.test.ts',
    'step-up.int.test.ts',
    'hostile-input.int.test.ts',
    'refusals.int.test.ts',
    'session-data.int.test.ts',
  ],
  'rate-limit': [
    'middleware.test.ts',
    'login.test.ts',
    'outage.test.ts',
    'refusals.int.test.ts',
    'upgrade.int.test.ts',
  ],
  health: ['health.test.ts', 'redis.int.test.ts', 'metrics.int.test.ts'],
  'cache-crypto': ['middleware.int.test.ts', 'refusals.int.test.ts'],
};
const tests = Object.entries(HTTP_TESTS).flatMap(([name, files]) =>
  files.map((file) => join(packages, name, 'test', file)),
);

/** @type {import('jest').Config} */
module.exports = {
  preset: '@sec/testing',
  roots: ['<rootDir>/test', ...Object.keys(HTTP_TESTS).map((name) => join(packages, name, 'test'))],
  testMatch: ['<rootDir>/test/**/*.test.ts', ...tests],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    '^express$': require.resolve('express4'),
  },
};
