import { randomBytes } from 'node:crypto';
import { redisCli } from './redis-cli.js';
import { type RedisServer, startRedis } from './redis-server.js';

/** A harness server with a user who may touch no key and no channel outside one prefix. */
export interface ConfinedRedis {
  readonly server: RedisServer;
  /** That user's connection settings, as `createRedisGuard({ config })` takes them. */
  readonly config: { readonly url: string; readonly username: string; readonly password: string };
  /** Every key on the server, sorted (read as the unconfined default user). */
  keys(): Promise<string[]>;
}

/**
 * Starts a redis-server whose user `confined` may run any command on keys and channels under
 * `prefix` only: a package that steps outside the guard's `keyPrefix` gets NOPERM.
 * @example const { server, config } = await startConfinedRedis('sec:shop:');
 */
export async function startConfinedRedis(prefix: string): Promise<ConfinedRedis> {
  const password = randomBytes(24).toString('base64url');
  const server = await startRedis({
    users: [{ name: 'confined', password, rules: `resetkeys ~${prefix}* resetchannels &${prefix}* +@all` }],
  });
  return {
    server,
    config: { url: server.url, username: 'confined', password },
    keys: async () => (await redisCli(server, '--scan')).split('\n').filter(Boolean).sort(),
  };
}
