import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { aclRule, type RedisAccess, redisAccess } from './acl.js';
import { loadEnvFile } from './env-file.js';
import { RedisGuardErrorCode as Code, SecError } from './errors.js';
import { parseRedisUrl } from './redis-url.js';

export interface AclIo {
  readonly out: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Where the app's packages are looked up; default the working directory. */
  readonly cwd?: string;
}

export interface AclValues {
  readonly user?: string;
  readonly 'env-file'?: string;
  readonly packages?: string;
  readonly 'key-prefix'?: string;
  readonly 'session-channel'?: string;
  readonly 'cache-namespace'?: string[];
  readonly 'no-audit'?: boolean;
  readonly 'rule-only'?: boolean;
  readonly 'audit-trail'?: boolean;
}

/** The guard's `keyPrefix`, which every package's keys and channel start with. */
function keyPrefix(values: AclValues): object {
  return values['key-prefix'] === undefined ? {} : { keyPrefix: values['key-prefix'] };
}

/**
 * The @sec packages that talk to Redis, and how the command's flags map onto their naming
 * options. Each package describes its own commands and keys (its `redisAccess()`), next to the
 * code that sends them; this table only knows their names and naming flags.
 */
const PACKAGES: Readonly<Record<string, (values: AclValues) => object>> = {
  '@sec/session': (values) => ({
    ...keyPrefix(values),
    ...(values['session-channel'] !== undefined && {
      channel: values['session-channel'] === '' ? false : values['session-channel'],
    }),
  }),
  '@sec/rate-limit': keyPrefix,
  '@sec/cache-crypto': (values) => ({
    ...keyPrefix(values),
    ...(values['cache-namespace']?.length && { namespaces: values['cache-namespace'] }),
  }),
};

type AccessFactory = (options?: object) => RedisAccess;

function noPackages(message: string): SecError {
  return new SecError(Code.CliNoPackages, message);
}

/** The package's `redisAccess`, resolved from the app's directory; undefined when not installed there. */
async function load(name: string, cwd: string): Promise<AccessFactory | undefined> {
  let resolved: string;
  try {
    resolved = createRequire(join(cwd, 'package.json')).resolve(name);
  } catch {
    return undefined;
  }
  const module = (await import(pathToFileURL(resolved).href)) as {
    redisAccess?: AccessFactory;
    default?: { redisAccess?: AccessFactory };
  };
  const factory = module.redisAccess ?? module.default?.redisAccess;
  if (typeof factory !== 'function') {
    throw noPackages(
      `${name} (${resolved}) has no redisAccess(); upgrade it to a version that describes its Redis use.`,
    );
  }
  return factory;
}

function requested(values: AclValues): string[] | undefined {
  if (values.packages === undefined) return undefined;
  const names = values.packages
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
    .map((n) => (n.startsWith('@sec/') ? n : `@sec/${n}`));
  const unknown = names.filter((n) => !(n in PACKAGES));
  if (unknown.length > 0 || names.length === 0) {
    throw new SecError(
      Code.CliUsage,
      `--packages takes a comma-separated list of ${Object.keys(PACKAGES).join(', ')}${unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''}`,
    );
  }
  return names;
}

/** What the deployment's variables say about the connection: the ACL user, Cluster, a database other than 0. */
function connection(env: NodeJS.ProcessEnv): { user: string | undefined; cluster: boolean; select: boolean } {
  const url = env.REDIS_URL ? parseRedisUrl(env.REDIS_URL) : undefined;
  return {
    user: env.REDIS_USERNAME || url?.username || undefined,
    cluster: Boolean(env.REDIS_CLUSTER_NODES?.trim()),
    select: (url?.db ?? 0) !== 0,
  };
}

function describe(access: RedisAccess): string {
  const parts = [
    access.keyPrefixes.length > 0 && `keys ${access.keyPrefixes.map((p) => `${p}*`).join(', ')}`,
    access.channels.length > 0 && `channel ${access.channels.join(', ')}`,
  ].filter(Boolean);
  return `#   ${access.name}: ${access.commands.length} commands${parts.length > 0 ? `; ${parts.join('; ')}` : ''}\n`;
}

/**
 * `sec-redis acl`: the least-privilege ACL user for the @sec packages installed where it runs (or
 * those named with --packages), honouring their key prefixes and channel. Prints `ACL SETUSER`
 * and the matching redis.conf / ACL-file line. Returns the exit code.
 */
export async function runAcl(io: AclIo, values: AclValues): Promise<number> {
  const cwd = io.cwd ?? process.cwd();
  const env = values['env-file'] ? (await loadEnvFile(values['env-file'], io.env)).env : io.env;
  const names = requested(values) ?? Object.keys(PACKAGES);
  const accesses: RedisAccess[] = [];
  for (const name of names) {
    const factory = await load(name, cwd);
    if (factory) accesses.push(factory(PACKAGES[name]!(values)));
    else if (values.packages !== undefined) {
      throw noPackages(
        `${name} is not installed where sec-redis acl runs (${cwd}); run it in the app's directory.`,
      );
    }
  }
  if (accesses.length === 0) {
    throw noPackages(
      `none of ${names.join(', ')} is installed where sec-redis acl runs (${cwd}). Run it in the app's ` +
        'directory, or name the packages with --packages session,rate-limit,cache-crypto.',
    );
  }
  const link = connection(env);
  accesses.unshift(
    redisAccess({
      audit: values['no-audit'] !== true,
      cluster: link.cluster,
      select: link.select,
      auditTrail: values['audit-trail'] === true,
      ...(values['key-prefix'] !== undefined && { keyPrefix: values['key-prefix'] }),
    }),
  );
  const rule = aclRule(accesses);
  if (values['rule-only']) {
    io.out(`${rule}\n`);
    return 0;
  }
  const user = values.user ?? link.user ?? 'app';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(user)) {
    throw new SecError(
      Code.CliUsage,
      `--user must be 1-64 letters, digits, ".", "_" or "-", got ${JSON.stringify(user)}`,
    );
  }
  io.out(
    `# Least-privilege Redis ACL user "${user}" for ${accesses.map((a) => a.name).join(', ')}:\n` +
      accesses.map(describe).join('') +
      `# As an admin, with <password> replaced by the app's REDIS_PASSWORD${link.user ? '' : `, then set REDIS_USERNAME=${user}`}:\n` +
      `ACL SETUSER ${user} reset on ><password> ${rule}\n` +
      '# ACL SETUSER changes the running server only. Keep the user across restarts with the same line\n' +
      '# in the ACL file (then ACL SAVE) or in redis.conf (then CONFIG REWRITE):\n' +
      `user ${user} on ><password> ${rule}\n`,
  );
  return 0;
}
