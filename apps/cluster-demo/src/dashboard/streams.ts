import { RedisUnavailableError } from '@sec/redis-guard';
import {
  type AuthContext,
  CONNECTION_CLOSE,
  type ConnectionBinding,
  type ConnectionEnd,
  InvalidTokenError,
  type SessionEvent,
  type SessionManager,
} from '@sec/session';
import type { Request, RequestHandler, Response } from 'express';
import { describeSession } from '../admin-routes.js';
import type { UserDirectory } from '../users.js';
import type { AuditFeed, AuditLine } from './audit-feed.js';
import type { ClusterSnapshot } from './messages.js';
import type { WorkerStatsReporter } from './worker-stats.js';

/** A comment line now and then keeps proxies and browsers from timing an idle stream out. */
const HEARTBEAT_MS = 15_000;
/** While Redis cannot vouch for a stream's session, it is checked again this often. */
const REVERIFY_MS = 1_000;
/** Session lists are re-read this often besides on every session event: expiries publish nothing. */
const SESSIONS_REFRESH_MS = 3_000;
/** Events that arrive together (a revoke-all, a burst of logins) make one re-read. */
const SESSIONS_DEBOUNCE_MS = 50;
/** Events after which the session lists are re-read. */
const SESSION_CHANGES = new Set<SessionEvent['type']>([
  'login',
  'revoke',
  'revoke_all',
  'revoke_others',
  'roles_changed',
]);

/** Every user's live sessions, or why they cannot be read now. */
export interface SessionsSnapshot {
  readonly users: readonly { readonly userId: string; readonly sessions: readonly object[] }[];
  readonly unavailable?: { readonly retryAfterSeconds: number };
  readonly at: number;
}

interface Stream {
  readonly req: Request;
  readonly res: Response;
  auth: AuthContext;
  /** Set while the stream's session is vouched for; undefined while Redis cannot check it. */
  binding: ConnectionBinding | undefined;
  retry: NodeJS.Timeout | undefined;
  verifying: boolean;
}

export interface DashboardStreamsOptions {
  /** The dashboard's (cookie mode) session manager. */
  readonly manager: SessionManager;
  readonly users: UserDirectory;
  readonly reporter: WorkerStatsReporter;
  readonly workerId: string;
  /** The audit trail as it grows; undefined without Redis (memory mode keeps no trail). */
  readonly audit?: (onLines: (lines: readonly AuditLine[]) => void) => AuditFeed;
}

/**
 * `GET /dashboard/api/events`: the dashboard's Server-Sent Events. Each stream, opened by an
 * authenticated admin, gets `workers` (every worker's figures, from the primary over IPC, once a
 * second) and `sessions` (every user's sessions, re-read on each session event from any worker).
 *
 * A stream is bound to its session like a WebSocket: revoked, signed out or demoted, it gets
 * `signed-out` and ends. While Redis cannot vouch for the session (the binding ends with 1013) the
 * stream stays open but gets only the workers table (the same figures `/health` and `/metrics`
 * give anyone), says so with `verification`, and is checked again every second; session data
 * resumes once Redis confirms the session again.
 */
export class DashboardStreams {
  readonly #options: DashboardStreamsOptions;
  readonly #streams = new Set<Stream>();
  #snapshot: ClusterSnapshot | undefined;
  #sessions: SessionsSnapshot | undefined;
  #running: { stop(): void } | undefined;
  #audit: AuditFeed | undefined;
  #refresh: { timer?: NodeJS.Timeout; busy: boolean; again: boolean } = { busy: false, again: false };
  readonly #reported = new Set<string>();

  constructor(options: DashboardStreamsOptions) {
    this.#options = options;
  }

  /** Mount after authenticate() and requireRole('admin'). */
  readonly handler: RequestHandler = (req, res) => this.#open(req, res);

