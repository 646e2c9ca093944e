import { type Logger, OptionError, type RedisGuard } from '@sec/redis-guard';
import { scrubError } from '@sec/redis-guard/internal';
import type { AuthContext } from './auth-context.js';
import type { SessionEvent, SessionEventListener } from './events.js';
import { type ParsedSessionId, parseSessionId } from './session-id.js';

/**
 * How a bound connection ends: 1008 (policy violation) when its session was revoked, expired or
 * evicted; 1013 (try again later) when Redis could not confirm the session (unless the guard was
 * created with `failClosed: false`).
 * @example ws.on('close', (code) => { if (code === CONNECTION_CLOSE.unavailable.code) console.log('reconnect later') });
 */
export const CONNECTION_CLOSE = {
  sessionEnded: { code: 1008, reason: 'session_ended' },
  unavailable: { code: 1013, reason: 'try_again_later' },
} as const;

/**
 * Why a bound connection was ended.
 */
export type ConnectionEnd = (typeof CONNECTION_CLOSE)[keyof typeof CONNECTION_CLOSE];

/**
 * A long-lived connection the package can close: a `ws` WebSocket fits as it is. `once('close')`
 * unbinds it when it closes on its own; `terminate()` cuts a peer that ignores the close handshake.
 * @example const connection: LiveConnection = ws; // from the 'ws' package
 */
export interface LiveConnection {
  close(code: number, reason: string): void;
  once?(event: 'close', listener: () => void): unknown;
  terminate?(): void;
}

/**
 * The tie between one connection and its session.
 * @example
 * const binding: ConnectionBinding = sessions.bindConnection(req.auth!, ws);
 * ws.on('message', (data) => { if (binding.active) ws.send(data) });
 */
export interface ConnectionBinding {
  readonly sessionId: string;
  /**
   * False from the moment the session ends for this connection (or unbind() is called). Messages
   * the peer sent before it saw the close frame may still arrive: check this before acting on one.
   */
  readonly active: boolean;
  /** Stops watching (the connection closed, or the app ends it itself). */
  unbind(): void;
}

/**
 * What bindConnection() accepts: a connection to close, or a function to call instead.
 * @example
 * sessions.bindConnection(req.auth!, ws); // a WebSocket: closed with end.code and end.reason
 * sessions.bindConnection(req.auth!, (end) => res.end(`event: end\ndata: ${end.reason}\n\n`)); // server-sent events
 */
export type ConnectionTarget = LiveConnection | ((end: ConnectionEnd) => void);

/** A peer has this long to answer the close handshake before its socket is cut. */
const CLOSE_GRACE_MS = 1_000;

interface Entry {
  readonly userId: string;
  readonly handle: string;
  readonly sessionId: string;
  active: boolean;
  end(end: ConnectionEnd): void;
}

interface Settings {
  /** The session events of every process. */
  readonly subscribe: (listener: SessionEventListener) => () => void;
  /** The request path's judgement for many sessions at once: which are still live. */
  readonly confirm: (refs: readonly ParsedSessionId[]) => Promise<boolean[]>;
  readonly guard: RedisGuard;
  readonly logger: Logger;
  readonly recheckMs: number;
}

function endFor(target: ConnectionTarget): (end: ConnectionEnd) => void {
  if (typeof target === 'function') return target;
  let closed = false;
  target.once?.('close', () => {
    closed = true;
  });
  return (end) => {
    target.close(end.code, end.reason);
    if (target.terminate) {
      const cut = setTimeout(() => {
        if (!closed) target.terminate!();
      }, CLOSE_GRACE_MS);
      cut.unref();
    }
  };
}

/**
 * Keeps long-lived connections (WebSockets, server-sent event streams) tied to their sessions.
 * Two paths end a connection, so neither is load-bearing alone:
 * - the session events (Pub/Sub across processes, and this process's own revocations at once)
 *   end it within milliseconds;
 * - every `recheckMs` one batched read (an HMGET per user), judged by the request path, confirms
 *   every bound session is still live, which catches what a lost Pub/Sub message (a subscriber reconnecting) or an expiry
 *   would miss.
 * When a re-check cannot be answered before the next one is due, a fail-closed guard (the default
 * in every environment) ends every connection with 1013; a guard created with `failClosed: false`
 * warns once and keeps them.
 */
export class LiveConnections {
  readonly #settings: Settings;
  readonly #bySession = new Map<string, Set<Entry>>();
  readonly #byUser = new Map<string, Set<string>>();
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Start time of the re-check in flight, and a counter so a late answer is ignored. */
  #round: { started: number; id: number } | undefined;
  #rounds = 0;

  constructor(settings: Settings) {
    this.#settings = settings;
  }

