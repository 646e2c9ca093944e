import type { IncomingMessage, Server } from 'node:http';
import { guardUpgrade, type RateLimiter } from '@sec/rate-limit';
import { isRedisUnavailable } from '@sec/redis-guard';
import type { SessionManager } from '@sec/session';
import type { Express } from 'express';
import { WebSocketServer } from 'ws';

function reject(socket: import('node:stream').Duplex, status: number, reason: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\nWWW-Authenticate: Bearer\r\n\r\n`,
  );
}

/** The token from `Authorization: Bearer …` or, for browsers that cannot set headers on WebSockets, `?access_token=`. */
function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7);
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('access_token');
  return query ?? undefined;
}

/**
 * `GET /ws`: an authenticated WebSocket echo. Upgrades pass the rate limiter first (429/503 on the
 * raw socket, before any handshake), then need a valid, unrevoked session.
 */
export function attachEchoSocket(
  server: Server,
  app: Express,
  sessions: SessionManager,
  limiter: RateLimiter,
): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  guardUpgrade(server, limiter, { app });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/ws')
      return reject(socket, 404, 'Not Found');
    const token = tokenOf(req);
    if (!token) return reject(socket, 401, 'Unauthorized');
    sessions.verifyRequestToken(token).then(
      (auth) =>
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on('message', (data, isBinary) =>
            ws.send(isBinary ? data : `${auth.userId}: ${data.toString()}`),
          );
        }),
      (error: unknown) =>
        isRedisUnavailable(error)
          ? reject(socket, 503, 'Service Unavailable')
          : reject(socket, 401, 'Unauthorized'),
    );
  });
}
