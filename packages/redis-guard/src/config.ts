import { readFileSync } from 'node:fs';
import { RedisGuardErrorCode as Code, ConfigurationError } from './errors.js';

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

/**
 * Reads a boolean variable strictly: true/1/yes or false/0/no, unset → undefined. Anything else is
 * a start-up error, because reading a typo as "false" could silently relax a security control.
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
    // Host names, IPv4 or a bracketed IPv6 only: a pasted URL (with its password) is not a host.
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(entry.trim());
    const port = Number(match?.[3]);
    if (!match || port < 1 || port > 65_535) {
      // Echo only text that cannot be a pasted credential (a URL with a password, say).
      const shown = /^[\w.:[\]-]{1,100}$/.test(entry.trim()) ? ` "${entry.trim()}"` : '';
      throw new ConfigurationError(
        Code.UrlInvalid,
        `${variable} entry${shown} is not host:port. Set ${variable} to a comma-separated list, e.g. 10.0.0.1:6379,10.0.0.2:6379.`,
        variable,
      );
    }
    return { host: (match[1] ?? match[2])!, port };
  });
}

/**
 * Reads a PEM value that is either inline PEM text or a path to a PEM file.
 */
export function readPem(variable: string, value: string): string {
  let text = value;
  if (!value.trimStart().startsWith('-----BEGIN')) {
    try {
      text = readFileSync(value, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      // A mangled inline key (quotes, a lost header) lands here too: echo only what looks like a path.
      const looksLikePath =
        /^\S{1,200}$/.test(value) && !/PRIVATE|KEY-----/.test(value) && !/^[A-Za-z0-9+/=]{40,}$/.test(value);
      const shown = looksLikePath ? ` "${value}"` : ' to text';
      throw new ConfigurationError(
        Code.TlsFileUnreadable,
        `${variable} points${shown}, which is neither PEM text nor a readable file (${reason}). Set ${variable} to a readable PEM file or inline PEM.`,
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
