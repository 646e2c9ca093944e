import { readFileSync } from 'node:fs';
import { RedisGuardErrorCode as Code, ConfigurationError } from './errors.js';
import { maskText } from './mask.js';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface TlsSettings {
  /** PEM text of the CA that signed the server certificate (self-signed CAs allowed). */
  readonly ca?: string;
  /** PEM client certificate and key, for servers with `tls-auth-clients yes`. */
  readonly cert?: string;
  readonly key?: string;
  /** Certificate verification; may only be turned off in development and test. */
  readonly rejectUnauthorized?: boolean;
  readonly minVersion?: TlsVersion;
  readonly servername?: string;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Everything needed to connect, from code or from the environment (see `configFromEnv`). */
export interface RedisConnectionConfig {
  readonly url?: string;
  readonly password?: string;
  readonly username?: string;
  readonly tls?: TlsSettings;
  /** REDIS_TLS: use TLS for cluster nodes and sentinels (a `rediss://` URL implies it). */
  readonly tlsEnabled?: boolean;
  readonly clusterNodes?: readonly HostPort[];
  readonly sentinels?: readonly HostPort[];
  readonly sentinelName?: string;
  readonly sentinelPassword?: string;
  /** REDIS_INSECURE_ALLOW_PLAINTEXT: plaintext in production, with a loud warning on every start. */
  readonly insecureAllowPlaintext?: boolean;
  /** REDIS_SINGLE_HOST: a single-host deployment may point production at localhost. */
  readonly singleHost?: boolean;
  readonly connectTimeoutMs?: number;
  readonly commandTimeoutMs?: number;
  readonly keepAliveMs?: number;
}

export interface ParsedRedisUrl {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
}

export const DEFAULT_REDIS_PORT = 6379;

function urlError(url: string, problem: string, secrets: readonly string[]): ConfigurationError {
  return new ConfigurationError(
    Code.UrlInvalid,
    `REDIS_URL "${maskText(url, secrets)}" ${problem}. Set REDIS_URL to redis[s]://[user:password@]host:port[/db], ` +
      'e.g. rediss://redis.internal:6380.',
    'REDIS_URL',
  );
}

/**
 * Parses and checks a Redis URL; the error message never contains the password.
 * @example parseRedisUrl('rediss://:pw@redis.internal:6380/0').tls // true
 */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  let parsed: URL;
  const rawPassword = /^[a-z][a-z0-9+.-]*:\/\/[^:@/]*:([^@/]*)@/i.exec(url)?.[1];
  const secrets = rawPassword ? [rawPassword] : [];
  try {
    parsed = new URL(url);
  } catch {
    throw urlError(url, 'is not a valid URL', secrets);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw urlError(
      url,
      `has unknown scheme "${parsed.protocol.replace(/:$/, '')}" (expected redis or rediss)`,
      secrets,
    );
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw urlError(url, 'has no host', secrets);
  // URL drops an explicit default port for special schemes only; redis: is not special, so `port` is literal.
  const port = parsed.port === '' ? DEFAULT_REDIS_PORT : Number(parsed.port);
  const explicitPort = /^[a-z]+:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/]*):(\d+)/i.exec(url)?.[1];
  if (explicitPort !== undefined && (Number(explicitPort) < 1 || Number(explicitPort) > 65_535)) {
    throw urlError(url, `has port ${explicitPort} out of range 1-65535`, secrets);
  }
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0)
    throw urlError(url, `has database "${dbText}", which is not a number`, secrets);
  return {
    tls: parsed.protocol === 'rediss:',
    host,
    port,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db,
  };
}

/**
 * Reads a boolean variable strictly: true/1/yes or false/0/no, unset → undefined. Anything else is
 * a start-up error, because reading a typo as "false" could silently relax a security control.
 * @example readFlag(process.env, 'REDIS_SINGLE_HOST') // true | false | undefined
 */
export function readFlag(env: NodeJS.ProcessEnv, variable: string): boolean | undefined {
  const raw = env[variable]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true' || raw === '1' || raw === 'yes') return true;
  if (raw === 'false' || raw === '0' || raw === 'no') return false;
  throw new ConfigurationError(
    Code.InvalidFlag,
    `${variable}="${env[variable]}" is not a boolean. Set ${variable} to true or false.`,
    variable,
  );
}

function milliseconds(env: NodeJS.ProcessEnv, variable: string): number | undefined {
  const raw = env[variable]?.trim();
  if (!raw) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigurationError(
      Code.InvalidFlag,
      `${variable}="${raw}" must be a positive whole number of milliseconds.`,
      variable,
    );
  }
  return value;
}

