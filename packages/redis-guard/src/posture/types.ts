import type { Environment } from '../environment.js';

/**
 * The server settings the posture audit judges, one rule each.
 * @example const accept: PostureRule[] = ['persistence'];
 */
export type PostureRule =
  | 'eviction'
  | 'persistence'
  | 'dangerous-commands'
  | 'replication'
  | 'tls'
  | 'protected-mode';

/**
 * - `pass`: the setting is safe.
 * - `warn`: unsafe; logged, start-up goes on.
 * - `refuse`: unsafe enough that production and staging do not start.
 * - `accepted`: unsafe, and the operator accepted it with the rule's override.
 * - `unknown`: the server would not tell (a managed service or an ACL forbids the command); the
 *   message says how to check by hand. Never a failure.
 * @example
 * for (const result of (await auditRedisPosture(guard)).results) {
 *   if (result.status === 'unknown') console.log(result.message);
 * }
 */
export type PostureStatus = 'pass' | 'warn' | 'refuse' | 'accepted' | 'unknown';

/** Worst first: a report's status is that of its worst result. */
export const STATUS_ORDER: readonly PostureStatus[] = ['refuse', 'warn', 'unknown', 'accepted', 'pass'];

/**
 * The code of each rule's findings, in `PostureResult.code` and the `redis.posture` log lines.
 * Reported, not thrown: only a refusal stops a start, and it is thrown with its own declared
 * error code (`RedisGuardErrorCode.EvictionPolicy`, the same string as the eviction finding's).
 */
export const PostureFindingCode = {
  EvictionPolicy: 'ERR_SEC_REDIS_EVICTION_POLICY',
  Persistence: 'ERR_SEC_REDIS_PERSISTENCE',
  DangerousCommands: 'ERR_SEC_REDIS_DANGEROUS_COMMANDS',
  AsyncReplication: 'ERR_SEC_REDIS_ASYNC_REPLICATION',
  TlsProtocols: 'ERR_SEC_REDIS_TLS_PROTOCOLS',
  ProtectedMode: 'ERR_SEC_REDIS_PROTECTED_MODE',
} as const;

export type PostureFindingCode = (typeof PostureFindingCode)[keyof typeof PostureFindingCode];

/**
 * One rule's verdict on one server (or, on a Cluster, the worst over its primaries).
 * @example
 * const eviction: PostureResult | undefined = (await auditRedisPosture(guard)).results.find((r) => r.rule === 'eviction');
 * if (eviction?.status === 'refuse') console.error(eviction.code, eviction.observed); // ERR_SEC_REDIS_EVICTION_POLICY allkeys-lru
 */
export interface PostureResult {
  readonly rule: PostureRule;
  /** Stable, one per rule; match on it (with `status`), not on the message. */
  readonly code: PostureFindingCode;
  readonly status: PostureStatus;
  /** The server setting the rule reads, as redis.conf names it. */
  readonly setting: string;
  /** What the server reported; undefined when it could not be read. */
  readonly observed: string | undefined;
  /** What is wrong, what it costs and the fix; or, when unknown, why and how to check by hand. */
  readonly message: string;
  /** The environment variable that accepts the risk, e.g. `REDIS_ACCEPT_EVICTION`. */
  readonly override: string;
}

/**
 * The audit of one guard's Redis.
 * @example const report = await auditRedisPosture(guard); if (report.status === 'refuse') process.exit(1);
 */
export interface PostureReport {
  /** The environment the results were judged for. */
  readonly environment: Environment;
  /** The worst result's status (`pass` when there is nothing to audit, as in memory mode). */
  readonly status: PostureStatus;
  /** The ACL user the guard is connected as (`ACL WHOAMI`), when the server tells. */
  readonly user: string | undefined;
  /** ISO 8601. */
  readonly checkedAt: string;
  /** One per rule, in a fixed order. */
  readonly results: readonly PostureResult[];
}

/**
 * @example await assertRedisPosture(guard, { accept: ['persistence'], timeoutMs: 3_000 });
 */
export interface PostureOptions {
  /** Judge for this environment; default the guard's. */
  readonly environment?: Environment;
  /** Where the `REDIS_ACCEPT_*` overrides are read; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Rules whose risk the operator accepts, as the matching `REDIS_ACCEPT_*=true` would. */
  readonly accept?: readonly PostureRule[];
  /** Bound on each question to the server; default 2000 ms. */
  readonly timeoutMs?: number;
}
