import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger } from '@sec/testing';
import express from 'express';
import { WebSocket, WebSocketServer } from 'ws';
import {
  type ConnectionBinding,
  CrossOriginRequestError,
  createSessionManager,
  InvalidTokenError,
  type RouterLoginLimiter,
  type SessionManager,
  type SessionManagerOptions,
} from '../src/index.js';

export const ISSUER = 'https://auth.test';
export const AUDIENCE = 'test-api';
export const SECRET = randomBytes(48).toString('base64url');
export const KEYS = [{ kid: 'k1', secret: SECRET }] as const;

/** A guard with no Redis, as a developer without REDIS_URL gets in the test environment. */
export function memoryGuard(logger = captureLogger().logger): RedisGuard {
  return createRedisGuard({ env: { NODE_ENV: 'test' }, logger });
}

export function manager(
  overrides: Partial<SessionManagerOptions> & { redis: SessionManagerOptions['redis'] },
): SessionManager {
  return createSessionManager({ signingKeys: KEYS, issuer: ISSUER, audience: AUDIENCE, ...overrides });
}

/** An app with one protected route echoing req.auth and one admin-only route. */
export function appFor(sessions: SessionManager): express.Express {
  const app = express();
  app.get('/me', sessions.authenticate(), (req, res) => {
    res.json(req.auth);
  });
  app.get('/admin', sessions.authenticate(), sessions.requireRole('admin'), (_req, res) => {
    res.json({ ok: true });
  });
  return app;
}

export async function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Signs any header and payload with HMAC-SHA256 over the given key bytes: for forged and odd tokens. */
export function hs256(header: object, payload: object | string, key: string | Buffer = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/** Claims as the manager would issue them for `sessionId`, with overrides. */
export function claims(sessionId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    sid: sessionId,
    sub: sessionId.slice(0, sessionId.lastIndexOf('.')),
    iss: ISSUER,
    aud: AUDIENCE,
    jti: randomBytes(16).toString('base64url'),
    iat: now,
    exp: now + 3600,
    ...overrides,
  };
}

export function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export { median } from '@sec/testing';

/**
 * The login limiter contract sessionRouter() relies on, as @sec/rate-limit implements it: the
 * attempt is counted (reserved) before the password is checked.
 */
export type TestLoginAttempt =
  | { readonly outcome: 'allowed'; succeeded(): Promise<void>; failed(): Promise<void> }
  | {
      readonly outcome: 'limited';
      readonly reason: 'account_client' | 'client';
      readonly retryAfterSeconds: number;
    }
  | { readonly outcome: 'unavailable'; readonly error: Error; readonly retryAfterSeconds: number };

export interface TestLoginLimiter {
  reserve(req: express.Request, account: unknown): Promise<TestLoginAttempt>;
  respond(res: express.Response, attempt: TestLoginAttempt): boolean;
}

// The contract's shape must be accepted where sessionRouter() takes a limiter.
const _fits: (limiter: TestLoginLimiter) => RouterLoginLimiter = (limiter) => limiter;
void _fits;

/**
 * A small real limiter on Redis: INCR per (account, client) before verification, DEL on success,
 * `max` attempts per window. Redis errors make the attempt 'unavailable' (503).
 */
export function redisLoginLimiter(guard: RedisGuard, max: number, prefix = 'test:login:'): TestLoginLimiter {
  return {
    async reserve(req, account) {
      const key = `${prefix}${createHmac('sha256', 'k')
        .update(`${String(account)}|${req.ip}`)
        .digest('hex')}`;
      try {
        const [[, count], [, ttl]] = (await guard.execute((c) => c.multi().incr(key).pttl(key).exec())) as [
          [null, number],
          [null, number],
        ];
        if (ttl < 0) await guard.execute((c) => c.pexpire(key, 60_000));
        if (count > max) {
          return {
            outcome: 'limited',
            reason: 'account_client',
            retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)),
          };
        }
        return {
          outcome: 'allowed',
          succeeded: async () => {
            await guard.execute((c) => c.del(key));
          },
          failed: async () => undefined,
        };
      } catch (error) {
        return { outcome: 'unavailable', error: error as Error, retryAfterSeconds: 2 };
      }
    },
    respond(res, attempt) {
      if (attempt.outcome === 'allowed') return false;
      res
        .status(attempt.outcome === 'limited' ? 429 : 503)
        .set('Retry-After', String(attempt.retryAfterSeconds))
        .json({ error: attempt.outcome === 'limited' ? 'too_many_requests' : 'service_unavailable' });
      return true;
    },
  };
}

/** A WebSocket echo server whose sockets are bound to their sessions, and a client for it. */
export async function liveSocketServer(sessions: SessionManager) {
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const bindings: ConnectionBinding[] = [];
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => undefined);
    sessions.authenticateRequest(req).then(
      (auth) =>
        wss.handleUpgrade(req, socket, head, (ws) => {
          const binding = sessions.bindConnection(auth, ws);
          bindings.push(binding);
          ws.on('message', (data) => {
            if (binding.active) ws.send(`${auth.userId}: ${String(data)}`);
          });
        }),
      (error: unknown) => {
        const status =
          error instanceof InvalidTokenError ? 401 : error instanceof CrossOriginRequestError ? 403 : 503;
        socket.end(`HTTP/1.1 ${status} No\r\nContent-Length: 0\r\n\r\n`);
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    bindings,
    url,
    /** Opens a socket with the token (or these headers); resolves once it is open and has echoed one message. */
    async connect(token: string, headers: Record<string, string> = bearer(token)) {
      const ws = new WebSocket(url, { headers });
      const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
        ws.once('close', (code, reason) =>
          resolve({ code, reason: reason.toString(), at: performance.now() }),
        ),
      );
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => {
          ws.send('hello');
          ws.once('message', () => resolve());
        });
        ws.once('error', reject);
        ws.once('unexpected-response', (_req, res) =>
          reject(new Error(`upgrade answered ${res.statusCode}`)),
        );
      });
      return { ws, closed };
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
