import type { NodeReadings } from './probe.js';
import { fail, pass, type RuleDefinition, unknown, warnEverywhere } from './rule.js';
import { PostureFindingCode as Finding } from './types.js';

/** Whether a failover can happen: Sentinel and Cluster exist for it; a standalone server with replicas may be promoted by hand. */
function replicasOf({ topology, info }: NodeReadings): string | undefined {
  if (topology !== 'standalone') return topology === 'sentinel' ? 'Sentinel' : 'Redis Cluster';
  const count = info.ok ? Number(info.value.get('connected_slaves') ?? 0) : 0;
  return count > 0 ? `${count} replica${count === 1 ? '' : 's'}` : undefined;
}

/**
 * min-replicas-to-write where a failover can happen. Replication is asynchronous: a write the
 * primary acknowledged can be lost if it fails over before a replica has it. The session store
 * WAITs for a replica after revocations and role changes (its replicaAcks, on by default under
 * Sentinel and Cluster), but new sessions, rate-limit counters and login blocks do not wait; with
 * min-replicas-to-write the primary refuses writes (NOREPLICAS, answered 503) while no replica is
 * in sync, which also stops a primary cut off from its replicas from taking writes that a
 * failover will discard. A warning: it trades availability for it.
 */
export const replication: RuleDefinition = {
  rule: 'replication',
  code: Finding.AsyncReplication,
  setting: 'min-replicas-to-write',
  override: 'REDIS_ACCEPT_ASYNC_REPLICATION',
  severity: warnEverywhere,
  evaluate(readings) {
    const { info, config, topology } = readings;
    if (topology === 'standalone' && !info.ok) {
      return unknown(
        info.reason,
        '`redis-cli INFO replication`: with connected_slaves above 0, CONFIG GET min-replicas-to-write must be 1 or more.',
      );
    }
    const replicas = replicasOf(readings);
    if (replicas === undefined) {
      return pass(
        'no replicas',
        'No replicas: there is nothing to fail over to, so no acknowledged write can be lost that way.',
      );
    }
    let minimum: number | undefined;
    if (config.ok) {
      const lag = Number(config.value.get('min-replicas-max-lag') ?? 0);
      minimum = lag > 0 ? Number(config.value.get('min-replicas-to-write') ?? 0) : 0;
    } else if (info.ok) {
      // INFO shows min_slaves_good_slaves only while min-replicas-to-write and its max lag are both set.
      minimum = info.value.has('min_slaves_good_slaves') ? 1 : 0;
    }
    if (minimum === undefined) {
      return unknown(
        config.ok ? 'no reading' : config.reason,
        'as an admin, CONFIG GET min-replicas-to-write must be 1 or more (and min-replicas-max-lag above 0).',
      );
    }
    if (minimum > 0) {
      return pass(
        `min-replicas-to-write ${config.ok ? config.value.get('min-replicas-to-write') : '>= 1'}`,
        `${replicas}, and the primary refuses writes (NOREPLICAS, answered 503) while too few replicas are in sync.`,
      );
    }
    return fail(
      'min-replicas-to-write 0',
      `${replicas}, and min-replicas-to-write is 0: a write the primary acknowledged is lost if it fails over ` +
        "before a replica has it. Revocations and role changes wait for a replica (the session store's " +
        'replicaAcks, WAIT), but new sessions, rate-limit counters and login blocks do not, so after a failover ' +
        "an attacker's counters can be back to zero. Set `min-replicas-to-write 1` and `min-replicas-max-lag 10` " +
        'on every primary: writes then answer 503 while no replica is in sync.',
    );
  },
};
