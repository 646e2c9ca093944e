import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { guardUpgrade, type RateLimiter } from '@sec/rate-limit';
import { RedisUnavailableError } from '@sec/redis-guard';
import type { SessionManager } from '@sec/session';
import type { Express } from 'express';
import { WebSocketServer } from 'ws';

const REASONS = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  503: 'Service Unavailable',
} as const;
const BEARER = 'WWW-Authenticate: Bearer\r\n';
/** A refused client that never reads its answer loses the socket after this long anyway. */
const LINGER_MS = 5_000;

/** Answers on the raw socket, then destroys it once the answer is flushed: no half-open leftovers. */
function refuse(socket: Duplex, status: keyof typeof REASONS, extra = ''): void {
  if (socket.destroyed) return;
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`,
    () => {
      clearTimeout(linger);
      socket.destroy();
    },
  );
}

/** The request target, or undefined when `new URL()` rejects it (`//x:99999/ws`, `//[/ws`). */
function parseTarget(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/** The token from `Authorization: Bearer …` or, for browsers that cannot set headers on WebSockets, `?access_token=`. */
function tokenOf(req: IncomingMessage, target: URL): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7);
  return target.searchParams.get('access_token') || undefined;
}

/** WebSocket close code of a server going down (RFC 6455 §7.4.1). */
const GOING_AWAY = 1001;

/** The open echo sockets of one server. */
export interface EchoSocket {
  /** Closes every open socket with 1001 (the worker is shutting down). */
  drain(): void;
}

/** What the echo socket needs from the worker's app. */
export interface EchoSocketOptions {
  /** Its `trust proxy` setting keys upgrades as HTTP requests are keyed. */
  readonly app: Express;
  readonly sessions: SessionManager;
  readonly limiter: RateLimiter;
  /** Sent as `X-Worker-Id` on the handshake, as every HTTP answer carries it. */
  readonly workerId: string;
}

/**
 * `GET /ws`: an authenticated WebSocket echo. Upgrades pass the rate limiter first (429/503 on the
 * raw socket, before any handshake), then need a valid, unrevoked session. Every path through
 * the listener ends in a handshake or a refused, destroyed socket; none can throw, and a client
 * reset at any moment only loses that client's socket (guardUpgrade keeps an 'error' listener).
 * An open socket stays bound to its session: a revoke, logout or revoke-all through any worker
 * closes it with 1008 within a second, and 1013 closes it when Redis cannot vouch for the session.
 */
export function attachEchoSocket(server: Server, options: EchoSocketOptions): EchoSocket {
  const { app, sessions, limiter, workerId } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  wss.on('headers', (headers) => headers.push(`X-Worker-Id: ${workerId}`));
  guardUpgrade(server, limiter, { app });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = parseTarget(req);
    if (!target) return refuse(socket, 400);
    if (target.pathname !== '/ws') return refuse(socket, 404);
    const token = tokenOf(req, target);
    if (!token) return refuse(socket, 401, BEARER);
    Promise.resolve()
      .then(() => sessions.verifyRequestToken(token))
      .then(
        (auth) => {
          // The client may have reset while its token was checked.
          if (socket.destroyed) return;
          wss.handleUpgrade(req, socket, head, (ws) => {
            // ws emits 'error' for invalid frames and oversized messages; unheard, it would crash.
            ws.on('error', () => ws.terminate());
            const binding = sessions.bindConnection(auth, ws);
            ws.on('message', (data, isBinary) => {
              // Frames the peer sent before it saw the close frame are not acted on.
              if (!binding.active) return;
              ws.send(isBinary ? data : `${auth.userId}: ${data.toString()}`);
            });
          });
        },
        (error: unknown) =>
          error instanceof RedisUnavailableError
            ? refuse(socket, 503, `Retry-After: ${error.retryAfterSeconds}\r\n`)
            : refuse(socket, 401, BEARER),
      )
      .catch(() => socket.destroy());
  });
  return {
    drain() {
      for (const ws of wss.clients) ws.close(GOING_AWAY, 'server_shutdown');
    },
  };
}
