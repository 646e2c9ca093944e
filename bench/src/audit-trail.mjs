// Audit trail append throughput: entries per second through createAuditTrail (one Lua script per
// entry: SHA-256 in Lua, GET/SET of the head, XADD MAXLEN ~), against plain XADD of the same fields
// on the same server, in one run. On Redis Cluster the trail lives in one slot, so one node's
// figure is the cluster's.
//   node src/audit-trail.mjs   (after `pnpm build`)
import { createAuditTrail } from '@sec/redis-guard/audit';
import { startGuardedRedis } from './guarded-redis.mjs';
import { describeMachine } from './machine.mjs';

const ENTRIES = 20_000;
const IN_FLIGHT = 100;

async function rate(work) {
  const started = performance.now();
  for (let done = 0; done < ENTRIES; done += IN_FLIGHT) {
    await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => work(done + i)));
  }
  return ENTRIES / ((performance.now() - started) / 1000);
}

const { server, guard, raw } = await startGuardedRedis();
try {
  await guard.ready();
  const trail = createAuditTrail(guard);
  const event = (i) => ({ type: 'breaker.transition', name: `bench-${i}`, from: 'closed', to: 'open' });
  // Warm the script cache and the connection.
  await rate((i) => trail.append(event(i), { user: `user-${i % 100}` }));
  const plain = await rate((i) =>
    raw.xadd(
      'bench:plain',
      'MAXLEN',
      '~',
      '100000',
      '*',
      'type',
      'breaker.transition',
      'user',
      `user-${i % 100}`,
      'data',
      JSON.stringify(event(i)),
    ),
  );
  const audited = await rate((i) => trail.append(event(i), { user: `user-${i % 100}` }));
  const stats = await raw.info('commandstats');
  const usPerScript = /cmdstat_evalsha:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/.exec(stats)?.[1];
  console.log(describeMachine());
  console.table([
    { what: 'plain XADD', 'entries/s': Math.round(plain) },
    { what: 'audit trail append', 'entries/s': Math.round(audited), 'server µs/entry': usPerScript },
  ]);
  console.log(`audit append / plain XADD: ${(audited / plain).toFixed(2)}`);
  await trail.close();
} finally {
  raw.disconnect();
  await guard.close();
  await server.stop();
}
