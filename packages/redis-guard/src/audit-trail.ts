import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { fieldsDigest } from './audit-chain.js';
import { auditKeys } from './audit-keys.js';
import { APPEND_SCRIPT } from './audit-script.js';
import { RedisGuardErrorCode as Code, ConfigurationError, OptionError } from './errors.js';
import { isRedisGuard, type RedisGuard } from './guard.js';
import { maskText, scrubError } from './mask.js';
import type { AuditHint, SecEvent } from './observer.js';
import { checkOptions, positiveInteger } from './options.js';

/** Entries kept when `maxLen` is not given; older ones are trimmed (and `verify` reports how many). */
export const DEFAULT_AUDIT_MAX_LEN = 100_000;
/** Aggregation markers one process remembers, so a flood costs no Redis round trip per event. */
const LOCAL_ONCE_LIMIT = 10_000;
/** Events held while Redis is unavailable, written in order once the breaker closes. */
export const AUDIT_BACKLOG_LIMIT = 1_000;

/**
 * @example const options: AuditTrailOptions = { maxLen: 1_000_000 };
 */
export interface AuditTrailOptions {
  /**
   * About how many entries the stream keeps (XADD MAXLEN ~): Redis trims whole blocks of old
   * entries, so slightly more may remain. Default 100,000.
   */
  readonly maxLen?: number;
}

/**
 * Writes the guard's audited events (those reported with an AuditHint) to a capped Redis Stream,
 * each entry chained to the one before it by SHA-256.
 * @example
 * const trail: AuditTrail = createAuditTrail(guard);
 * process.on('SIGTERM', () => trail.close());
 */
export interface AuditTrail {
  /** The stream's key. */
  readonly key: string;
  /** Appends an entry directly; resolves with its id, or undefined when aggregated into an earlier one. */
  append(event: SecEvent, audit?: AuditHint): Promise<string | undefined>;
  /** Resolves once every entry handed over so far is written (or has failed and been logged). */
  flush(): Promise<void>;
  /**
   * Stops recording the guard's events and waits for the entries in flight; entries still waiting
   * for Redis (breaker open) are logged as dropped.
   */
  close(): Promise<void>;
}

const origin = `${hostname()}:${process.pid}`;

function fingerprint(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/**
 * Records the guard's security events in a capped, hash-chained Redis Stream: login, logout,
 * revocations, role changes, step-up, rate-limit blocks (one entry per key per block window),
 * breaker transitions, key rotation and start-up posture warnings — whatever the @sec packages
 * report with an AuditHint. An entry that cannot be written never fails the request that caused
 * it: it is logged (`audit.write_failed`, at error) and reported as the `audit.write_failed` event.
 * Needs Redis: a guard in memory mode is refused.
 * @example
 * const guard = createRedisGuard();
 * const trail = createAuditTrail(guard, { maxLen: 500_000 });
 * // ...later, `sec-redis audit verify` checks the chain
 */
export function createAuditTrail(guard: RedisGuard, options: AuditTrailOptions = {}): AuditTrail {
  if (!isRedisGuard(guard)) {
    throw new OptionError('guard', 'createAuditTrail(guard): pass a guard from createRedisGuard()');
  }
  checkOptions('createAuditTrail', options, { maxLen: positiveInteger });
  if (guard.isMock) {
    throw new ConfigurationError(
      Code.MemoryMode,
      `createAuditTrail(): guard "${guard.name}" is in memory mode; the audit trail is a Redis Stream. Configure Redis.`,
    );
  }
  const maxLen = options.maxLen ?? DEFAULT_AUDIT_MAX_LEN;
  const keys = auditKeys(guard.keyPrefix);
  const pending = new Set<Promise<unknown>>();
  const recent = new Map<string, number>();

  /** True when this process already wrote this window's entry for the key. */
  const seenLocally = (marker: string, windowMs: number): boolean => {
    const now = Date.now();
    const until = recent.get(marker);
    if (until !== undefined && until > now) return true;
    recent.delete(marker);
    if (recent.size >= LOCAL_ONCE_LIMIT) recent.delete(recent.keys().next().value!);
    recent.set(marker, now + windowMs);
    return false;
  };

  const write = async (event: SecEvent, audit: AuditHint, at: number): Promise<string | undefined> => {
    const { type, ...fields } = event;
    const marker = audit.once ? fingerprint(`${type}\0${audit.once.key}`) : undefined;
    if (marker && seenLocally(marker, audit.once!.windowMs)) return undefined;
    // Reporters pass fingerprints, never credentials; masking the guard's own secrets is the backstop.
    const data = maskText(JSON.stringify({ at, ...fields }), guard.secrets());
    const args = [
      'type',
      type,
      ...(audit.user === undefined ? [] : ['user', audit.user]),
      'data',
      data,
      'origin',
      origin,
    ];
    const redisKeys = marker ? [keys.stream, keys.head, keys.once(marker)] : [keys.stream, keys.head];
    const onceMs = audit.once ? Math.max(1, Math.ceil(audit.once.windowMs)) : 0;
    const digest = fieldsDigest(args);
    const id = await guard.execute((c) => APPEND_SCRIPT.run(c, redisKeys, [maxLen, onceMs, digest, ...args]));
    return typeof id === 'string' ? id : undefined;
  };

  const append = (event: SecEvent, audit: AuditHint = {}, at = Date.now()): Promise<string | undefined> => {
    const written = write(event, audit, at);
    const tracked = written.catch((error: unknown) => {
      const err = scrubError(error, guard.secrets());
      guard.logger.error(
        { event: 'audit.write_failed', type: event.type, err },
        `audit trail: could not write a ${event.type} entry`,
      );
      guard.report({ type: 'audit.write_failed', eventType: event.type, reason: err.message });
    });
    pending.add(tracked);
    void tracked.finally(() => pending.delete(tracked));
    return written;
  };

  // While the breaker is not closed (or the link is down) events wait here, so the outage's own story
  // (breaker open, half-open) reaches the trail once Redis is back, each with the time it happened.
  const backlog: { event: SecEvent; audit: AuditHint; at: number }[] = [];
  let dropped = 0;
  const stop = guard.observe((event, audit) => {
    // Its own failures are reported without a hint, so a failing trail cannot feed itself.
    if (!audit) return;
    const at = Date.now();
    // Half-open is a trial, not a recovery: what waits is written once the breaker has closed.
    if (guard.breaker.state !== 'closed' || !guard.isAvailable()) {
      if (backlog.length < AUDIT_BACKLOG_LIMIT) backlog.push({ event, audit, at });
      else if (dropped++ === 0) {
        guard.logger.error(
          { event: 'audit.backlog_full', limit: AUDIT_BACKLOG_LIMIT },
          'audit trail: Redis has been unavailable too long; further entries are dropped until it is back',
        );
      }
      return;
    }
    for (const held of backlog.splice(0)) append(held.event, held.audit, held.at).catch(() => undefined);
    if (dropped > 0) {
      guard.logger.error(
        { event: 'audit.backlog_dropped', dropped },
        `audit trail: ${dropped} entries were dropped during the outage`,
      );
      dropped = 0;
    }
    append(event, audit, at).catch(() => undefined);
  });

  const flush = async () => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  };
  return {
    key: keys.stream,
    append: (event, audit) => append(event, audit),
    flush,
    async close() {
      stop();
      if (backlog.length > 0) {
        guard.logger.error(
          { event: 'audit.backlog_dropped', dropped: backlog.length + dropped },
          `audit trail closed while Redis was unavailable: ${backlog.length + dropped} entries were not written`,
        );
        backlog.length = 0;
      }
      await flush();
    },
  };
}
