import { afterAll, beforeAll } from '@jest/globals';
import { type CapturedLogger, captureLogger, type RedisServer, startRedis } from '@sec/testing';
import { Redis } from 'ioredis';
import { createRedisGuard, type RedisGuard } from '../src/index.js';

/** The audit suites' server and the guards they put on it. */
export interface AuditServer {
  /** The harness server (set once the suite's beforeAll has run). */
  readonly redis: RedisServer;
  /** A guard on the server, on an app-built client, under its own key prefix (its own trail). */
  guardFor(keyPrefix: string, log?: CapturedLogger): RedisGuard;
  /** Closes `guard` with the others after the suite. */
  track(guard: RedisGuard): RedisGuard;
}

/**
 * A password-protected redis-server for the suite that calls this (inside its describe), with its
 * guards closed and the server stopped after the suite.
 */
export function auditServer(password: string): AuditServer {
  let redis: RedisServer | undefined;
  const guards: RedisGuard[] = [];
  beforeAll(async () => {
    redis = await startRedis({ password });
  });
  afterAll(async () => {
    for (const guard of guards) await guard.close();
    await redis?.stop();
  });
  const track = (guard: RedisGuard) => {
    guards.push(guard);
    return guard;
  };
  return {
    get redis() {
      if (!redis) throw new Error('auditServer(): the server starts in beforeAll');
      return redis;
    },
    guardFor: (keyPrefix, log = captureLogger()) =>
      track(
        createRedisGuard({
          client: new Redis({ port: redis!.port, password }),
          environment: 'test',
          keyPrefix,
          logger: log.logger,
        }),
      ),
    track,
  };
}
