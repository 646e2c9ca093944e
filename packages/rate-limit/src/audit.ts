import { createHash } from 'node:crypto';
import type { RedisGuard } from '@sec/redis-guard';

declare module '@sec/redis-guard' {
  interface SecEvents {
    /**
     * Audited, once per limiter and client per block: a client was refused by the named limiter
     * until the block ends. `key` is a fingerprint of the client's key (an IP or a user id).
     */
    'ratelimit.blocked': {
      readonly limiter: string;
      readonly key: string;
      readonly retryAfterSeconds: number;
    };
  }
}

/**
 * Reports a refusal for the audit trail, aggregated: an attack's ten thousand refused requests on
 * one key within its block add one entry, not ten thousand.
 */
export function reportBlock(
  guard: RedisGuard,
  limiter: string,
  key: string,
  retryAfterSeconds: number,
): void {
  const fingerprint = createHash('sha256').update(key).digest('hex').slice(0, 16);
  guard.report(
    { type: 'ratelimit.blocked', limiter, key: fingerprint, retryAfterSeconds },
    { once: { key: `${limiter}\0${key}`, windowMs: retryAfterSeconds * 1000 } },
  );
}
