import { fail, pass, type RuleDefinition, unknown, warnEverywhere } from './rule.js';
import { PostureFindingCode as Finding } from './types.js';

const FIX =
  'Set `appendonly yes` with `appendfsync everysec` (at most about a second of writes lost on a crash; ' +
  "CONFIG SET appendonly yes, then CONFIG REWRITE, or your provider's setting).";

/**
 * appendonly and save. Without the append-only file a restart either loses every key (no RDB
 * snapshots) or rolls back to the last snapshot; the second is the worse for security, as a
 * revoked session or a demoted role written after the snapshot comes back. A warning: some
 * deployments accept signing everyone out on a restart.
 */
export const persistence: RuleDefinition = {
  rule: 'persistence',
  code: Finding.Persistence,
  setting: 'appendonly, save',
  override: 'REDIS_ACCEPT_NO_PERSISTENCE',
  severity: warnEverywhere,
  evaluate({ info, config }) {
    const aofField = info.ok ? info.value.get('aof_enabled') : undefined;
    const appendonly =
      aofField !== undefined
        ? aofField === '1'
        : config.ok
          ? config.value.get('appendonly') === 'yes'
          : undefined;
    const save = config.ok ? config.value.get('save') : undefined;
    if (appendonly === undefined) {
      return unknown(
        [info, config].map((r) => (r.ok ? 'aof_enabled missing from INFO' : r.reason)).join('; '),
        '`redis-cli INFO persistence` must show aof_enabled:1 (or CONFIG GET appendonly as an admin).',
      );
    }
    if (appendonly) {
      return pass(
        'appendonly yes',
        'appendonly yes: a restart replays the append-only file, so sessions, revocations and counters survive it.',
      );
    }
    if (save === undefined) {
      return fail(
        'appendonly no',
        'appendonly is no: a restart either loses every session and rate-limit counter (no RDB snapshots) or ' +
          'rolls back to the last snapshot, undoing the revocations and role changes made since (CONFIG GET save, ' +
          `denied here, tells which). ${FIX}`,
      );
    }
    if (save.trim() === '') {
      return fail(
        'appendonly no, save ""',
        'appendonly is no and save is empty: nothing is persisted. A restart signs every user out and forgets ' +
          'every rate-limit counter and login block, so an attacker gets fresh attempts after each restart. ' +
          FIX,
      );
    }
    return fail(
      `appendonly no, save "${save}"`,
      `appendonly is no, with RDB snapshots only (save "${save}"): a restart restores the last snapshot, so ` +
        'revocations, role changes and rate-limit counts made since then are undone; a revoked session can ' +
        `come back. ${FIX}`,
    );
  },
};
