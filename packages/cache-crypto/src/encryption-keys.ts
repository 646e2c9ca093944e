import { ConfigurationError, type Environment, isStrictEnvironment, type Logger } from '@sec/redis-guard';
import { CacheCryptoErrorCode, invalidKeyError } from './errors.js';
import { Fernet } from './fernet.js';

/**
 * The variable the cache reads its keys from: one key, or several newest first, comma-separated.
 */
export const ENCRYPTION_KEY_VARIABLE = 'REDIS_ENCRYPTION_KEY';

export interface ResolvedKeys {
  /** Newest first; the first encrypts. */
  readonly fernets: readonly Fernet[];
  /** The key strings, so loggers can mask them. */
  readonly secrets: readonly string[];
}

function importKey(key: unknown, source: string): Fernet {
  try {
    return new Fernet(key as string);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    throw new ConfigurationError(error.code, `${source}: ${error.message}`, source);
  }
}

/**
 * The cache's keys: from the `keys` option when given, else from REDIS_ENCRYPTION_KEY. A missing
 * key stops start-up in production and staging; development and test get a random per-process key
 * (entries do not survive a restart, which for a cache only costs misses) and a warning.
 */
export function resolveKeys(
  keys: string | readonly string[] | undefined,
  env: NodeJS.ProcessEnv,
  environment: Environment,
  logger: Logger,
): ResolvedKeys {
  if (keys !== undefined) {
    const list = typeof keys === 'string' ? [keys] : [...keys];
    if (list.length === 0) throw invalidKeyError('list is empty: pass at least one key in `keys`', 'keys');
    return { fernets: list.map((k, i) => importKey(k, `keys[${i}]`)), secrets: list.map(String) };
  }
  const raw = env[ENCRYPTION_KEY_VARIABLE]?.trim();
  if (raw) {
    const list = raw.split(',').map((k) => k.trim());
    return { fernets: list.map((k) => importKey(k, ENCRYPTION_KEY_VARIABLE)), secrets: list };
  }
  if (isStrictEnvironment(environment)) {
    throw new ConfigurationError(
      CacheCryptoErrorCode.KeyMissing,
      `${ENCRYPTION_KEY_VARIABLE} is not set: in ${environment} every cached value must be encrypted with a ` +
        'key shared by all workers. Generate one with `sec-redis gen-key` and set it (several keys, newest ' +
        'first, separated by commas, during a rotation), or pass `keys`.',
      ENCRYPTION_KEY_VARIABLE,
    );
  }
  const key = Fernet.generateKey();
  logger.warn(
    { event: 'cache.ephemeral_key', environment },
    `${ENCRYPTION_KEY_VARIABLE} is not set: using a random key for this process (${environment} only). ` +
      'Cached entries are unreadable to other workers and after a restart. Production refuses to start like this.',
  );
  return { fernets: [new Fernet(key)], secrets: [key] };
}
