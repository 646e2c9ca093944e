import { inspect } from 'node:util';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { configFromEnv, type RedisConnectionConfig } from './config.js';
import { ENVIRONMENTS, type Environment } from './environment.js';
import { RedisGuardErrorCode as Code, ConfigurationError } from './errors.js';
import { createJsonLogger, type Logger, maskingLogger } from './logger.js';
import { redactUrl, scrubError } from './mask.js';
import { checkOptions, oneOf } from './options.js';
import { urlPasswordForms } from './redis-url.js';
import { type ResolvedRedisConfig, validateRedisConfig } from './validate.js';

/** A standalone, Sentinel-managed or Cluster client. */
export type RedisClient = Redis | Cluster;

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** ioredis's own default lets a command wait for ever; a request must never wait on Redis for long. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;
export const DEFAULT_KEEPALIVE_MS = 10_000;
/** A connection silent for this many command timeouts while a command waits is torn down. */
const SOCKET_TIMEOUT_FACTOR = 2;
/** Reconnect backoff cap: short, so service resumes within a couple of seconds of Redis returning. */
export const MAX_RECONNECT_DELAY_MS = 1_000;

export interface CreateRedisClientOptions {
  readonly environment?: Environment;
  /** Where environment variables come from (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  readonly logger?: Logger;
}

export interface SecureRedisClient {
  readonly client: RedisClient;
  readonly environment: Environment;
  readonly config: ResolvedRedisConfig;
  /** Password-free description, for logs. */
  readonly description: string;
  readonly secrets: readonly string[];
  readonly logger: Logger;
}

const CONFIG_KEYS = new Set([
  'url',
  'password',
  'username',
  'tls',
  'tlsEnabled',
  'clusterNodes',
  'sentinels',
  'sentinelName',
]);

function isConnectionConfig(value: object): value is RedisConnectionConfig {
  return Object.keys(value).some((key) => CONFIG_KEYS.has(key));
}

function describe(config: ResolvedRedisConfig): string {
  const scheme = config.tls ? 'rediss' : 'redis';
  const hosts = config.hosts.map((h) => `${h.host}:${h.port}`).join(',');
  return config.topology === 'standalone'
    ? redactUrl(`${scheme}://${hosts}/${config.db}`)
    : `${config.topology} ${scheme}://${hosts}`;
}

function baseOptions(config: ResolvedRedisConfig, source: RedisConnectionConfig): RedisOptions {
  const commandTimeout = source.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  return {
    ...(config.username !== undefined && { username: config.username }),
    ...(config.password !== undefined && { password: config.password }),
    ...(config.tls && {
      tls: {
        ...(config.tls.ca && { ca: config.tls.ca }),
        ...(config.tls.cert && { cert: config.tls.cert }),
        ...(config.tls.key && { key: config.tls.key }),
        ...(config.tls.servername && { servername: config.tls.servername }),
        rejectUnauthorized: config.tls.rejectUnauthorized,
        minVersion: config.tls.minVersion,
      },
    }),
    connectTimeout: source.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    commandTimeout,
    // A frozen server (a VM pause, a stuck disk) keeps its connections open, so a connection that
    // stops answering would stay 'ready' for ever. When no byte arrives for this long while a
    // command is pending, ioredis destroys the socket and reconnects (a Sentinel client asks the
    // sentinels again). It holds for every connection made from this client, duplicate() included.
    socketTimeout: SOCKET_TIMEOUT_FACTOR * commandTimeout,
    // Closing a connection waits this long for the server's FIN; a frozen server never sends it,
    // and each reconnect attempt that meets it (the handshake times out) would wait 2 s by default.
    disconnectTimeout: commandTimeout,
    keepAlive: source.keepAliveMs ?? DEFAULT_KEEPALIVE_MS,
    // Fail fast instead of parking requests in the offline queue (73 s to reject with defaults).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    // CLIENT SETINFO on every connect: Redis 7.0 does not know it, and on 7.2 a least-privilege ACL
    // user (sec-redis acl) is denied it, leaving an ACL LOG entry per connection.
    disableClientInfo: true,
    retryStrategy: (times: number) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
  };
}

function build(config: ResolvedRedisConfig, source: RedisConnectionConfig): RedisClient {
  const options = baseOptions(config, source);
  if (config.topology === 'cluster') {
    return new Cluster(
      config.hosts.map((h) => ({ host: h.host, port: h.port })),
      {
        redisOptions: options,
        // Not ready means no slot map: reject at once rather than park the command. A node that is
        // still connecting is handled by ioredis itself (a bounded retry, not the offline queue).
        enableOfflineQueue: false,
        // The auto-pipeline rejects a cross-slot command with a plain Error before Redis sees it,
        // which reads as an outage and would open the breaker for every route; without it the
        // server answers CROSSSLOT, a ReplyError the guard treats as the caller's bug.
        enableAutoPipelining: false,
        clusterRetryStrategy: (times: number) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
        // Managed services present TLS certificates for their DNS names, not for the node IPs.
        ...(config.tls && {
          dnsLookup: (address: string, callback: (err: null, address: string) => void) =>
            callback(null, address),
        }),
      },
    );
  }
  if (config.topology === 'sentinel') {
    return new Redis({
      ...options,
      sentinels: config.hosts.map((h) => ({ host: h.host, port: h.port })),
      name: source.sentinelName!,
      ...(source.sentinelPassword !== undefined && { sentinelPassword: source.sentinelPassword }),
      ...(config.tls && { enableTLSForSentinelMode: true, sentinelTLS: options.tls! }),
      sentinelRetryStrategy: (times: number) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
      // Without it a sentinel that accepts but never answers stalls every reconnect for ever,
      // instead of being skipped for the next one.
      sentinelCommandTimeout: source.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    });
  }
  const host = config.hosts[0]!;
  return new Redis({ ...options, host: host.host, port: host.port, db: config.db });
}

