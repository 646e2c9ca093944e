import { isProtectedClient, protectClient, type RedisClient } from './client.js';
import { readFlag } from './config.js';
import { type Environment, isStrictEnvironment } from './environment.js';
import { RedisGuardErrorCode as Code, ConfigurationError, type RedisGuardErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import { urlPasswordForms } from './redis-url.js';
import { LOCALHOST, MIN_PASSWORD_LENGTH } from './validate.js';

/** What the options of an app's own ioredis client reveal about its security. */
export interface ClientFacts {
  readonly topology: 'standalone' | 'sentinel' | 'cluster' | 'unknown';
  readonly hosts: readonly string[];
  /** A Unix socket: no network to protect. */
  readonly socket: boolean;
  readonly tls: boolean;
  readonly rejectUnauthorized: boolean | undefined;
  readonly minVersion: string | undefined;
  /** A TLS client certificate: the server may authenticate the client by it (tls-auth-clients). */
  readonly clientCertificate: boolean;
  readonly password: string | undefined;
  /** Sentinel only: whether the connections to the sentinels use TLS too. */
  readonly sentinelTls: boolean;
  /** Every credential found in the options, for masking. */
  readonly secrets: readonly string[];
}

/** One broken rule: `refuse` ones throw in production and staging; every one is logged elsewhere. */
export interface ClientFinding {
  readonly code: RedisGuardErrorCode;
  readonly message: string;
  readonly refuse: boolean;
}

type Options = Record<string, unknown>;

const record = (value: unknown): Options =>
  typeof value === 'object' && value !== null ? (value as Options) : {};
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

function tlsFacts(tls: unknown) {
  const on = tls === true || (typeof tls === 'object' && tls !== null);
  const settings = record(tls);
  return {
    tls: on,
    rejectUnauthorized:
      typeof settings.rejectUnauthorized === 'boolean' ? settings.rejectUnauthorized : undefined,
    minVersion: text(settings.minVersion),
    clientCertificate: on && settings.cert !== undefined && settings.key !== undefined,
  };
}

// A Cluster start-up node is { host, port }, a port number (on 127.0.0.1) or a redis:// URL.
function nodeHost(node: unknown): string {
  if (typeof node === 'number') return '127.0.0.1';
  if (typeof node === 'string') {
    const afterScheme = node.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
    const authority = afterScheme.slice(afterScheme.lastIndexOf('@') + 1).split(/[/?#]/)[0] ?? '';
    return /^\[/.test(authority) ? authority.slice(1, authority.indexOf(']')) : authority.split(':')[0]!;
  }
  return text(record(node).host) ?? '127.0.0.1';
}

/**
 * Reads what can be checked from a client's options, without touching the connection. Works on
 * clients from any copy of ioredis (no `instanceof`).
 */
export function clientFacts(client: RedisClient): ClientFacts {
  const raw = client as unknown as Options;
  const options = record(raw.options);
  const secretsOf = (...values: unknown[]) =>
    values.filter((v): v is string => typeof v === 'string' && v.length > 0);
  if (raw.isCluster === true) {
    const nodes = Array.isArray(raw.startupNodes) ? raw.startupNodes : [];
    const redisOptions = record(options.redisOptions);
    return {
      topology: 'cluster',
      hosts: nodes.map(nodeHost),
      socket: false,
      ...tlsFacts(redisOptions.tls),
      password: text(redisOptions.password),
      sentinelTls: false,
      secrets: [
        ...secretsOf(redisOptions.password),
        ...nodes.flatMap((n) =>
          typeof n === 'string' ? urlPasswordForms(n) : secretsOf(record(n).password),
        ),
      ],
    };
  }
  if (Object.keys(options).length === 0) {
    return {
      topology: 'unknown',
      hosts: [],
      socket: false,
      tls: false,
      rejectUnauthorized: undefined,
      minVersion: undefined,
      clientCertificate: false,
      password: undefined,
      sentinelTls: false,
      secrets: [],
    };
  }
  const sentinels = Array.isArray(options.sentinels) ? options.sentinels : [];
  const secrets = secretsOf(options.password, options.sentinelPassword);
  if (sentinels.length > 0) {
    return {
      topology: 'sentinel',
      hosts: sentinels.map(nodeHost),
      socket: false,
      ...tlsFacts(options.tls),
      password: text(options.password),
      sentinelTls: options.enableTLSForSentinelMode === true,
      secrets,
    };
  }
  return {
    topology: 'standalone',
    hosts: [text(options.path) ? 'localhost' : (text(options.host) ?? '127.0.0.1')],
    socket: text(options.path) !== undefined,
    ...tlsFacts(options.tls),
    password: text(options.password),
    sentinelTls: false,
    secrets,
  };
}

const SUBJECT = 'The ioredis client passed as `client`';

/**
 * The production rules of a configured Redis, applied to an app's own client as far as its
 * options show them. The same escape hatches apply (REDIS_INSECURE_ALLOW_PLAINTEXT,
 * REDIS_SINGLE_HOST), read from `env`.
 */
export function checkClient(
  facts: ClientFacts,
  environment: Environment,
  env: NodeJS.ProcessEnv,
): ClientFinding[] {
  const strict = isStrictEnvironment(environment);
  const findings: ClientFinding[] = [];
  const add = (code: RedisGuardErrorCode, refuse: boolean, message: string) =>
    findings.push({ code, refuse: strict && refuse, message });
  if (facts.topology === 'unknown') {
    add(
      Code.ClientUnverified,
      true,
      `${SUBJECT} has no readable ioredis options, so its TLS and password cannot be checked in ${environment}. ` +
        'Pass an ioredis Redis or Cluster instance, or let the guard build the client from REDIS_URL.',
    );
    return findings;
  }
  const remote = facts.hosts.some((host) => !LOCALHOST.test(host));
  if (!facts.tls && !facts.socket) {
    const allowed = readFlag(env, 'REDIS_INSECURE_ALLOW_PLAINTEXT') === true;
    if (strict || remote) {
      add(
        Code.PlaintextInProduction,
        !allowed,
        `${SUBJECT} connects without TLS${allowed ? ' (REDIS_INSECURE_ALLOW_PLAINTEXT=true)' : ''}: passwords and ` +
          `session data cross the network in plaintext. Give it \`tls: { ca, minVersion: 'TLSv1.3' }\` ` +
          `(${facts.topology === 'cluster' ? 'in redisOptions' : 'or a rediss:// URL'})` +
          (allowed ? '.' : ', or, on an isolated network only, set REDIS_INSECURE_ALLOW_PLAINTEXT=true.'),
      );
    }
  }
  if (facts.tls && facts.rejectUnauthorized === false) {
    add(
      Code.TlsVerifyDisabled,
      true,
      `${SUBJECT} has tls.rejectUnauthorized: false: it would accept any server's certificate. ` +
        'Remove it and pass the CA that signed the server certificate as tls.ca.',
    );
  }
  if (facts.tls && environment === 'production' && facts.minVersion !== 'TLSv1.3') {
    add(
      Code.TlsVersionTooLow,
      facts.minVersion !== undefined,
      facts.minVersion === undefined
        ? `${SUBJECT} does not set tls.minVersion, so it accepts TLS 1.2 where production requires 1.3. Set tls.minVersion: 'TLSv1.3'.`
        : `${SUBJECT} sets tls.minVersion ${facts.minVersion}; production requires TLSv1.3.`,
    );
  }
  if (facts.topology === 'sentinel' && facts.tls && !facts.sentinelTls) {
    add(
      Code.PlaintextInProduction,
      false,
      `${SUBJECT} talks to its sentinels without TLS (enableTLSForSentinelMode is off): the sentinel password and ` +
        'the master address cross the network in plaintext. Set enableTLSForSentinelMode: true and sentinelTLS.',
    );
  }
  const minimum = MIN_PASSWORD_LENGTH[environment];
  if (!facts.password) {
    // With a TLS client certificate the server may authenticate by it (tls-auth-clients yes),
    // which its options cannot show: warn instead of refusing.
    add(
      Code.PasswordMissing,
      !facts.clientCertificate,
      `${SUBJECT} has no password${facts.clientCertificate ? ' (it presents a TLS client certificate)' : ''}: ` +
        'anyone who reaches the port can read sessions and reset rate limits. ' +
        `Set its password option (at least ${Math.max(minimum, 12)} characters; sec-redis gen-password --env ${environment}).`,
    );
  } else if (facts.password && strict && facts.password.length < minimum) {
    add(
      Code.PasswordTooShort,
      true,
      `${SUBJECT} has a ${facts.password.length}-character password; ${environment} requires at least ${minimum}. ` +
        `Generate one with: sec-redis gen-password --env ${environment}.`,
    );
  }
  if (
    environment === 'production' &&
    facts.hosts.some((host) => LOCALHOST.test(host)) &&
    readFlag(env, 'REDIS_SINGLE_HOST') !== true
  ) {
    add(
      Code.LocalhostInProduction,
      true,
      `${SUBJECT} points at localhost in production: each host would get its own Redis, and revocation would not ` +
        'reach the other hosts. Point it at the shared Redis, or set REDIS_SINGLE_HOST=true for a single-host deployment.',
    );
  }
  return findings;
}

/**
 * Applies `checkClient`: throws the first refusal as a ConfigurationError (variable `client`);
 * returns what is left to log as warnings.
 */
export function enforceClientRules(
  facts: ClientFacts,
  environment: Environment,
  env: NodeJS.ProcessEnv,
): ClientFinding[] {
  const findings = checkClient(facts, environment, env);
  const refusal = findings.find((finding) => finding.refuse);
  if (refusal) throw new ConfigurationError(refusal.code, refusal.message, 'client');
  return findings;
}

/**
 * Takes an app's own client into a guard: checks it against the environment's rules (a client
 * made by createRedisClient was checked already), logs what is not refused with its code, and
 * masks it. Returns the secrets found in its options.
 */
export function adoptClient(
  client: RedisClient,
  environment: Environment,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): readonly string[] {
  const facts = clientFacts(client);
  if (!isProtectedClient(client)) {
    for (const finding of enforceClientRules(facts, environment, env)) {
      logger.warn({ event: 'redis.client.warning', code: finding.code, environment }, finding.message);
    }
  }
  const hosts = facts.hosts.join(',') || 'unknown';
  const description = `${facts.topology} ${facts.tls ? 'rediss' : 'redis'}://${hosts}`;
  protectClient(client, { description, logger, secrets: facts.secrets });
  return facts.secrets;
}
