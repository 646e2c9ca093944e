import type { NodeReadings } from './probe.js';
import { fail, pass, type RuleDefinition, unknown, warnEverywhere } from './rule.js';
import { PostureFindingCode as Finding } from './types.js';

/** A command an application user never needs, how to ask ACL DRYRUN about it, and how to take it away. */
export interface DangerousCommand {
  readonly label: string;
  /** Arguments for ACL DRYRUN: arity-valid, and never run. */
  readonly probe: readonly string[];
  /** ACL SETUSER rules that remove it. */
  readonly remove: string;
}

/**
 * What a compromised application (or an injection into one) could do with the app's Redis user:
 * wipe every session and counter (FLUSHALL, FLUSHDB, SWAPDB), reconfigure or stop the server
 * (CONFIG, DEBUG, SHUTDOWN, REPLICAOF, MODULE), read every command or password (MONITOR,
 * CONFIG GET masterauth), grant itself anything (ACL SETUSER), copy keys elsewhere (MIGRATE),
 * stall the server (KEYS), cut other clients off (CLIENT KILL) or empty the script cache.
 */
export const DANGEROUS_COMMANDS: readonly DangerousCommand[] = [
  { label: 'FLUSHALL', probe: ['FLUSHALL'], remove: '-flushall' },
  { label: 'FLUSHDB', probe: ['FLUSHDB'], remove: '-flushdb' },
  { label: 'SWAPDB', probe: ['SWAPDB', '0', '1'], remove: '-swapdb' },
  { label: 'KEYS', probe: ['KEYS', '*'], remove: '-keys' },
  { label: 'CONFIG SET', probe: ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction'], remove: '-config' },
  { label: 'CONFIG GET', probe: ['CONFIG', 'GET', 'masterauth'], remove: '-config' },
  { label: 'DEBUG', probe: ['DEBUG', 'SLEEP', '0'], remove: '-debug' },
  { label: 'SHUTDOWN', probe: ['SHUTDOWN'], remove: '-shutdown' },
  { label: 'MONITOR', probe: ['MONITOR'], remove: '-monitor' },
  { label: 'SCRIPT FLUSH', probe: ['SCRIPT', 'FLUSH'], remove: '-script|flush' },
  {
    label: 'ACL SETUSER',
    probe: ['ACL', 'SETUSER', 'sec-posture-probe'],
    remove: '-acl +acl|whoami +acl|dryrun',
  },
  { label: 'MODULE LOAD', probe: ['MODULE', 'LOAD', '/nonexistent'], remove: '-module' },
  { label: 'REPLICAOF', probe: ['REPLICAOF', 'NO', 'ONE'], remove: '-replicaof -slaveof' },
  { label: 'MIGRATE', probe: ['MIGRATE', '127.0.0.1', '1', '', '0', '1', 'KEYS', 'x'], remove: '-migrate' },
  { label: 'CLIENT KILL', probe: ['CLIENT', 'KILL', 'ID', '0'], remove: '-client|kill' },
];

const LEAST_PRIVILEGE = '`npx sec-redis acl` prints the least-privilege rule for the packages the app uses';

function fixFor(user: string, granted: readonly string[]): string {
  if (user === 'default') {
    return (
      'Give the app a user of its own instead of default (which administrators need): ' +
      `${LEAST_PRIVILEGE}; apply it as an admin and set REDIS_USERNAME.`
    );
  }
  const rules = [
    ...new Set(
      granted.flatMap((label) => DANGEROUS_COMMANDS.find((c) => c.label === label)!.remove.split(' ')),
    ),
  ];
  return `Apply \`ACL SETUSER ${user} ${rules.join(' ')}\` as an admin (the packages need none of them), or for least privilege: ${LEAST_PRIVILEGE}.`;
}

/**
 * Whether the app's ACL user may run commands it never needs, read with ACL DRYRUN (nothing is
 * run). A warning: the risk is what an attacker who gets code execution in the app, or an
 * injection into its Redis calls, can then do to the server.
 */
export const dangerousCommands: RuleDefinition = {
  rule: 'dangerous-commands',
  code: Finding.DangerousCommands,
  setting: 'ACL user',
  override: 'REDIS_ACCEPT_DANGEROUS_COMMANDS',
  severity: warnEverywhere,
  evaluate({ user, commands }: NodeReadings) {
    if (!user.ok || !commands.ok) {
      const reason = !user.ok ? user.reason : (commands as { reason: string }).reason;
      const name = user.ok ? user.value : '<app user>';
      return unknown(
        reason,
        `as an admin, \`ACL DRYRUN ${name} FLUSHALL\` (and CONFIG, KEYS, DEBUG, SHUTDOWN, MONITOR, ACL) must each say "no permissions"; ` +
          'or grant the app user `+acl|whoami +acl|dryrun` so this audit can tell.',
      );
    }
    const granted = [...commands.value].filter(([, p]) => p === 'allowed').map(([label]) => label);
    if (granted.length === 0) {
      return pass(
        `user ${user.value}: none`,
        `ACL user ${user.value} cannot run ${DANGEROUS_COMMANDS.map((c) => c.label).join(', ')}.`,
      );
    }
    return fail(
      `user ${user.value}: ${granted.join(', ')}`,
      `ACL user ${user.value} may run ${granted.join(', ')}: whoever gets code execution in the app, or ` +
        'injects into its Redis calls, can then wipe every session and rate-limit counter, reconfigure or ' +
        `stop the server, or read its traffic. ${fixFor(user.value, granted)}`,
    );
  },
};
