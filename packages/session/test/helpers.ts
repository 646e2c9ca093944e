import { createHmac, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger } from '@sec/testing';
import express from 'express';
import { createSessionManager, type SessionManager, type SessionManagerOptions } from '../src/index.js';

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
