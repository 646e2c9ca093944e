import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { checkOptions, scrubError, unavailableBody } from '@sec/redis-guard/internal';
import type { Express, Request } from 'express';
import type { RateLimitDecision } from './decision.js';
import { policyField, stateField, tooManyRequestsBody } from './headers.js';
import { RATE_LIMIT_SERVICE, type RateLimiter } from './rate-limit.js';

/**
 * Options of `guardUpgrade()`.
 * @example guardUpgrade(server, limiter, { app, keyBy: (req) => new URL(req.url ?? '/', 'http://x').searchParams.get('room') ?? undefined });
 */
export type GuardUpgradeOptions = Readonly<{
  /**
   * The Express app whose `trust proxy` setting applies, so upgrades are keyed by the same
   * `req.ip` as HTTP requests. Without it the key is the socket's peer address.
   */
  app?: Express;
  /** Key for an upgrade request (no Express middleware has run on it); default: the limiter's own. */
  keyBy?: (req: IncomingMessage) => string | undefined | Promise<string | undefined>;
}>;

const STATUS_TEXT = { 429: 'Too Many Requests', 503: 'Service Unavailable' } as const;
/** A refused client that never reads its answer loses the socket after this long anyway. */
const REFUSAL_LINGER_MS = 5_000;
const ignore = () => undefined;

function rawResponse(status: 429 | 503, headers: Readonly<Record<string, string>>, body: object): string {
  const json = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(json)}`,
    'Cache-Control: no-store',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${json}`;
}

/**
 * Answers on the raw socket and closes it: no 101, no handshake, no WebSocket. `end()` flushes the
 * answer; the later `destroy()` frees the socket even when the client never closes its side.
 */
function refuse(socket: Duplex, response: string): void {
  if (socket.destroyed) return;
  const linger = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
  linger.unref();
  socket.end(response, () => {
    clearTimeout(linger);
    socket.destroy();
  });
}

/** What `consume()` sees for an upgrade: the app's request prototype gives `req.ip` with trust proxy. */
function requestView(req: IncomingMessage, app: Express | undefined): Request {
  if (!app) return Object.assign(Object.create(req) as object, { ip: req.socket.remoteAddress }) as Request;
  const view = Object.create(app.request) as Record<string, unknown>;
  Object.assign(view, {
    headers: req.headers,
    socket: req.socket,
    connection: req.socket,
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
  });
  return view as unknown as Request;
}

/**
 * Rate-limits WebSocket (or any HTTP `upgrade`) requests on a server before any 'upgrade'
 * listener sees them: over the limit, the socket gets `429 Too Many Requests` with `Retry-After`
 * and is closed; Redis unavailable on a fail-closed guard, `503`; allowed, the listeners run as
 * usual (ws's `handleUpgrade`). Covers listeners added before and after the call. Returns a
 * function that removes the guard.
 * @example
 * import { WebSocketServer } from 'ws';
 * const server = app.listen(3000);
 * const wss = new WebSocketServer({ server });
 * guardUpgrade(server, rateLimit({ redis, name: 'ws-connect', points: 20, windowMs: 60_000 }), { app });
 */
export function guardUpgrade(
  server: Server,
  limiter: RateLimiter,
  options: GuardUpgradeOptions = {},
): () => void {
  checkOptions('guardUpgrade', options, { app: 'function', keyBy: 'function' });
  const { app, keyBy } = options;
  const { guard } = limiter;

  async function decide(req: IncomingMessage): Promise<RateLimitDecision> {
    if (!keyBy) return limiter.consume(requestView(req, app));
    const key = await Promise.resolve()
      .then(() => keyBy(req))
      .catch(() => undefined);
    return key ? limiter.consumeKey(key) : limiter.consume(requestView(req, app));
  }

  async function admit(req: IncomingMessage, socket: Duplex): Promise<boolean> {
    const decision = await decide(req);
    if (decision.outcome === 'allowed' || decision.outcome === 'skipped') return !socket.destroyed;
    if (decision.outcome === 'limited') {
      guard.report({ type: 'ratelimit.rejected', limiter: limiter.limiterName });
      const headers = {
        'Retry-After': String(decision.retryAfterSeconds),
        'RateLimit-Policy': decision.policies.map(policyField).join(', '),
        RateLimit: stateField(decision.info),
      };
      refuse(
        socket,
        rawResponse(429, headers, tooManyRequestsBody(limiter.limiterName, decision.retryAfterSeconds)),
      );
      return false;
    }
    const retryAfter = guard.retryAfterSeconds();
    guard.report({ type: 'unavailable.response', service: RATE_LIMIT_SERVICE });
    refuse(
      socket,
      rawResponse(
        503,
        { 'Retry-After': String(retryAfter) },
        unavailableBody(RATE_LIMIT_SERVICE, retryAfter),
      ),
    );
    return false;
  }

  const emit = server.emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean;

  /** Runs the app's listeners; one that throws loses its socket, never the process. */
  function deliver(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    try {
      emit.call(server, 'upgrade', req, socket, head);
    } catch (error) {
      socket.destroy();
      guard.warnOnce(
        'ratelimit.upgrade_listener_threw',
        "an 'upgrade' listener threw; its socket was destroyed. Catch errors in upgrade listeners.",
        { limiter: limiter.limiterName, err: scrubError(error, guard.secrets()) },
      );
    }
  }

  // Wrapping emit (rather than moving today's listeners) also covers listeners added later,
  // e.g. a WebSocketServer created after this call.
  const guarded = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'upgrade') return emit.call(this, event, ...args);
    const [req, socket, head] = args as [IncomingMessage, Duplex, Buffer];
    // Node's HTTP server removes its own 'error' listener before emitting 'upgrade', so a client
    // reset would be an uncaught ECONNRESET. This one stays for the socket's life: listeners that
    // await (a token check) before handing the socket to a WebSocket library are covered too.
    socket.on('error', ignore);
    admit(req, socket).then(
      (allowed) => {
        if (allowed) deliver(this, req, socket, head);
      },
      () => socket.destroy(),
    );
    return this.listenerCount('upgrade') > 0;
  };
  server.emit = guarded as Server['emit'];
  return () => {
    if (server.emit === guarded) server.emit = emit;
  };
}
