import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import {
  ConfigurationError,
  detectEnvironment,
  type Environment,
  isStrictEnvironment,
} from '@sec/redis-guard';
import { DEFAULT_DEMO_USERS } from './users.js';

export type StoreMode = 'redis' | 'memory';

export interface DemoSettings {
  readonly environment: Environment;
  readonly workers: number;
  /** Address the workers listen on; loopback unless HOST says otherwise. */
  readonly host: string;
  readonly port: number;
  readonly store: StoreMode;
  readonly users: string;
  readonly sessionSecret: string;
  readonly encryptionKey: string;
  readonly rateLimitPoints: number;
  readonly rateLimitWindowMs: number;
}

export const DEFAULT_WORKERS = 4;
export const DEFAULT_PORT = 3000;
/** Loopback only: exposing the demo (default users, generated secrets) to a network is a choice. */
export const DEFAULT_HOST = '127.0.0.1';
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;
export const DEFAULT_RATE_LIMIT_POINTS = 100;
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 60_000;
const MIN_SESSION_SECRET = 32;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(
      'ERR_SEC_DEMO_SETTING_INVALID',
      `${name}="${raw}" must be a whole number from ${min} to ${max}.`,
      name,
    );
  }
  return value;
}

/** RATE_LIMIT_WINDOW_MS: whole seconds, as the limiters count them (up to a day). */
function windowMs(env: NodeJS.ProcessEnv): number {
  const value = integer(env, 'RATE_LIMIT_WINDOW_MS', DEFAULT_RATE_LIMIT_WINDOW_MS, 1_000, 86_400_000);
  if (value % 1_000 !== 0) {
    throw new ConfigurationError(
      'ERR_SEC_DEMO_SETTING_INVALID',
      `RATE_LIMIT_WINDOW_MS="${value}" must be whole seconds (a multiple of 1000).`,
      'RATE_LIMIT_WINDOW_MS',
    );
  }
  return value;
}

function required(
  env: NodeJS.ProcessEnv,
  name: string,
  environment: Environment,
  hint: string,
): string | undefined {
  const value = env[name];
  if (!value && isStrictEnvironment(environment)) {
    throw new ConfigurationError(
      'ERR_SEC_DEMO_SETTING_MISSING',
      `${name} is required in ${environment}. ${hint}`,
      name,
    );
  }
  return value || undefined;
}

/** HOST: an IP address (`0.0.0.0` or `::` for every interface) or a host name. */
function host(env: NodeJS.ProcessEnv): string {
  const raw = env.HOST;
  if (raw === undefined || raw === '') return DEFAULT_HOST;
  if (isIP(raw) || (raw.length <= 253 && HOSTNAME.test(raw))) return raw;
  throw new ConfigurationError(
    'ERR_SEC_DEMO_SETTING_INVALID',
    `HOST="${raw.slice(0, 80)}" is not an IP address or host name. Set HOST=127.0.0.1 (default) or HOST=0.0.0.0 to listen on every interface.`,
    'HOST',
  );
}

/** `--store memory` from the command line or STORE=memory. */
export function storeFrom(argv: readonly string[], env: NodeJS.ProcessEnv): StoreMode {
  const index = argv.indexOf('--store');
  const value = index === -1 ? env.STORE : argv[index + 1];
  if (value === undefined || value === 'redis') return 'redis';
  if (value === 'memory') return 'memory';
  throw new ConfigurationError(
    'ERR_SEC_DEMO_SETTING_INVALID',
    `--store must be redis or memory, got "${value}".`,
    'STORE',
  );
}

/**
 * Reads and checks the demo's settings once, in the primary. In development the secrets workers must
 * share are generated here and handed to every worker; production must provide them.
 * @example const settings = readSettings(process.argv, process.env);
 */
export function readSettings(argv: readonly string[], env: NodeJS.ProcessEnv): DemoSettings {
  const environment = detectEnvironment(env).name;
  const store = storeFrom(argv, env);
  if (store === 'memory' && isStrictEnvironment(environment)) {
    throw new ConfigurationError(
      'ERR_SEC_MEMORY_MODE_IN_PRODUCTION',
      `--store memory is refused in ${environment}: revocation would not reach the other workers.`,
      'STORE',
    );
  }
  const users = required(
    env,
    'DEMO_USERS',
    environment,
    'Set DEMO_USERS=name:password:role,... (no default users in production).',
  );
  const sessionSecret = required(
    env,
    'SESSION_SECRET',
    environment,
    'Generate one: npx sec-redis gen-password --env production.',
  );
  if (sessionSecret !== undefined && sessionSecret.length < MIN_SESSION_SECRET) {
    throw new ConfigurationError(
      'ERR_SEC_DEMO_SETTING_INVALID',
      `SESSION_SECRET has ${sessionSecret.length} characters; at least ${MIN_SESSION_SECRET} are required for HS256.`,
      'SESSION_SECRET',
    );
  }
  const encryptionKey = required(
    env,
    'REDIS_ENCRYPTION_KEY',
    environment,
    'Generate one: npx sec-redis gen-key.',
  );
  return {
    environment,
    workers: integer(env, 'WORKERS', DEFAULT_WORKERS, 1, 64),
    host: host(env),
    port: integer(env, 'PORT', DEFAULT_PORT, 0, 65_535),
    store,
    users: users ?? DEFAULT_DEMO_USERS,
    // Generated once by the primary and passed to every worker: tokens signed by one must verify on all.
    sessionSecret: sessionSecret ?? randomBytes(48).toString('base64url'),
    encryptionKey: encryptionKey ?? `${randomBytes(32).toString('base64url')}=`,
    rateLimitPoints: integer(env, 'RATE_LIMIT_POINTS', DEFAULT_RATE_LIMIT_POINTS, 1, 1_000_000_000),
    rateLimitWindowMs: windowMs(env),
  };
}

/** The environment a worker gets: the settings as variables, so every worker sees the same. */
export function workerEnv(
  settings: DemoSettings,
  workerId: number,
  redisEnv: NodeJS.ProcessEnv,
): NodeJS.ProcessEnv {
  return {
    ...redisEnv,
    WORKER_ID: String(workerId),
    STORE: settings.store,
    DEMO_USERS: settings.users,
    SESSION_SECRET: settings.sessionSecret,
    REDIS_ENCRYPTION_KEY: settings.encryptionKey,
    RATE_LIMIT_POINTS: String(settings.rateLimitPoints),
    RATE_LIMIT_WINDOW_MS: String(settings.rateLimitWindowMs),
    HOST: settings.host,
    PORT: String(settings.port),
  };
}
