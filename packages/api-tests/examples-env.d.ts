// What the documentation's examples take as given: the app's own objects and functions. Each
// README code block and each public @example is compiled as a module against the packages'
// sources with these names in scope, so an example only has to show the call it documents.
// Anything an example says about the @sec packages themselves is imported, never declared here.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { EncryptedCache, Fernet, MultiFernet } from '@sec/cache-crypto';
import type { Health } from '@sec/health';
import type { LoginLimiter, RateLimiter } from '@sec/rate-limit';
import type { Logger, RedisClient, RedisGuard } from '@sec/redis-guard';
import type { SessionManager } from '@sec/session';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import type { WebSocket } from 'ws';

/** What the migration guide's express-session app keeps in `req.session`. */
declare module 'express-session' {
  interface SessionData {
    userId: string;
    cart: Record<string, number>;
  }
}

declare global {
  /** The Express app, and the HTTP server it listens on. */
  const app: Express;
  const server: Server;
  /** Inside a route: the request, its response, and Express's next. */
  const req: Request;
  const res: Response;
  const next: NextFunction;
  /** Inside a `catch (error)` block. */
  const error: unknown;
  /** A raw upgrade request and its socket (`server.on('upgrade', (request, socket) => …)`). */
  const request: IncomingMessage;
  const socket: Duplex;
  /** The objects an app builds once at start-up with the @sec factories. */
  const guard: RedisGuard;
  /** The guard again, under the name of the option that takes it (`rateLimit({ redis })`). */
  const redis: RedisGuard;
  const sessions: SessionManager;
  const cache: EncryptedCache;
  const health: Health;
  const limiter: RateLimiter;
  const login: LoginLimiter;
  const logger: Logger;
  /** A Fernet and a MultiFernet built from the app's keys. */
  const fernet: Fernet;
  const multi: MultiFernet;
  /** An ioredis client the app built itself. */
  const redisClient: RedisClient;
  /** A user id and a bearer token the app has in hand, and a WebSocket (from the `ws` package). */
  const userId: string;
  const token: string;
  const ws: WebSocket;
  /** The app's own credential check and route handlers. */
  function checkPassword(username: unknown, password: unknown): Promise<boolean>;
  const handler: RequestHandler;
}
