import type { Redis } from 'ioredis';
import { maskText } from '../mask.js';
import { isTimeoutError, timeout } from '../outage.js';
import { DANGEROUS_COMMANDS } from './dangerous-commands.js';

/** A value the server told, or why it would not. */
export type Reading<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

/** What ACL DRYRUN says the user may do with a command. */
export type Permission = 'allowed' | 'denied' | 'absent';

export type Topology = 'standalone' | 'sentinel' | 'cluster';

/** Everything the rules judge, read from one server. */
export interface NodeReadings {
  /** host:port, to name a Cluster node in a message. */
  readonly address: string;
  readonly topology: Topology;
  /** ACL WHOAMI. */
  readonly user: Reading<string>;
  /** INFO (default sections), field → value. */
  readonly info: Reading<ReadonlyMap<string, string>>;
  /** CONFIG GET of the settings below, name → value. */
  readonly config: Reading<ReadonlyMap<string, string>>;
  /** ACL DRYRUN of each dangerous command, by its label ('FLUSHALL', 'CONFIG SET'). */
  readonly commands: Reading<ReadonlyMap<string, Permission>>;
  /** From ACL GETUSER default, when the user may read it: true when default is off or has a password. */
  readonly defaultUserLocked: boolean | undefined;
}

/** Only what the rules need; never requirepass or masterauth. */
export const CONFIG_SETTINGS = [
  'maxmemory-policy',
  'maxmemory',
  'appendonly',
  'save',
  'min-replicas-to-write',
  'min-replicas-max-lag',
  'port',
  'tls-port',
  'tls-protocols',
  'protected-mode',
  'bind',
] as const;

const ok = <T>(value: T): Reading<T> => ({ ok: true, value });
const no = <T>(reason: string): Reading<T> => ({ ok: false, reason });

/**
 * Asks one server, bounded, outside the guard's breaker: a denial or a slow answer here says
 * nothing about the link the application uses, so it must neither count as a failure nor be
 * logged as a configuration error. Every refusal becomes a reason to report as "unknown".
 */
class Asker {
  readonly #node: Redis;
  readonly #timeoutMs: number;
  readonly #secrets: readonly string[];

  constructor(node: Redis, timeoutMs: number, secrets: readonly string[]) {
    this.#node = node;
    this.#timeoutMs = timeoutMs;
    this.#secrets = secrets;
  }

