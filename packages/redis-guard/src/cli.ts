import { runCli } from './cli-commands.js';

// `audit tail --follow` runs until interrupted; it then closes its connection and exits 0.
const interrupted = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => interrupted.abort());

process.exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  signal: interrupted.signal,
});
