import type { Logger } from '@sec/redis-guard';
import type { DataLimits } from './data.js';
import { dispatch, type SessionEvent, type SessionEventListener } from './events.js';
import { isLive, type StoredSession } from './record.js';
import type { ParsedSessionId } from './session-id.js';
import type {
  CreateEvents,
  CreateResult,
  DataWrite,
  SessionLimit,
  SessionLookup,
  SessionStore,
} from './store.js';

interface UserEntry {
  readonly sessions: Map<string, StoredSession>;
  /** Each session's data (field → JSON text), by handle; removed with the session. */
  readonly data: Map<string, Map<string, string>>;
  roles: readonly string[] | undefined;
  /** When the roles may be forgotten (ms), as the Redis user key would expire. */
  rolesUntil: number;
}

/** Sweep every user after this many logins, so abandoned users do not pile up in memory. */
const SWEEP_EVERY = 1_000;

/**
 * Sessions in this process only, for development and tests without Redis (the guard has printed
 * its one warning). Same semantics as the Redis store, timestamps included; events reach only
 * this process's listeners.
 */
export class MemorySessionStore implements SessionStore {
  readonly #users = new Map<string, UserEntry>();
  readonly #listeners = new Set<SessionEventListener>();
  readonly #logger: Logger;
  #creates = 0;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  #user(userId: string, now: number): UserEntry | undefined {
    const user = this.#users.get(userId);
    if (!user) return undefined;
    for (const [handle, session] of user.sessions) if (!isLive(session, now)) this.#remove(user, handle);
    if (user.roles !== undefined && now >= user.rolesUntil && user.sessions.size === 0)
      user.roles = undefined;
    if (user.sessions.size === 0 && user.roles === undefined) {
      this.#users.delete(userId);
      return undefined;
    }
    return user;
  }

  /** Removes a session and its data; true when it was there. */
  #remove(user: UserEntry, handle: string): boolean {
    user.data.delete(handle);
    return user.sessions.delete(handle);
  }

  #emit(event: SessionEvent): void {
    dispatch(this.#listeners, event, this.#logger);
  }

  async create(
    userId: string,
    session: StoredSession,
    roles: readonly string[] | undefined,
    retentionMs: number,
    limit: SessionLimit,
    events: CreateEvents,
  ): Promise<CreateResult> {
    const now = session.createdAt;
    if (++this.#creates % SWEEP_EVERY === 0) for (const id of [...this.#users.keys()]) this.#user(id, now);
    let user = this.#user(userId, now);
    if (!user) {
      user = { sessions: new Map(), data: new Map(), roles: undefined, rolesUntil: 0 };
      this.#users.set(userId, user);
    }
    const evicted: string[] = [];
    const excess = user.sessions.size - limit.max + 1;
    if (excess > 0) {
      if (limit.policy === 'refuse') return { created: false, evicted };
      // Same order as the Redis script: least recently used, then oldest, then by handle.
      const order = [...user.sessions.values()].sort(
        (a, b) =>
          a.lastSeenAt - b.lastSeenAt ||
          a.createdAt - b.createdAt ||
          (a.handle < b.handle ? -1 : a.handle > b.handle ? 1 : 0),
      );
      for (const old of order.slice(0, excess)) {
        this.#remove(user, old.handle);
        evicted.push(old.handle);
        this.#emit({ ...events.evicted, sessionId: events.evicted.sessionId + old.handle });
      }
    }
    user.sessions.set(session.handle, session);
    if (roles) user.roles = roles;
    if (user.roles !== undefined) user.rolesUntil = Math.max(user.rolesUntil, now + retentionMs);
    this.#emit(events.login);
    return { created: true, evicted };
  }

  async lookup(ref: ParsedSessionId): Promise<SessionLookup> {
    const user = this.#users.get(ref.userId);
    const session = user?.sessions.get(ref.handle);
    return { exists: session !== undefined, session, roles: user?.roles ?? [] };
  }

  async lookupRecords(refs: readonly ParsedSessionId[]) {
    return refs.map((ref) => this.#users.get(ref.userId)?.sessions.get(ref.handle));
  }

  async touch(ref: ParsedSessionId, now: number) {
    const session = this.#user(ref.userId, now)?.sessions.get(ref.handle);
    if (!session) return false;
    if (session.lastSeenAt < now)
      this.#users.get(ref.userId)!.sessions.set(ref.handle, { ...session, lastSeenAt: now });
    return true;
  }

  async dropExpired(ref: ParsedSessionId, now: number) {
    // #user() drops every expired session of the user.
    this.#user(ref.userId, now);
  }

  async reauthenticate(ref: ParsedSessionId, now: number) {
    const user = this.#user(ref.userId, now);
    const session = user?.sessions.get(ref.handle);
    if (!session) return false;
    user!.sessions.set(ref.handle, { ...session, authAt: now });
    return true;
  }

  async list(userId: string, now: number) {
    const user = this.#user(userId, now);
    return { sessions: user ? [...user.sessions.values()] : [], roles: user?.roles ?? [] };
  }

  async revoke(ref: ParsedSessionId, now: number, event: SessionEvent) {
    const user = this.#user(ref.userId, now);
    const removed = user ? this.#remove(user, ref.handle) : false;
    if (removed) this.#emit(event);
    return removed;
  }

  async revokeAll(userId: string, now: number, event: SessionEvent & { type: 'revoke_all' }) {
    const user = this.#user(userId, now);
    const count = user?.sessions.size ?? 0;
    user?.sessions.clear();
    user?.data.clear();
    if (count > 0) this.#emit({ ...event, count });
    return count;
  }

  async revokeOthers(keep: ParsedSessionId, now: number, event: SessionEvent & { type: 'revoke_others' }) {
    const user = this.#user(keep.userId, now);
    let count = 0;
    for (const handle of [...(user?.sessions.keys() ?? [])]) {
      if (handle === keep.handle) continue;
      this.#remove(user!, handle);
      count++;
    }
    if (count > 0) this.#emit({ ...event, count });
    return count;
  }

  async setRoles(
    userId: string,
    roles: readonly string[],
    now: number,
    retentionMs: number,
    event: SessionEvent,
  ) {
    let user = this.#user(userId, now);
    if (!user) {
      user = { sessions: new Map(), data: new Map(), roles: undefined, rolesUntil: 0 };
      this.#users.set(userId, user);
    }
    user.roles = roles;
    user.rolesUntil = Math.max(user.rolesUntil, now + retentionMs);
    this.#emit(event);
  }

  /** The user entry and the session, when it is live at `now`. */
  #live(ref: ParsedSessionId, now: number): UserEntry | undefined {
    const user = this.#user(ref.userId, now);
    return user?.sessions.has(ref.handle) ? user : undefined;
  }

  async readData(ref: ParsedSessionId, now: number, field: string | undefined) {
    const user = this.#live(ref, now);
    if (!user) return undefined;
    const data = user.data.get(ref.handle);
    if (field === undefined) return [...(data ?? [])];
    const value = data?.get(field);
    return value === undefined ? [] : [[field, value] as [string, string]];
  }

  async writeData(
    ref: ParsedSessionId,
    now: number,
    field: string,
    value: string,
    limits: DataLimits,
  ): Promise<DataWrite> {
    const user = this.#live(ref, now);
    if (!user) return 'gone';
    const data = user.data.get(ref.handle) ?? new Map<string, string>();
    if (!data.has(field) && data.size >= limits.maxFields) return 'fields';
    let total = Buffer.byteLength(field) + Buffer.byteLength(value);
    for (const [name, text] of data)
      if (name !== field) total += Buffer.byteLength(name) + Buffer.byteLength(text);
    if (total > limits.maxTotalBytes) return 'totalBytes';
    data.set(field, value);
    user.data.set(ref.handle, data);
    return 'ok';
  }

  async deleteData(ref: ParsedSessionId, now: number, field: string | undefined) {
    const user = this.#live(ref, now);
    if (!user) return undefined;
    const data = user.data.get(ref.handle);
    if (field !== undefined) return data?.delete(field) ?? false;
    user.data.delete(ref.handle);
    return data !== undefined;
  }

  async publish(event: SessionEvent) {
    this.#emit(event);
  }

  subscribe(listener: SessionEventListener) {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async close() {
    this.#listeners.clear();
    this.#users.clear();
  }
}
