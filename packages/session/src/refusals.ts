import type { Logger } from '@sec/redis-guard';
import type { TokenRejection } from './errors.js';
import { fingerprint } from './ids.js';

/**
 * How many distinct refusals are remembered, so a client retrying one bad token (or one origin,
 * or one failing store call) is logged once, and memory stays bounded whatever clients send.
 */
export const REFUSAL_MEMORY = 1024;

/** Normal client behaviour (a stale or logged-out token): info. Everything else smells of tampering: warn. */
const BENIGN: ReadonlySet<TokenRejection> = new Set(['expired', 'unknown_session']);

/**
 * The one log of refusals on the request path. Every line is structured and keyed the same way,
 * `<event>:<fingerprint of what was refused>`, so it holds no token, cookie or origin in memory,
 * and each key is logged once while it is among the last REFUSAL_MEMORY seen.
 */
export class RefusalLog {
  readonly #logger: Logger;
  readonly #seen = new Set<string>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** True the first time this key is seen (again, once it has been forgotten). */
  #first(event: string, subject: string): boolean {
    const key = `${event}:${fingerprint(subject)}`;
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    if (this.#seen.size > REFUSAL_MEMORY) this.#seen.delete(this.#seen.values().next().value!);
    return true;
  }

  /** A refused access token (or the Authorization / Cookie header that held it): fingerprinted, never logged. */
  token(presented: string, reason: TokenRejection): void {
    const event = 'session.token_rejected';
    if (!this.#first(event, presented)) return;
    const entry = { event, reason, token: fingerprint(presented), length: presented.length };
    if (BENIGN.has(reason)) this.#logger.info(entry, `access token rejected: ${reason}`);
    else this.#logger.warn(entry, `access token rejected: ${reason}`);
  }

  /** A cookie-authenticated state-changing request or upgrade from an untrusted origin. */
  crossOrigin(origin: string, method: string): void {
    const event = 'session.cross_origin_refused';
    if (!this.#first(event, origin)) return;
    this.#logger.warn({ event, origin, method }, `refused a cookie-authenticated ${method} from ${origin}`);
  }

  /**
   * A session check that failed without Redis being unavailable (a script or data error): the
   * request is answered 503, and the operator told once per message. `error` is already scrubbed.
   */
  storeError(error: Error): void {
    const event = 'session.store_error';
    if (!this.#first(event, error.message)) return;
    this.#logger.error({ event, err: error }, `session check failed: ${error.message}`);
  }
}
