import type { HostPort, RedisConnectionConfig, TlsSettings, TlsVersion } from './config.js';
import { detectEnvironment, ENVIRONMENTS, type Environment } from './environment.js';
import { RedisGuardErrorCode as Code, ConfigurationError, type RedisGuardErrorCode } from './errors.js';
import { checkOptions, oneOf } from './options.js';
import { parseRedisUrl } from './redis-url.js';

/** Minimum password length by environment; development and test only warn below 12. */
export const MIN_PASSWORD_LENGTH: Readonly<Record<Environment, number>> = {
  production: 32,
  staging: 24,
  development: 12,
  test: 0,
};

export type RedisTopology = 'none' | 'standalone' | 'cluster' | 'sentinel';

/** The connection config after validation: one password, TLS resolved, hosts listed. */
export interface ResolvedRedisConfig {
  readonly topology: RedisTopology;
  readonly hosts: readonly HostPort[];
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** Undefined means plaintext. */
  readonly tls:
    | (TlsSettings & { readonly minVersion: TlsVersion; readonly rejectUnauthorized: boolean })
    | undefined;
  readonly source: RedisConnectionConfig;
}

export interface ValidationResult {
  readonly environment: Environment;
  readonly warnings: readonly string[];
  readonly config: ResolvedRedisConfig;
}

/** Loopback and wildcard addresses: a Redis only this host can share. */
export const LOCALHOST = /^(localhost|127(?:\.\d{1,3}){3}|::1|0\.0\.0\.0|::)$/i;

function fail(code: RedisGuardErrorCode, message: string, variable: string): never {
  throw new ConfigurationError(code, message, variable);
}

function resolveTopology(config: RedisConnectionConfig) {
  if (config.clusterNodes?.length) {
    return {
      topology: 'cluster' as const,
      hosts: config.clusterNodes,
      db: 0,
      username: undefined,
      password: undefined,
      tls: false,
    };
  }
  if (config.sentinels?.length) {
    if (!config.sentinelName) {
      fail(
        Code.UrlInvalid,
        'REDIS_SENTINELS is set but REDIS_SENTINEL_NAME is not. Set REDIS_SENTINEL_NAME to the master group name (e.g. mymaster).',
        'REDIS_SENTINEL_NAME',
      );
    }
    return {
      topology: 'sentinel' as const,
      hosts: config.sentinels,
      db: 0,
      username: undefined,
      password: undefined,
      tls: false,
    };
  }
  if (config.url) {
    const url = parseRedisUrl(config.url);
    return { topology: 'standalone' as const, hosts: [{ host: url.host, port: url.port }], ...url };
  }
  return {
    topology: 'none' as const,
    hosts: [],
    db: 0,
    username: undefined,
    password: undefined,
    tls: false,
  };
}

/**
 * Checks a Redis connection config against the rules of the environment and returns it resolved.
 * Throws a ConfigurationError (stable `code`, the variable to set, password masked) on the first
 * rule broken; development and test get warnings instead.
 * @example
 * const { config, warnings } = validateRedisConfig(configFromEnv(), { env: process.env });
 */
