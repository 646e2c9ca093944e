import { hostname } from 'node:os';
import type { Logger, RedisGuard } from '@sec/redis-guard';
import { randomId } from './ids.js';

declare module '@sec/redis-guard' {
  interface SecEvents {
    /** Sessions ended by a revocation: one session, or every session of a user (`count` of them). */
    'session.revoked': { readonly scope: 'session' | 'user'; readonly count: number };
    /** Audited (see reportAudit): a session was created. */
    'session.login': { readonly userId: string; readonly sessionId: string };
    /** Audited: a failed login; `user` is a fingerprint of the name that was tried. */
    'session.login_failed': { readonly ip?: string; readonly user?: string };
    /** Audited: the user signed out (the session's revoke is recorded too). */
    'session.logout': { readonly userId: string; readonly sessionId: string };
    /** Audited: one session revoked; `reason` when it made room for a new one. */
    'session.revoke': { readonly userId: string; readonly sessionId: string; readonly reason?: string };
    /** Audited: every session of a user revoked. */
    'session.revoke_all': { readonly userId: string; readonly count: number };
    /** Audited: every session but `sessionId` revoked ("sign out other devices"). */
    'session.revoke_others': { readonly userId: string; readonly sessionId: string; readonly count: number };
    /** Audited: the user's roles replaced. */
    'session.roles_changed': { readonly userId: string; readonly roles: readonly string[] };
    /** Audited: the user proved who they are again (step-up). */
    'session.step_up': { readonly userId: string; readonly sessionId: string };
  }
}

/** Redis Pub/Sub channel that carries audit events between processes, with the default key prefix. */
export const DEFAULT_EVENT_CHANNEL = 'sec:session:events';

/**
 * The event channel under a guard's key prefix (DEFAULT_EVENT_CHANNEL under the default one).
 */
export function eventChannel(keyPrefix: string): string {
  return `${keyPrefix}session:events`;
}

interface EventBase {
  /** ISO-8601 time of the change. */
  readonly at: string;
  /** `host:pid:random` of the process that made the change, so a process can skip its own events. */
  readonly origin: string;
}

/**
 * An audit event: logged by the process that caused it and published on the event channel so
 * other processes can react.
 * @example sessions.onEvent((event) => { if (event.type === 'revoke_all') console.log(`${event.userId} signed out everywhere`) });
 */
export type SessionEvent =
  | (EventBase & { readonly type: 'login'; readonly userId: string; readonly sessionId: string })
  | (EventBase & { readonly type: 'login_failed'; readonly ip?: string; readonly user?: string })
  | (EventBase & {
      readonly type: 'revoke';
      readonly userId: string;
      readonly sessionId: string;
      /** Set when the session was revoked to make room for a new one (maxSessionsPerUser). */
      readonly reason?: 'session_limit';
    })
  | (EventBase & { readonly type: 'revoke_all'; readonly userId: string; readonly count: number })
  | (EventBase & {
      readonly type: 'revoke_others';
      readonly userId: string;
      /** The one session kept. */
      readonly sessionId: string;
      readonly count: number;
    })
  | (EventBase & {
      readonly type: 'roles_changed';
      readonly userId: string;
      readonly roles: readonly string[];
    });

/**
 * Receives audit events; must not throw (a throw is logged and ignored).
 * @example const listener: SessionEventListener = (event) => console.log(event.type, event.at);
 */
export type SessionEventListener = (event: SessionEvent) => void;

/** Distributes the Omit over the union, so each member keeps its own fields. */
type WithoutBase<E> = E extends SessionEvent ? Omit<E, 'at' | 'origin'> : never;
/**
 * An event before `at` and `origin` are stamped on.
 */
export type SessionEventInput = WithoutBase<SessionEvent>;

/**
 * One id per process (per module copy): enough to tell "mine" from "another worker's".
 */
export const PROCESS_ORIGIN = `${hostname()}:${process.pid}:${randomId().slice(0, 8)}`;

/**
 * Adds the time and this process's origin to an event.
 */
export function stamp(event: SessionEventInput, now: number): SessionEvent {
  return { ...event, at: new Date(now).toISOString(), origin: PROCESS_ORIGIN } as SessionEvent;
}

const TYPES = new Set(['login', 'login_failed', 'revoke', 'revoke_all', 'revoke_others', 'roles_changed']);

/**
 * Parses a message from the event channel; anything that is not one of our events is dropped,
 * since any client with PUBLISH rights can write to the channel.
 */
export function parseEvent(message: string): SessionEvent | undefined {
  try {
    const value = JSON.parse(message) as { type?: unknown; at?: unknown; origin?: unknown };
    if (typeof value !== 'object' || value === null || !TYPES.has(value.type as string)) return undefined;
    if (typeof value.at !== 'string' || typeof value.origin !== 'string') return undefined;
    return value as SessionEvent;
  } catch {
    return undefined;
  }
}

/**
 * Structured audit line: `event: 'session.audit'` plus the event's fields; failures at warn.
 */
export function logAudit(logger: Logger, event: SessionEvent): void {
  const record = { event: 'session.audit', ...event };
  if (event.type === 'login_failed') logger.warn(record, 'session audit: login_failed');
  else logger.info(record, `session audit: ${event.type}`);
}

/**
 * Hands a session event to the guard's observers as an audited `session.<type>` event, so an
 * audit trail records it. Holds no token: session ids are handles, failed names fingerprints.
 */
export function reportAudit(guard: RedisGuard, event: SessionEvent): void {
  const { type, at: _at, origin: _origin, ...fields } = event;
  const user = 'userId' in event ? event.userId : undefined;
  guard.report({ type: `session.${type}`, ...fields } as never, user === undefined ? {} : { user });
}

/**
 * Calls each listener, keeping one that throws from stopping the others.
 */
export function dispatch(
  listeners: ReadonlySet<SessionEventListener>,
  event: SessionEvent,
  logger: Logger,
): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (error) {
      logger.error({ event: 'session.listener_error', err: error }, 'a session event listener threw');
    }
  }
}
