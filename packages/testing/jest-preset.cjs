// One jest setup for every package: ESM mode, because jose 6 ships ESM only and transforming
// node_modules would need a second transformer. Packages opt in with `"jest": {"preset": "@sec/testing"}`.
module.exports = {
  testEnvironment: 'node',
  // Workspace packages resolve to their TypeScript sources through the development-only "@sec/source"
  // export condition: tests need no build and never run a stale dist. Code spawned as a child
  // process with plain node still loads the built packages.
  testEnvironmentOptions: { customExportConditions: ['@sec/source', 'node', 'node-addons'] },
  extensionsToTreatAsEsm: ['.ts'],
  // Sources use NodeNext-style `./x.js` specifiers; map them back to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': [require.resolve('ts-jest'), { useESM: true }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // Integration tests start real redis-server processes; a slow shared CI core must not flake them.
  testTimeout: 30_000,
  // A failing assertion can skip a client's cleanup and leave ioredis reconnecting for ever; the run
  // must still end, and report the failure, rather than hang CI.
  forceExit: true,
  // Each package writes its counts for scripts/run-tests.mjs, which prints the suite total.
  reporters: ['default', require.resolve('./results-reporter.cjs')],
};
