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

/**
 * Kills every connection of a harness server whose CLIENT SETNAME (ioredis `connectionName`) is
 * `name`, like a proxy or a failover dropping it; resolves with how many were killed.
 * @example await killClientsNamed({ port, password }, 'sec-audit-reader');
 */
export async function killClientsNamed(target: CliTarget, name: string): Promise<number> {
  const ids = (await redisCli(target, 'CLIENT', 'LIST'))
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  for (const id of ids) await redisCli(target, 'CLIENT', 'KILL', 'ID', id);
  return ids.length;
}
