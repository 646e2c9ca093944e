import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { redisCli, waitFor } from './redis-cli.js';
import type { RedisServer } from './redis-server.js';

/**
 * The replies with which a live Redis refuses writes: `NOREPLICAS` (min-replicas-to-write without
 * enough replicas), `OOM` (maxmemory reached under noeviction), `MISCONF` (the last RDB save
 * failed and stop-writes-on-bgsave-error is on).
 */
export type WriteRefusal = 'NOREPLICAS' | 'OOM' | 'MISCONF';

/**
 * Makes a running harness server refuse every write with `refusal` (reads keep working), through
 * CONFIG SET on the live server. Resolves with a function that restores normal service.
 * @example
 * const restore = await refuseWrites(redis, 'OOM');
 * await expect(client.set('k', 'v')).rejects.toThrow(/^OOM/);
 * await restore();
 */
export async function refuseWrites(server: RedisServer, refusal: WriteRefusal): Promise<() => Promise<void>> {
  const cli = (...args: string[]) =>
    redisCli(server, ...(server.tls ? ['--tls', '--cacert', server.tls.caFile] : []), ...args);
  const set = async (name: string, value: string) => {
    const answer = (await cli('CONFIG', 'SET', name, value)).trim();
    if (answer !== 'OK') throw new Error(`CONFIG SET ${name} ${value}: ${answer}`);
  };
  if (refusal === 'NOREPLICAS') {
    await set('min-replicas-to-write', '1');
    return () => set('min-replicas-to-write', '0');
  }
  if (refusal === 'OOM') {
    await set('maxmemory-policy', 'noeviction');
    await set('maxmemory', '1');
    return () => set('maxmemory', '0');
  }
  // MISCONF needs save points and a failed background save. `dir` is a protected config, so the
  // save is made to fail where it lands: a directory in the way of dump.rdb makes the final rename
  // fail (even for root).
  const obstacle = join(server.dir, 'dump.rdb');
  await mkdir(join(obstacle, 'in-the-way'), { recursive: true });
  await set('save', '3600 1');
  await set('stop-writes-on-bgsave-error', 'yes');
  await cli('BGSAVE');
  await waitFor('the background save to fail', async () =>
    (await cli('INFO', 'persistence')).includes('rdb_last_bgsave_status:err'),
  );
  return async () => {
    await set('stop-writes-on-bgsave-error', 'no');
    await set('save', '');
    await rm(obstacle, { recursive: true, force: true });
  };
}
