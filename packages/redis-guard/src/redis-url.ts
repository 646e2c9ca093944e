import { RedisGuardErrorCode as Code, ConfigurationError } from './errors.js';

export interface ParsedRedisUrl {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
}

const DEFAULT_REDIS_PORT = 6379;

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
// Schemes people paste by mistake; any other is not echoed, since it could be a pasted secret.
const NAMED_SCHEMES = new Set(['http', 'https', 'tcp', 'tls', 'unix', 'valkey', 'valkeys', 'redis-socket']);
// RFC 3986 userinfo: unreserved, sub-delims, ':' and %HH. Anything else (@ / ? # [ ] space, a lone
// %, non-ASCII) means the password was pasted without percent-encoding.
const USERINFO = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*$/;
const AUTHORITY = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+))(?::(\d*))?$/;
const USAGE =
  'Set REDIS_URL to redis[s]://[user:password@]host[:port][/db], e.g. rediss://redis.internal:6380';
const ENCODE_HINT =
  'Percent-encode the password in the URL (encodeURIComponent: / → %2F, @ → %40, # → %23, % → %25, ? → %3F), ' +
  'or leave it out of the URL and set REDIS_PASSWORD instead';

/**
 * The error echoes nothing of the URL but a recognised scheme: in a malformed URL nothing says
 * where the password ends, and a password with a raw `@` or `:` spills into the host and the port.
 */
function urlError(problem: string): ConfigurationError {
  return new ConfigurationError(Code.UrlInvalid, `REDIS_URL ${problem}. ${USAGE}.`, 'REDIS_URL');
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw urlError(`has user or password percent-encoding that is not UTF-8. ${ENCODE_HINT}`);
  }
}

/**
 * Parses and checks a Redis URL strictly: `redis[s]://[user[:password]@]host[:port][/db]` and
 * nothing else. The userinfo ends at the last `@`; it must be percent-encoded (a raw `/ ? # @ %`
 * is refused rather than guessed at, so a password can never be read as a host). Error messages
 * never contain any part of the userinfo.
 */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) throw urlError('is not a redis:// or rediss:// URL');
  if (scheme !== 'redis' && scheme !== 'rediss') {
    const named = NAMED_SCHEMES.has(scheme) ? ` "${scheme}"` : '';
    throw urlError(`has unknown scheme${named} (expected redis or rediss)`);
  }
  const rest = url.slice(scheme.length + 3);
  const at = rest.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : rest.slice(0, at);
  const afterUserinfo = rest.slice(at + 1);
  const slash = afterUserinfo.search(/[/?#]/);
  const authority = slash === -1 ? afterUserinfo : afterUserinfo.slice(0, slash);
  const tail = slash === -1 ? '' : afterUserinfo.slice(slash);
  const match = AUTHORITY.exec(authority);
  if (!match) {
    throw urlError('has no host, or an invalid one (letters, digits, ".", "-", "_", or an [IPv6] address)');
  }
  const host = (match[1] ?? match[2])!;
  const portText = match[3];
  const port = portText === undefined || portText === '' ? DEFAULT_REDIS_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw urlError('has a port out of range 1-65535');
  if (/[?#]/.test(tail)) {
    throw urlError(
      'has a query or fragment; only host, port and /db are read (set the other REDIS_* variables instead)',
    );
  }
  const db = /^(?:\/(\d{0,5}))?\/?$/.exec(tail);
  if (!db) throw urlError('has a database that is not a number (/0, /1, …)');
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    if (!USERINFO.test(userinfo)) {
      throw urlError(
        `has a user or password with a character that must be percent-encoded (one of @ / ? # % [ ], a space or a non-ASCII character). ${ENCODE_HINT}`,
      );
    }
    const colon = userinfo.indexOf(':');
    const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    const secret = colon === -1 ? '' : userinfo.slice(colon + 1);
    username = user ? decode(user) : undefined;
    password = secret ? decode(secret) : undefined;
  }
  return {
    tls: scheme === 'rediss',
    host,
    port,
    username,
    password,
    db: db[1] ? Number(db[1]) : 0,
  };
}

/**
 * The password of a Redis URL as written and as decoded, whether or not the URL is valid: what
 * masking must hide. Empty when the URL carries none.
 */
export function urlPasswordForms(url: string): string[] {
  const rest = url.replace(SCHEME, '');
  const userinfo = rest.slice(0, Math.max(rest.lastIndexOf('@'), 0));
  const colon = userinfo.indexOf(':');
  if (colon === -1) return [];
  const raw = userinfo.slice(colon + 1);
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // Not decodable: the raw form is what would be printed.
  }
  return [...new Set([raw, decoded])].filter((form) => form.length > 0);
}
