import { packageBuild } from '../../scripts/tsup-package.js';

// The library entries, plus the CLI: ESM only (it uses top-level await, so nothing may require() it).
export default packageBuild(
  ['index', 'audit', 'internal'],
  [{ entry: ['src/cli.ts'], format: ['esm'], sourcemap: true, target: 'node20' }],
);
