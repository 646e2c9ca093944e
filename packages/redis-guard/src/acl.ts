import { auditKeys } from './audit-keys.js';
import { APPEND_SCRIPT } from './audit-script.js';
import { OptionError } from './errors.js';
import { DEFAULT_KEY_PREFIX, keyPrefixOption } from './key-prefix.js';
import { checkOptions } from './options.js';

/**
 * What one package sends to Redis: the commands (including those its Lua scripts call, which Redis
 * checks against the same ACL user), the key prefixes it writes under and the Pub/Sub channels it
 * uses. Each package that talks to Redis exports a `redisAccess()` returning one; `aclRule()`
 * turns a list of them into the least-privilege ACL rule.
 * @example const access: RedisAccess = { name: 'my-queue', commands: ['lpush', 'brpop'], keyPrefixes: ['jobs:'], channels: [] };
 */
export interface RedisAccess {
  /** Who needs it, for the printed rule's comment. */
  readonly name: string;
  /** ACL command names, lower case; a subcommand as `container|sub` (`acl|whoami`). */
  readonly commands: readonly string[];
  /** Literal key prefixes; each becomes `~<prefix>*` with glob characters escaped. */
  readonly keyPrefixes: readonly string[];
  /** Literal channel names; each becomes `&<channel>`. */
  readonly channels: readonly string[];
}

export interface GuardAccessOptions {
  /** Include what the start-up posture audit reads with (ACL WHOAMI, ACL DRYRUN); default true. */
  readonly audit?: boolean;
  /** A Redis Cluster client: CLUSTER SLOTS to learn the slot map, ASKING during resharding. */
  readonly cluster?: boolean;
  /** The connection selects a database other than 0 (`redis://host/2`). */
  readonly select?: boolean;
  /**
   * The app writes or reads the audit trail (createAuditTrail, createAuditReader,
   * `sec-redis audit`): its script and stream commands on the `<keyPrefix>{audit}:` keys.
   */
  readonly auditTrail?: boolean;
  /** The guard's `keyPrefix`, which the audit trail's keys start with; default 'sec:'. */
  readonly keyPrefix?: string;
}

/**
 * What the audit trail sends: its append script (EVALSHA, EVAL after a cache flush, and what the
 * script calls), the readers' XREAD / XRANGE / XREVRANGE, the head's GET, and the name a reader
 * gives its own connection.
 */
function auditTrailCommands(): string[] {
  return [
    'evalsha',
    'eval',
    ...scriptCommands(APPEND_SCRIPT.source),
    'xread',
    'xrange',
    'xrevrange',
    'get',
    'client|setname',
  ];
}

/**
 * Key prefix of the round trip `sec-redis check` makes with the app's credentials.
 */
export const CHECK_KEY_PREFIX = 'sec-redis:check:';

/**
 * What @sec/redis-guard itself sends: PING (the breaker's probe, `ready()`, health checks), INFO
 * (ioredis's ready check on every connection, its Sentinel role check, and the posture audit),
 * SET/GET/DEL under `sec-redis:check:` (`sec-redis check`), and for the posture audit ACL WHOAMI
 * and ACL DRYRUN (which only tells whether a user may run a command; nothing is run); with
 * `auditTrail`, what the audit trail sends on its keys. Clients the
 * guard builds do not send CLIENT SETINFO, which Redis 7.0 does not know and 7.2 would deny.
 * @example
 * import { redisAccess as sessionAccess } from '@sec/session';
 * const rule = aclRule([redisAccess({ cluster: true }), sessionAccess()]);
 */
export function redisAccess(options: GuardAccessOptions = {}): RedisAccess {
  checkOptions('redisAccess', options, {
    audit: 'boolean',
    cluster: 'boolean',
    select: 'boolean',
    auditTrail: 'boolean',
    keyPrefix: keyPrefixOption,
  });
  const trail = options.auditTrail === true;
  return {
    name: '@sec/redis-guard',
    commands: [
      'ping',
      'info',
      'set',
      'get',
      'del',
      ...(options.audit === false ? [] : ['acl|whoami', 'acl|dryrun']),
      ...(options.cluster ? ['cluster|slots', 'asking'] : []),
      ...(options.select ? ['select'] : []),
      ...(trail ? auditTrailCommands() : []),
    ].filter((command, index, all) => all.indexOf(command) === index),
    keyPrefixes: [
      CHECK_KEY_PREFIX,
      ...(trail ? [auditKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX).prefix] : []),
    ],
    channels: [],
  };
}

const GLOB = /[*?[\]\\]/g;
const COMMAND = /^[a-z][a-z0-9_-]*(\|[a-z][a-z0-9_-]*)?$/;

function literal(kind: string, value: string, owner: string): string {
  if (typeof value !== 'string' || value === '' || /[\s"']/.test(value)) {
    throw new OptionError(
      kind,
      `aclRule(): ${owner} has ${kind} ${JSON.stringify(value)}; it must be a non-empty string without whitespace or quotes`,
    );
  }
  return value.replace(GLOB, (c) => `\\${c}`);
}

/**
 * The ACL rule (the part after the user's name and password) that grants exactly what the given
 * packages need: every other command, key and channel is denied. `resetkeys resetchannels -@all`
 * first, so applying it to an existing user with `ACL SETUSER` also takes away what it had.
 * @example
 * import { aclRule, redisAccess } from '@sec/redis-guard';
 * import { redisAccess as sessionAccess } from '@sec/session';
 * const rule = aclRule([redisAccess(), sessionAccess()]);
 * // ACL SETUSER app reset on >password <rule>
 */
export function aclRule(accesses: readonly RedisAccess[]): string {
  const commands = new Set<string>();
  const keys = new Set<string>();
  const channels = new Set<string>();
  for (const access of accesses) {
    for (const command of access.commands) {
      if (!COMMAND.test(command)) {
        throw new OptionError(
          'commands',
          `aclRule(): ${access.name} lists command ${JSON.stringify(command)}; use lower-case ACL names such as "get" or "acl|whoami"`,
        );
      }
      commands.add(command);
    }
    for (const prefix of access.keyPrefixes) keys.add(`~${literal('keyPrefixes', prefix, access.name)}*`);
    for (const channel of access.channels) channels.add(`&${literal('channels', channel, access.name)}`);
  }
  return [
    'resetkeys',
    'resetchannels',
    '-@all',
    ...[...commands].sort().map((c) => `+${c}`),
    ...[...keys].sort(),
    ...[...channels].sort(),
  ].join(' ');
}

/**
 * The commands a Lua script calls (`redis.call('HSET', …)`), lower case: Redis checks each one
 * against the ACL user that runs the script, so a package's access lists them too.
 */
export function scriptCommands(...sources: readonly string[]): string[] {
  const found = new Set<string>();
  for (const source of sources) {
    for (const match of source.matchAll(/redis\.p?call\(\s*['"]([A-Za-z]+)['"]/g)) {
      found.add(match[1]!.toLowerCase());
    }
  }
  return [...found].sort();
}