  /** Ends every stream (the worker is shutting down); browsers reconnect to another worker. */
  drain(): void {
    for (const stream of [...this.#streams]) {
      this.#remove(stream);
      stream.res.end();
    }
  }

  #open(req: Request, res: Response): void {
    // The client may have gone while its session was checked; its 'close' has already been emitted.
    if (res.destroyed || req.socket.destroyed) return;
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.on('error', () => undefined);
    const stream: Stream = {
      req,
      res,
      auth: req.auth!,
      binding: undefined,
      retry: undefined,
      verifying: false,
    };
    this.#streams.add(stream);
    res.on('close', () => this.#remove(stream));
    this.#write(stream, 'retry: 2000\n\n');
    this.#send(stream, 'hello', {
      worker: this.#options.workerId,
      userId: stream.auth.userId,
      sessionId: stream.auth.sessionId,
    });
    this.#bind(stream);
    this.#start();
    if (this.#snapshot) this.#send(stream, 'workers', this.#snapshot);
    if (this.#sessions) this.#send(stream, 'sessions', this.#sessions);
    if (this.#audit?.lines.length) this.#send(stream, 'audit', this.#audit.lines);
    this.#scheduleSessions();
    this.#options.reporter.setViewers(this.#streams.size);
  }

  #remove(stream: Stream): void {
    if (!this.#streams.delete(stream)) return;
    stream.binding?.unbind();
    clearInterval(stream.retry);
    this.#options.reporter.setViewers(this.#streams.size);
    if (this.#streams.size === 0) {
      this.#running?.stop();
      this.#running = undefined;
    }
  }

  #start(): void {
    if (this.#running) return;
    const { manager, reporter } = this.#options;
    const unsubscribeEvents = manager.onEvent((event) => this.#onEvent(event));
    const unsubscribeSnapshots = reporter.onSnapshot((snapshot) => {
      this.#snapshot = snapshot;
      for (const stream of this.#streams) this.#send(stream, 'workers', snapshot);
    });
    // The trail holds user ids and session events: like the session lists, only for verified viewers.
    this.#audit = this.#options.audit?.((lines) => {
      for (const stream of this.#streams) if (stream.binding) this.#send(stream, 'audit', lines);
    });
    this.#audit?.start();
    const refresh = setInterval(() => this.#scheduleSessions(), SESSIONS_REFRESH_MS);
    const heartbeat = setInterval(() => {
      for (const stream of this.#streams) this.#write(stream, ': keep-alive\n\n');
    }, HEARTBEAT_MS);
    this.#running = {
      stop: () => {
        unsubscribeEvents();
        unsubscribeSnapshots();
        clearInterval(refresh);
        clearInterval(heartbeat);
        clearTimeout(this.#refresh.timer);
        this.#audit?.stop();
        this.#audit = undefined;
        this.#refresh = { busy: false, again: false };
        this.#snapshot = undefined;
        this.#sessions = undefined;
      },
    };
  }

  #bind(stream: Stream): void {
    stream.binding = this.#options.manager.bindConnection(stream.auth, (end) => this.#ended(stream, end));
  }

  #ended(stream: Stream, end: ConnectionEnd): void {
    stream.binding = undefined;
    if (end.code === CONNECTION_CLOSE.sessionEnded.code) {
      this.#signOut(stream, 'session_ended');
      return;
    }
    this.#send(stream, 'verification', { verified: false });
    stream.retry ??= setInterval(() => this.#reverify(stream), REVERIFY_MS);
  }

  /**
   * Checks the stream's session again, from the cookie of the request that opened it: rebinds it
   * when Redis vouches for an admin, ends the stream when the session is gone or no longer an
   * admin's, and otherwise (Redis still unavailable) leaves it for the next try.
   */
  #reverify(stream: Stream): void {
    if (stream.verifying || !this.#streams.has(stream)) return;
    stream.verifying = true;
    this.#options.manager
      .authenticateRequest(stream.req)
      .then(
        (auth) => {
          if (!this.#streams.has(stream)) return;
          if (!auth.roles.includes('admin')) {
            this.#signOut(stream, 'forbidden');
            return;
          }
          stream.auth = auth;
          clearInterval(stream.retry);
          stream.retry = undefined;
          if (stream.binding) return;
          this.#bind(stream);
          this.#send(stream, 'verification', { verified: true });
          this.#scheduleSessions();
        },
        (error: unknown) => {
          if (error instanceof InvalidTokenError) this.#signOut(stream, 'session_ended');
        },
      )
      .finally(() => {
        stream.verifying = false;
      });
  }

  #signOut(stream: Stream, reason: 'session_ended' | 'forbidden'): void {
    this.#send(stream, 'signed-out', { reason });
    this.#remove(stream);
    stream.res.end();
  }

  #onEvent(event: SessionEvent): void {
    if (!SESSION_CHANGES.has(event.type)) return;
    this.#scheduleSessions();
    // A demoted admin loses the dashboard at once, not at their next request.
    if (event.type === 'roles_changed')
      for (const stream of this.#streams) if (stream.auth.userId === event.userId) this.#reverify(stream);
  }

  #scheduleSessions(): void {
    if (this.#refresh.timer) return;
    this.#refresh.timer = setTimeout(() => {
      this.#refresh.timer = undefined;
      void this.#refreshSessions();
    }, SESSIONS_DEBOUNCE_MS);
  }

  async #refreshSessions(): Promise<void> {
    const refresh = this.#refresh;
    if (refresh.busy) {
      refresh.again = true;
      return;
    }
    refresh.busy = true;
    const snapshot = await this.#listSessions();
    refresh.busy = false;
    // Every stream may have ended (and the state been reset) while the lists were read.
    if (refresh !== this.#refresh) return;
    this.#sessions = snapshot;
    for (const stream of this.#streams) if (stream.binding) this.#send(stream, 'sessions', snapshot);
    if (refresh.again) {
      refresh.again = false;
      this.#scheduleSessions();
    }
  }

  async #listSessions(): Promise<SessionsSnapshot> {
    const { manager, users } = this.#options;
    const userIds = users.usernames();
    try {
      const lists = await Promise.all(userIds.map((userId) => manager.listForUser(userId)));
      return {
        users: userIds.map((userId, i) => ({ userId, sessions: lists[i]!.map(describeSession) })),
        at: Date.now(),
      };
    } catch (error) {
      if (error instanceof RedisUnavailableError) {
        return { users: [], unavailable: { retryAfterSeconds: error.retryAfterSeconds }, at: Date.now() };
      }
      // guard.logger masks the guard's secrets: an ioredis error may carry the password.
      const message = error instanceof Error ? error.message : String(error);
      if (!this.#reported.has(message)) {
        this.#reported.add(message);
        manager.guard.logger.error(
          { event: 'demo.dashboard.sessions_failed', err: error },
          `listing sessions failed: ${message}`,
        );
      }
      return { users: [], unavailable: { retryAfterSeconds: 5 }, at: Date.now() };
    }
  }

  #send(stream: Stream, event: string, data: unknown): void {
    // JSON never holds a raw newline, so one data line carries the whole message.
    this.#write(stream, `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  #write(stream: Stream, text: string): void {
    if (stream.res.writableEnded || stream.res.destroyed) return;
    stream.res.write(text);
  }
}