function secretsOf(config: ResolvedRedisConfig): string[] {
  const candidates = [
    config.password,
    config.source.sentinelPassword,
    config.source.password,
    // As written in REDIS_URL too: its percent-encoding may differ from encodeURIComponent's.
    ...(config.source.url ? urlPasswordForms(config.source.url) : []),
  ];
  return [...new Set(candidates.filter((s): s is string => typeof s === 'string' && s.length > 0))];
}

/**
 * Validates the configuration for the environment and builds a connected ioredis client whose
 * waits are bounded and whose errors, logs and `toString()` never contain the password.
 * Accepts a config object or an environment (`process.env` by default).
 * @example
 * const { client } = createRedisClient(process.env);
 * const { client: c2 } = createRedisClient({ url: 'rediss://redis.internal:6380', password: process.env.REDIS_PASSWORD });
 */
export function createRedisClient(
  source: RedisConnectionConfig | NodeJS.ProcessEnv = process.env,
  options: CreateRedisClientOptions = {},
): SecureRedisClient {
  checkOptions('createRedisClient', options, {
    environment: oneOf(ENVIRONMENTS),
    env: 'object',
    logger: 'object',
  });
  const env = options.env ?? (isConnectionConfig(source) ? process.env : (source as NodeJS.ProcessEnv));
  const connection = isConnectionConfig(source) ? source : configFromEnv(source as NodeJS.ProcessEnv);
  const validated = validateRedisConfig(connection, {
    ...(options.environment && { environment: options.environment }),
    env,
  });
  const { config, environment } = validated;
  const secrets = secretsOf(config);
  const logger = maskingLogger(options.logger ?? createJsonLogger({ name: 'redis-guard' }), () => secrets);
  for (const warning of validated.warnings)
    logger.warn({ event: 'redis.config.warning', environment }, warning);
  if (config.topology === 'none') {
    throw new ConfigurationError(
      Code.UrlMissing,
      'createRedisClient() needs a Redis to connect to. Set REDIS_URL (or REDIS_CLUSTER_NODES / REDIS_SENTINELS).',
      'REDIS_URL',
    );
  }
  const client = build(config, connection);
  const description = describe(config);
  protectClient(client, { description, logger, secrets });
  return { client, environment, config, description, secrets, logger };
}

// Clients this copy of the package has already validated and wrapped.
const protectedClients = new WeakSet<object>();

/** True for a client made by createRedisClient (validated against the environment's rules). */
export function isProtectedClient(client: RedisClient): boolean {
  return protectedClients.has(client);
}

/**
 * Makes a client safe to print and to leave running: `toString`/`toJSON`/`util.inspect` show a
 * password-free summary, and its 'error' events are logged once per outage, masked. Idempotent.
 */
export function protectClient(
  client: RedisClient,
  options: { readonly description: string; readonly logger: Logger; readonly secrets: readonly string[] },
): void {
  if (protectedClients.has(client)) return;
  protectedClients.add(client);
  hideSecrets(client, options.description);
  logErrorsOnce(client, options.logger, options.secrets, options.description);
}

/** `console.log(client)` would print its options, password included. */
function hideSecrets(client: RedisClient, description: string): void {
  const summary = () => `RedisClient<${description} status=${client.status}>`;
  for (const key of [inspect.custom, 'toString', 'toJSON']) {
    Object.defineProperty(client, key, { value: summary, enumerable: false, configurable: true });
  }
}

/**
 * ioredis emits 'error' on every reconnect attempt; without a listener that crashes the process,
 * and logging each one floods the logs. Log each distinct failure once per outage, scrubbed.
 */
function logErrorsOnce(
  client: RedisClient,
  logger: Logger,
  secrets: readonly string[],
  description: string,
): void {
  const seen = new Set<string>();
  const logOnce = (error: unknown, node?: string) => {
    const safe = scrubError(error, secrets);
    // Sentinel retries say "Retrying from scratch after 300ms": one outage, one line.
    const key = `${node ?? ''} ${safe.message.replace(/\d+ ?ms\b/g, 'N ms')}`;
    if (seen.has(key)) return;
    seen.add(key);
    const where = node === undefined ? '' : ` (node ${node})`;
    logger.error(
      { event: 'redis.error', redis: description, ...(node !== undefined && { node }), err: safe },
      `Redis error${where}: ${safe.message}`,
    );
  };
  client.on('error', (error: unknown) => logOnce(error));
  // A Cluster reports only "Failed to refresh slots cache." as 'error'; the cause (WRONGPASS, a TLS
  // failure, a refused connection) arrives per node.
  if (client instanceof Cluster)
    client.on('node error', (error: unknown, node: string) => logOnce(error, node));
  client.on('ready', () => {
    if (seen.size > 0) logger.info({ event: 'redis.ready', redis: description }, 'Redis connection restored');
    seen.clear();
  });
}