export function validateRedisConfig(
  config: RedisConnectionConfig,
  options: { readonly environment?: Environment; readonly env?: NodeJS.ProcessEnv } = {},
): ValidationResult {
  checkOptions('validateRedisConfig', options, { environment: oneOf(ENVIRONMENTS), env: 'object' });
  const detected = options.environment ? undefined : detectEnvironment(options.env ?? process.env);
  const environment = options.environment ?? detected!.name;
  const warnings: string[] = detected?.warning ? [detected.warning] : [];
  const strict = environment === 'production' || environment === 'staging';
  const target = resolveTopology(config);

  if (target.topology === 'none') {
    if (strict) {
      fail(
        Code.UrlMissing,
        `No Redis is configured in ${environment}. Without Redis, session revocation and rate limits do not work ` +
          'across workers. Set REDIS_URL=rediss://host:port (or REDIS_CLUSTER_NODES / REDIS_SENTINELS).',
        'REDIS_URL',
      );
    }
    return { environment, warnings, config: { ...target, tls: undefined, source: config } };
  }

  if (config.password !== undefined && target.password !== undefined && config.password !== target.password) {
    fail(
      Code.PasswordConflict,
      'REDIS_URL contains a password and REDIS_PASSWORD holds a different one. Keep one: remove the password from REDIS_URL or unset REDIS_PASSWORD.',
      'REDIS_PASSWORD',
    );
  }
  const password = config.password ?? target.password;
  const tlsOn = target.tls || config.tlsEnabled === true;
  const minVersion: TlsVersion =
    config.tls?.minVersion ?? (environment === 'production' ? 'TLSv1.3' : 'TLSv1.2');
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') {
    // From code, where the type is not enforced at run time: 'TLSv1.1' or 'tlsv1.3' must not pass.
    fail(
      Code.TlsVersionTooLow,
      `tls.minVersion "${String(minVersion)}" is not supported. Set it to 'TLSv1.2' or 'TLSv1.3'.`,
      'REDIS_TLS_MIN_VERSION',
    );
  }
  const rejectUnauthorized = config.tls?.rejectUnauthorized ?? true;
  const plaintextVariable = target.topology === 'standalone' ? 'REDIS_URL' : 'REDIS_TLS';

  if (strict) {
    if (!tlsOn && !config.insecureAllowPlaintext) {
      fail(
        Code.PlaintextInProduction,
        `Redis without TLS is refused in ${environment}: passwords and session data would cross the network in ` +
          `plaintext. Use a rediss:// URL${target.topology === 'standalone' ? '' : ' or set REDIS_TLS=true'}, or, ` +
          'on an isolated network only, set REDIS_INSECURE_ALLOW_PLAINTEXT=true.',
        plaintextVariable,
      );
    }
    if (!tlsOn) {
      warnings.push(
        `SECURITY WARNING: plaintext Redis in ${environment} because REDIS_INSECURE_ALLOW_PLAINTEXT=true. ` +
          'Credentials and session data travel unencrypted; use rediss:// as soon as possible.',
      );
    }
    const minimum = MIN_PASSWORD_LENGTH[environment];
    if (!password) {
      fail(
        Code.PasswordMissing,
        `Redis needs a password in ${environment}: without one, anyone who reaches the port can read sessions and ` +
          `reset rate limits. Set REDIS_PASSWORD (at least ${minimum} characters; sec-redis gen-password --env ${environment}).`,
        'REDIS_PASSWORD',
      );
    }
    if (password.length < minimum) {
      fail(
        Code.PasswordTooShort,
        `REDIS_PASSWORD has ${password.length} characters; ${environment} requires at least ${minimum}. ` +
          `Generate one with: sec-redis gen-password --env ${environment}.`,
        'REDIS_PASSWORD',
      );
    }
    if (
      environment === 'production' &&
      !config.singleHost &&
      target.hosts.some((h) => LOCALHOST.test(h.host))
    ) {
      fail(
        Code.LocalhostInProduction,
        'Redis points at localhost in production: each host would get its own Redis, and revocation would not reach ' +
          'the other hosts. Point REDIS_URL at the shared Redis, or set REDIS_SINGLE_HOST=true for a single-host deployment.',
        'REDIS_URL',
      );
    }
    if (tlsOn && !rejectUnauthorized) {
      fail(
        Code.TlsVerifyDisabled,
        `TLS certificate verification cannot be turned off in ${environment}: it would accept any server. ` +
          'Unset REDIS_TLS_REJECT_UNAUTHORIZED and set REDIS_TLS_CA_CERT to the CA that signed the server certificate.',
        'REDIS_TLS_REJECT_UNAUTHORIZED',
      );
    }
    if (tlsOn && environment === 'production' && minVersion !== 'TLSv1.3') {
      fail(
        Code.TlsVersionTooLow,
        `Production requires TLS 1.3; ${minVersion} was configured. Unset REDIS_TLS_MIN_VERSION or set it to TLSv1.3.`,
        'REDIS_TLS_MIN_VERSION',
      );
    }
  } else {
    if (!password) warnings.push(`Redis has no password (${environment}); production will refuse this.`);
    if (tlsOn && !rejectUnauthorized) {
      warnings.push(
        `TLS certificate verification is off (${environment}); production and staging refuse this.`,
      );
    }
    if (!tlsOn && target.hosts.some((h) => !LOCALHOST.test(h.host))) {
      warnings.push(
        `Plaintext Redis to a remote host (${environment}); production will refuse this without TLS.`,
      );
    }
  }

  return {
    environment,
    warnings,
    config: {
      topology: target.topology,
      hosts: target.hosts,
      db: target.db,
      username: config.username ?? target.username,
      password,
      tls: tlsOn ? { ...config.tls, minVersion, rejectUnauthorized } : undefined,
      source: config,
    },
  };
}
