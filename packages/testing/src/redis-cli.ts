import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CliTarget {
  readonly port: number;
  readonly password?: string | undefined;
}

/**
 * Runs redis-cli against a harness server. The password travels in REDISCLI_AUTH, never in argv,
 * so it does not show up in the process list.
 * @example await redisCli({ port }, 'CLUSTER', 'INFO');
 */
export async function redisCli(target: CliTarget, ...args: string[]): Promise<string> {
  const env = { ...process.env };
  if (target.password !== undefined) env.REDISCLI_AUTH = target.password;
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(target.port), ...args], {
    env,
    timeout: 60_000,
  });
  return stdout;
}

/** Polls `check` until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
