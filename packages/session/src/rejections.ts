import type { Logger } from '@sec/redis-guard';
import type { TokenRejection } from './errors.js';
import { fingerprint } from './ids.js';

/**
 * How many distinct rejected tokens are remembered, so a client retrying one bad token logs it once.
 */
export const REJECTION_MEMORY = 1024;

/** Normal client behaviour (a stale or logged-out token): info. Everything else smells of tampering: warn. */
const BENIGN: ReadonlySet<TokenRejection> = new Set(['expired', 'unknown_session']);

/**
 * Logs each rejected token once: structured, with a fingerprint instead of the token, and never
 * more than once for the same token while it is among the last REJECTION_MEMORY seen.
 */
export class RejectionLog {
  readonly #logger: Logger;
  readonly #seen = new Set<string>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  #first(key: string): boolean {
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    if (this.#seen.size > REJECTION_MEMORY) this.#seen.delete(this.#seen.values().next().value!);
    return true;
  }

  record(token: string, reason: TokenRejection): void {
    const id = fingerprint(token);
    if (!this.#first(id)) return;
    const entry = { event: 'session.token_rejected', reason, token: id, length: token.length };
    if (BENIGN.has(reason)) this.#logger.info(entry, `access token rejected: ${reason}`);
    else this.#logger.warn(entry, `access token rejected: ${reason}`);
  }

  /** A cookie-authenticated state-changing request from an untrusted origin: warn once per origin. */
  crossOrigin(origin: string, method: string): void {
    if (!this.#first(`origin:${origin}`)) return;
    this.#logger.warn(
      { event: 'session.cross_origin_refused', origin, method },
      `refused a cookie-authenticated ${method} from ${origin}`,
    );
  }
}
