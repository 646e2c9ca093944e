import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { ConfigurationError } from '@sec/redis-guard';

export interface DemoUser {
  readonly username: string;
  readonly roles: readonly string[];
}

export const DEFAULT_DEMO_USERS =
  'alice:alice-password:user,bob:bob-password:user,admin:admin-password:admin';

interface StoredUser extends DemoUser {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const USERNAME = /^[a-z0-9_.-]{1,64}$/i;

function hash(password: string, salt: Buffer): Buffer {
  return scryptSync(password, salt, 32);
}

/**
 * The demo's user directory, parsed from DEMO_USERS (`name:password:role[|role],...`). Passwords
 * are kept only as scrypt hashes and compared in constant time.
 * @example const users = parseUsers(process.env.DEMO_USERS ?? DEFAULT_DEMO_USERS);
 */
export function parseUsers(spec: string): UserDirectory {
  const users = new Map<string, StoredUser>();
  for (const entry of spec
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [username, password, roles] = entry.split(':');
    if (!username || !USERNAME.test(username) || !password || !roles) {
      throw new ConfigurationError(
        'ERR_SEC_DEMO_USERS_INVALID',
        `DEMO_USERS entry "${username ?? ''}:…" is not name:password:role. Set DEMO_USERS like alice:s3cret:user,admin:s3cret2:admin.`,
        'DEMO_USERS',
      );
    }
    const salt = randomBytes(16);
    users.set(username, { username, roles: roles.split('|'), salt, hash: hash(password, salt) });
  }
  return new UserDirectory(users);
}

export class UserDirectory {
  // A fixed decoy keeps unknown usernames as slow as known ones (no user enumeration by timing).
  readonly #decoy = { salt: randomBytes(16), hash: randomBytes(32) };

  constructor(readonly users: ReadonlyMap<string, StoredUser>) {}

  /** The user when the password matches, else undefined. */
  verify(username: unknown, password: unknown): DemoUser | undefined {
    if (typeof username !== 'string' || typeof password !== 'string' || password.length > 1024)
      return undefined;
    const user = this.users.get(username);
    const target = user ?? this.#decoy;
    const ok = timingSafeEqual(hash(password, target.salt), target.hash);
    return ok && user ? { username: user.username, roles: user.roles } : undefined;
  }

  has(username: string): boolean {
    return this.users.has(username);
  }
}
