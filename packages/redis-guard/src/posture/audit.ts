import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from '../client.js';
import { readFlag } from '../config.js';
import { ENVIRONMENTS } from '../environment.js';
import type { RedisGuard } from '../guard.js';
import { checkOptions, type OptionSchema, oneOf, positiveInteger } from '../options.js';
import { dangerousCommands } from './dangerous-commands.js';
import { eviction } from './eviction.js';
import { persistence } from './persistence.js';
import { type NodeReadings, readNode, type Topology } from './probe.js';
import { protectedMode } from './protected-mode.js';
import { replication } from './replication.js';
import type { RuleDefinition } from './rule.js';
import { tls } from './tls.js';
import {
  type PostureOptions,
  type PostureReport,
  type PostureResult,
  type PostureRule,
  type PostureStatus,
  STATUS_ORDER,
} from './types.js';

/**
 * Each question to the server is bounded by this.
 */
export const DEFAULT_POSTURE_TIMEOUT_MS = 2_000;

/** The rules, in report order. */
export const RULES: readonly RuleDefinition[] = [
  eviction,
  persistence,
  dangerousCommands,
  replication,
  tls,
  protectedMode,
];

/**
 * Every rule's name, in report order.
 */
export const POSTURE_RULES: readonly PostureRule[] = RULES.map((r) => r.rule);
const RULE_NAMES = POSTURE_RULES;

/** The options every posture entry point takes. */
export const POSTURE_OPTIONS: OptionSchema = {
  environment: oneOf(ENVIRONMENTS),
  env: 'object',
  accept: {
    kind: 'array',
    check: (value) => {
      const bad = (value as unknown[]).find((rule) => !RULE_NAMES.includes(rule as PostureRule));
      return bad === undefined
        ? undefined
        : `must list rules among ${RULE_NAMES.map((r) => `'${r}'`).join(', ')} (got ${JSON.stringify(bad)})`;
    },
  },
  timeoutMs: positiveInteger,
};

function topologyOf(client: RedisClient): Topology {
  if (client.isCluster) return 'cluster';
  return (client as Redis).options?.sentinels?.length ? 'sentinel' : 'standalone';
}

function addressOf(node: Redis): string {
  return `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`;
}

/** Every primary: ACLs and settings are per server, and a Cluster spreads the data over all of them. */
function nodesOf(client: RedisClient): Redis[] {
  return client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
}

function judge(
  definition: RuleDefinition,
  readings: NodeReadings,
  environment: PostureReport['environment'],
  accepted: ReadonlySet<PostureRule>,
): PostureResult {
  const verdict = definition.evaluate(readings);
  let status: PostureStatus = verdict.status === 'fail' ? definition.severity(environment) : verdict.status;
  let message = verdict.message;
  if (verdict.status === 'fail') {
    if (accepted.has(definition.rule)) {
      status = 'accepted';
      message = `Accepted with ${definition.override}=true: ${message}`;
    } else {
      message = `${message} To accept the risk instead, set ${definition.override}=true.`;
    }
  }
  return {
    rule: definition.rule,
    code: definition.code,
    status,
    setting: definition.setting,
    observed: verdict.observed,
    message,
    override: definition.override,
  };
}

const rank = (status: PostureStatus) => STATUS_ORDER.indexOf(status);

/** A Cluster's rule result: the worst over its primaries, naming the primaries it comes from. */
function merge(perNode: readonly { address: string; result: PostureResult }[]): PostureResult {
  const worst = perNode.reduce((a, b) => (rank(b.result.status) < rank(a.result.status) ? b : a));
  if (perNode.length === 1) return worst.result;
  const same = perNode.filter((n) => n.result.status === worst.result.status).map((n) => n.address);
  const observed = [...new Set(perNode.map((n) => n.result.observed).filter((o) => o !== undefined))];
  const where = same.length === perNode.length ? 'On every primary' : `On ${same.join(', ')}`;
  return {
    ...worst.result,
    observed:
      observed.length <= 1
        ? observed[0]
        : perNode.map((n) => `${n.address} ${n.result.observed ?? '?'}`).join('; '),
    message: `${where}: ${worst.result.message}`,
  };
}

function worstOf(results: readonly PostureResult[]): PostureStatus {
  return results.reduce<PostureStatus>(
    (worst, r) => (rank(r.status) < rank(worst) ? r.status : worst),
    'pass',
  );
}

/** The rules an operator accepted, from the option and the REDIS_ACCEPT_* variables (strict booleans). */
function acceptedRules(options: PostureOptions): Set<PostureRule> {
  const env = options.env ?? process.env;
  const accepted = new Set<PostureRule>(options.accept ?? []);
  for (const definition of RULES)
    if (readFlag(env, definition.override) === true) accepted.add(definition.rule);
  return accepted;
}

/**
 * Reads the Redis server's own settings (INFO, CONFIG GET, ACL WHOAMI, ACL DRYRUN) and judges
 * them: eviction policy, persistence, the app user's dangerous commands, replication, TLS and
 * protected mode. The questions go to the client directly, not through `guard.execute`: a server
 * that forbids one (a managed service, a least-privilege ACL user) makes that rule `unknown`,
 * never a failure, an open breaker or a permission-error log line. On a Cluster every primary is
 * read. Never rejects for the server's sake; an invalid option or `REDIS_ACCEPT_*` value throws.
 * @example
 * const report = await auditRedisPosture(guard);
 * for (const r of report.results) if (r.status !== 'pass') console.warn(r.code, r.message);
 */
export async function auditRedisPosture(
  guard: RedisGuard,
  options: PostureOptions = {},
): Promise<PostureReport> {
  checkOptions('auditRedisPosture', options, POSTURE_OPTIONS);
  const environment = options.environment ?? guard.environment;
  const accepted = acceptedRules(options);
  const checkedAt = new Date().toISOString();
  const client = guard.client;
  if (!client) return { environment, status: 'pass', user: undefined, checkedAt, results: [] };
  const topology = topologyOf(client);
  const timeoutMs = options.timeoutMs ?? DEFAULT_POSTURE_TIMEOUT_MS;
  const nodes = nodesOf(client);
  const readings = await Promise.all(
    nodes.map((node) => readNode(node, addressOf(node), topology, timeoutMs, guard.secrets())),
  );
  if (readings.length === 0) {
    // A Cluster client that has not fetched its slot map yet knows no primaries.
    const nobody = await readNode(client as Redis, 'cluster', topology, timeoutMs, guard.secrets());
    readings.push(nobody);
  }
  const results = RULES.map((definition) =>
    merge(readings.map((r) => ({ address: r.address, result: judge(definition, r, environment, accepted) }))),
  );
  const user = readings.find((r) => r.user.ok)?.user;
  return {
    environment,
    status: worstOf(results),
    user: user?.ok ? user.value : undefined,
    checkedAt,
    results,
  };
}