function hostList(env: NodeJS.ProcessEnv, variable: string): HostPort[] | undefined {
  const raw = env[variable]?.trim();
  if (!raw) return undefined;
  return raw.split(',').map((entry) => {
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(entry.trim());
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) {
      throw new ConfigurationError(
        Code.UrlInvalid,
        `${variable} entry "${entry.trim()}" is not host:port. Set ${variable} to a comma-separated list, e.g. 10.0.0.1:6379,10.0.0.2:6379.`,
        variable,
      );
    }
    return { host: match[1]!, port };
  });
}

/**
 * Reads a PEM value that is either inline PEM text or a path to a PEM file.
 * @example readPem('REDIS_TLS_CA_CERT', '/etc/redis/ca.crt')
 */
export function readPem(variable: string, value: string): string {
  let text = value;
  if (!value.trimStart().startsWith('-----BEGIN')) {
    try {
      text = readFileSync(value, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigurationError(
        Code.TlsFileUnreadable,
        `${variable} points to "${value}", which cannot be read (${reason}). Set ${variable} to a readable PEM file.`,
        variable,
      );
    }
  }
  if (!/-----BEGIN [A-Z0-9 ]+-----[\s\S]+-----END [A-Z0-9 ]+-----/.test(text)) {
    throw new ConfigurationError(
      Code.TlsFileInvalid,
      `${variable} is not PEM (no -----BEGIN ...----- block). Set ${variable} to a PEM certificate or key file.`,
      variable,
    );
  }
  return text;
}

/**
 * Builds a connection config from REDIS_* variables. Reads certificate files now, so a bad path
 * fails at start-up rather than on the first request.
 * @example const config = configFromEnv(process.env);
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): RedisConnectionConfig {
  const pem = (variable: string) => {
    const value = env[variable]?.trim();
    return value ? readPem(variable, value) : undefined;
  };
  const ca = pem('REDIS_TLS_CA_CERT');
  const cert = pem('REDIS_TLS_CERT');
  const key = pem('REDIS_TLS_KEY');
  const rejectUnauthorized = readFlag(env, 'REDIS_TLS_REJECT_UNAUTHORIZED');
  const minVersion = env.REDIS_TLS_MIN_VERSION?.trim();
  if (minVersion && minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') {
    throw new ConfigurationError(
      Code.TlsVersionTooLow,
      `REDIS_TLS_MIN_VERSION="${minVersion}" is not supported. Set REDIS_TLS_MIN_VERSION to TLSv1.2 or TLSv1.3.`,
      'REDIS_TLS_MIN_VERSION',
    );
  }
  const tls: TlsSettings = {
    ...(ca && { ca }),
    ...(cert && { cert }),
    ...(key && { key }),
    ...(rejectUnauthorized !== undefined && { rejectUnauthorized }),
    ...(minVersion && { minVersion: minVersion as TlsVersion }),
    ...(env.REDIS_TLS_SERVERNAME && { servername: env.REDIS_TLS_SERVERNAME }),
  };
  const text = (variable: string) =>
    env[variable] === undefined || env[variable] === '' ? undefined : env[variable];
  const config: Record<string, unknown> = {
    url: text('REDIS_URL')?.trim(),
    password: text('REDIS_PASSWORD'),
    username: text('REDIS_USERNAME'),
    tls: Object.keys(tls).length > 0 ? tls : undefined,
    tlsEnabled: readFlag(env, 'REDIS_TLS'),
    clusterNodes: hostList(env, 'REDIS_CLUSTER_NODES'),
    sentinels: hostList(env, 'REDIS_SENTINELS'),
    sentinelName: text('REDIS_SENTINEL_NAME'),
    sentinelPassword: text('REDIS_SENTINEL_PASSWORD'),
    insecureAllowPlaintext: readFlag(env, 'REDIS_INSECURE_ALLOW_PLAINTEXT'),
    singleHost: readFlag(env, 'REDIS_SINGLE_HOST'),
    connectTimeoutMs: milliseconds(env, 'REDIS_CONNECT_TIMEOUT_MS'),
    commandTimeoutMs: milliseconds(env, 'REDIS_COMMAND_TIMEOUT_MS'),
  };
  return Object.fromEntries(
    Object.entries(config).filter(([, v]) => v !== undefined),
  ) as RedisConnectionConfig;
}

/** True when some Redis deployment is configured at all (URL, cluster or sentinels). */
export function hasRedisTarget(config: RedisConnectionConfig): boolean {
  return Boolean(config.url || config.clusterNodes?.length || config.sentinels?.length);
}