  get size(): number {
    let n = 0;
    for (const entries of this.#bySession.values()) n += entries.size;
    return n;
  }

  bind(auth: AuthContext, target: ConnectionTarget): ConnectionBinding {
    const parsed = parseSessionId(auth?.sessionId);
    if (!parsed || (typeof target !== 'function' && typeof target?.close !== 'function')) {
      throw new OptionError(
        'connection',
        'bindConnection(auth, connection): auth must come from authenticateRequest() and connection must have close(code, reason) or be a function',
      );
    }
    const end = endFor(target);
    const entry: Entry = {
      userId: parsed.userId,
      handle: parsed.handle,
      sessionId: auth.sessionId,
      active: true,
      end,
    };
    const entries = this.#bySession.get(entry.sessionId) ?? new Set();
    entries.add(entry);
    this.#bySession.set(entry.sessionId, entries);
    const sessions = this.#byUser.get(entry.userId) ?? new Set();
    sessions.add(entry.sessionId);
    this.#byUser.set(entry.userId, sessions);
    this.#start();
    const binding: ConnectionBinding = {
      sessionId: entry.sessionId,
      get active() {
        return entry.active;
      },
      unbind: () => this.#remove(entry),
    };
    if (typeof target !== 'function') target.once?.('close', () => binding.unbind());
    return binding;
  }

  /** Ends the connections of a session that this process has just revoked, without waiting for Pub/Sub. */
  onEvent(event: SessionEvent): void {
    if (event.type === 'revoke') this.#endSession(event.sessionId, CONNECTION_CLOSE.sessionEnded);
    else if (event.type === 'revoke_all' || event.type === 'revoke_others') {
      const keep = event.type === 'revoke_others' ? event.sessionId : undefined;
      for (const sessionId of [...(this.#byUser.get(event.userId) ?? [])]) {
        if (sessionId !== keep) this.#endSession(sessionId, CONNECTION_CLOSE.sessionEnded);
      }
    }
  }

  close(): void {
    this.#stop();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#bySession.clear();
    this.#byUser.clear();
  }

  #start(): void {
    this.#unsubscribe ??= this.#settings.subscribe((event) => this.onEvent(event));
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#recheck(), this.#settings.recheckMs);
    this.#timer.unref();
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#round = undefined;
  }

  #remove(entry: Entry): void {
    entry.active = false;
    const entries = this.#bySession.get(entry.sessionId);
    if (!entries?.delete(entry) || entries.size > 0) return;
    this.#bySession.delete(entry.sessionId);
    const sessions = this.#byUser.get(entry.userId);
    sessions?.delete(entry.sessionId);
    if (sessions?.size === 0) this.#byUser.delete(entry.userId);
    if (this.#bySession.size === 0) this.#stop();
  }

  #endSession(sessionId: string, end: ConnectionEnd): void {
    for (const entry of [...(this.#bySession.get(sessionId) ?? [])]) this.#end(entry, end);
  }

  #end(entry: Entry, end: ConnectionEnd): void {
    if (!entry.active) return;
    this.#remove(entry);
    try {
      entry.end(end);
    } catch (error) {
      this.#settings.logger.error(
        { event: 'session.connection_close_error', err: scrubError(error, this.#settings.guard.secrets()) },
        'closing a bound connection threw',
      );
    }
  }

  #recheck(): void {
    const started = performance.now();
    const round = this.#round;
    if (round) {
      // Still waiting for the previous answer: treat a re-check as long overdue as an outage.
      if (started - round.started >= this.#settings.recheckMs) {
        this.#round = undefined;
        this.#unavailable(new Error(`no answer within ${this.#settings.recheckMs} ms`));
      }
      return;
    }
    const sessionIds = [...this.#bySession.keys()];
    if (sessionIds.length === 0) return;
    const refs = sessionIds.map((sessionId) => {
      const first = this.#bySession.get(sessionId)!.values().next().value!;
      return { userId: first.userId, handle: first.handle };
    });
    const current = { started, id: ++this.#rounds };
    this.#round = current;
    this.#settings.confirm(refs).then(
      (live) => {
        if (this.#round?.id !== current.id) return;
        this.#round = undefined;
        live.forEach((ok, i) => {
          if (!ok) this.#endSession(sessionIds[i]!, CONNECTION_CLOSE.sessionEnded);
        });
      },
      (error: unknown) => {
        if (this.#round?.id !== current.id) return;
        this.#round = undefined;
        this.#unavailable(error);
      },
    );
  }

  #unavailable(error: unknown): void {
    const { guard, logger } = this.#settings;
    if (!guard.failClosed) {
      guard.warnOnce(
        'session.connections_unchecked',
        'bound connections cannot be re-checked (Redis unavailable); keeping them open because the guard was created with failClosed: false. A fail-closed guard closes them with 1013.',
      );
      return;
    }
    const safe = scrubError(error, guard.secrets());
    logger.warn(
      { event: 'session.connections_unverifiable', connections: this.size, err: safe },
      `closing ${this.size} bound connection(s) with 1013: their sessions cannot be checked (${safe.message})`,
    );
    for (const entries of [...this.#bySession.values()])
      for (const entry of [...entries]) this.#end(entry, CONNECTION_CLOSE.unavailable);
  }
}
