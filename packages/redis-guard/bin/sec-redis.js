#!/usr/bin/env node
// A committed shim, so package managers can link the bin before `dist/` is built.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  // Only in a clone of the repository: a published package always ships dist/.
  process.stderr.write('sec-redis: @sec/redis-guard is not built yet. Run `pnpm build` first.\n');
  process.exit(1);
}
await import(cli.href);
