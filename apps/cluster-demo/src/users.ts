import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
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

/**
 * scrypt in libuv's thread pool: a synchronous hash would block the worker's event loop for every
 * login attempt (and every other request with it).
 */
function hash(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 32, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/**
 * The demo's user directory, parsed from DEMO_USERS (`name:password:role[|role],...`). Passwords
 * are kept only as scrypt hashes and compared in constant time.
 * @example const users = await parseUsers(process.env.DEMO_USERS ?? DEFAULT_DEMO_USERS);
 */
export async function parseUsers(spec: string): Promise<UserDirectory> {
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
    users.set(username, { username, roles: roles.split('|'), salt, hash: await hash(password, salt) });
  }
  return new UserDirectory(users);
}

export class UserDirectory {
  // A fixed decoy keeps unknown usernames as slow as known ones (no user enumeration by timing).
  readonly #decoy = { salt: randomBytes(16), hash: randomBytes(32) };

  constructor(readonly users: ReadonlyMap<string, StoredUser>) {}

  /**
   * The user when the password matches, else undefined. Usernames are looked up exactly (no case
   * folding): this is the account identity the login limiter keys by.
   */
  async verify(username: unknown, password: unknown): Promise<DemoUser | undefined> {
    if (typeof username !== 'string' || typeof password !== 'string' || password.length > 1024)
      return undefined;
    const user = this.users.get(username);
    const target = user ?? this.#decoy;
    const ok = timingSafeEqual(await hash(password, target.salt), target.hash);
    return ok && user ? { username: user.username, roles: user.roles } : undefined;
  }

  has(username: string): boolean {
    return this.users.has(username);
  }

  /** Every username, in the order DEMO_USERS lists them. */
  usernames(): string[] {
    return [...this.users.keys()];
  }
}