  async ask(args: readonly string[]): Promise<Reading<unknown>> {
    const what = args.slice(0, 2).join(' ');
    try {
      return ok(await timeout(this.#node.call(args[0]!, ...args.slice(1)), this.#timeoutMs));
    } catch (error) {
      return no(this.#reason(what, error));
    }
  }

  #reason(what: string, error: unknown): string {
    const message = maskText(error instanceof Error ? error.message : String(error), this.#secrets);
    if (/^NOPERM\b|no permissions/i.test(message)) return `${what} is denied to this ACL user (NOPERM)`;
    if (/unknown (sub)?command/i.test(message)) {
      return `${what} is not available on this server (disabled or renamed, as managed services do)`;
    }
    if (isTimeoutError(error)) return `${what} got no answer within ${this.#timeoutMs} ms`;
    return `${what} failed: ${message}`;
  }
}

function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

function pairs(reply: unknown): Map<string, string> {
  const values = new Map<string, string>();
  if (!Array.isArray(reply)) return values;
  for (let i = 0; i + 1 < reply.length; i += 2) values.set(String(reply[i]), String(reply[i + 1]));
  return values;
}

/** ACL DRYRUN's verdict; undefined when the reply is not one of its known shapes. */
function permissionOf(reply: Reading<unknown>): Permission | undefined {
  if (reply.ok) return reply.value === 'OK' ? 'allowed' : dryrunDenial(String(reply.value));
  return /not found/i.test(reply.reason) ? 'absent' : undefined;
}

function dryrunDenial(text: string): Permission | undefined {
  if (/no permissions to run the/i.test(text)) return 'denied';
  // A key or channel outside the user's patterns: the command itself is granted.
  if (/no permissions to access the/i.test(text)) return 'allowed';
  return undefined;
}

/** ACL DRYRUN, when the user may run it: lets every other question be asked only if it is allowed,
 * so an audit by a least-privilege user leaves no denial in ACL LOG. */
class DryRun {
  readonly #asker: Asker;
  readonly #user: string;
  readonly available: Reading<true>;

  private constructor(asker: Asker, user: string, available: Reading<true>) {
    this.#asker = asker;
    this.#user = user;
    this.available = available;
  }

  static async open(asker: Asker, user: Reading<string>): Promise<DryRun> {
    if (!user.ok) return new DryRun(asker, '', no(`ACL DRYRUN needs the user name: ${user.reason}`));
    // Allowed or not, DRYRUN answers with a status string; an error reply means it cannot run.
    const first = await asker.ask(['ACL', 'DRYRUN', user.value, 'PING']);
    return new DryRun(asker, user.value, first.ok ? ok(true) : no(first.reason));
  }

  async permission(args: readonly string[]): Promise<Permission | undefined> {
    if (!this.available.ok) return undefined;
    return permissionOf(await this.#asker.ask(['ACL', 'DRYRUN', this.#user, ...args]));
  }

  /** false only when DRYRUN says no; undefined (ask and see) when it cannot tell. */
  async mayRun(args: readonly string[]): Promise<boolean | undefined> {
    const permission = await this.permission(args);
    return permission === undefined ? undefined : permission === 'allowed';
  }
}

async function readInfo(asker: Asker, dryrun: DryRun): Promise<Reading<ReadonlyMap<string, string>>> {
  if ((await dryrun.mayRun(['INFO'])) === false) return no('INFO is denied to this ACL user');
  const reply = await asker.ask(['INFO']);
  return reply.ok ? ok(parseInfo(String(reply.value))) : no(reply.reason);
}

async function readConfig(asker: Asker, dryrun: DryRun): Promise<Reading<ReadonlyMap<string, string>>> {
  if ((await dryrun.mayRun(['CONFIG', 'GET', 'maxmemory-policy'])) === false) {
    return no('CONFIG GET is denied to this ACL user');
  }
  const all = await asker.ask(['CONFIG', 'GET', ...CONFIG_SETTINGS]);
  if (all.ok) return ok(pairs(all.value));
  // Redis before 7.0 takes one pattern per CONFIG GET.
  if (!/wrong number of arguments/i.test(all.reason)) return no(all.reason);
  const values = new Map<string, string>();
  for (const reply of await Promise.all(CONFIG_SETTINGS.map((name) => asker.ask(['CONFIG', 'GET', name])))) {
    if (!reply.ok) return no(reply.reason);
    for (const [name, value] of pairs(reply.value)) values.set(name, value);
  }
  return ok(values);
}

async function readCommands(dryrun: DryRun): Promise<Reading<ReadonlyMap<string, Permission>>> {
  if (!dryrun.available.ok) return no(dryrun.available.reason);
  const verdicts = await Promise.all(DANGEROUS_COMMANDS.map((c) => dryrun.permission(c.probe)));
  const permissions = new Map<string, Permission>();
  for (const [index, verdict] of verdicts.entries()) {
    const label = DANGEROUS_COMMANDS[index]!.label;
    if (verdict === undefined) return no(`ACL DRYRUN gave no clear answer for ${label}`);
    permissions.set(label, verdict);
  }
  return ok(permissions);
}

/** ACL GETUSER default, only when DRYRUN says the user may read it (an admin user). */
async function readDefaultUser(asker: Asker, dryrun: DryRun): Promise<boolean | undefined> {
  if ((await dryrun.mayRun(['ACL', 'GETUSER', 'default'])) !== true) return undefined;
  const reply = await asker.ask(['ACL', 'GETUSER', 'default']);
  if (!reply.ok || !Array.isArray(reply.value)) return undefined;
  const flags = pairs(reply.value.map((v) => (Array.isArray(v) ? v.join(' ') : v))).get('flags');
  if (flags === undefined) return undefined;
  const set = new Set(flags.split(' '));
  return set.has('off') || !set.has('nopass');
}

/** Reads one server. Never rejects: what cannot be read is a reason, shown as "unknown". */
export async function readNode(
  node: Redis,
  address: string,
  topology: Topology,
  timeoutMs: number,
  secrets: readonly string[],
): Promise<NodeReadings> {
  const asker = new Asker(node, timeoutMs, secrets);
  const whoami = await asker.ask(['ACL', 'WHOAMI']);
  const user: Reading<string> = whoami.ok ? ok(String(whoami.value)) : no(whoami.reason);
  const dryrun = await DryRun.open(asker, user);
  const [info, config, commands, defaultUserLocked] = await Promise.all([
    readInfo(asker, dryrun),
    readConfig(asker, dryrun),
    readCommands(dryrun),
    readDefaultUser(asker, dryrun),
  ]);
  return { address, topology, user, info, config, commands, defaultUserLocked };
}
