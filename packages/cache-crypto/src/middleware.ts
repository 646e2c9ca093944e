import { createHash } from 'node:crypto';
import { checkOptions, positiveInteger } from '@sec/redis-guard/internal';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { EncryptedCache } from './cache.js';

/**
 * @example
 * const options: CacheResponseOptions = {
 *   cache,
 *   ttlMs: 60_000,
 *   key: (req) => req.path,
 *   varyByUser: (req) => req.auth?.userId, // req.auth as the session package's authenticate() sets it
 * };
 */
export interface CacheResponseOptions {
  readonly cache: EncryptedCache;
  /** Lifetime of a stored response in ms; default: the cache's defaultTtlMs. */
  readonly ttlMs?: number;
  /** The cache key for a request; default: the URL path and query. Hashed before it reaches Redis. */
  readonly key?: (req: Request) => string;
  /**
   * The user an authenticated request belongs to. Without it, authenticated requests are never
   * cached; with it, each user gets their own entries (the user becomes part of the key).
   */
  readonly varyByUser?: (req: Request) => string | undefined;
  /** Default: an Authorization or Cookie header, or `req.auth` / `req.user` set by an auth middleware. */
  readonly isAuthenticated?: (req: Request) => boolean;
}

/**
 * The `X-Cache` header: served from the cache, produced and stored, or not cacheable.
 * @example
 * const response = await fetch('http://localhost:3000/api/products');
 * const status = response.headers.get('x-cache') as CacheStatus; // 'HIT' | 'MISS' | 'BYPASS'
 */
export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

const NO_STORE = /(?:^|,)\s*(?:no-store|private)\s*(?:,|$)/i;
const REQUEST_NO_CACHE = /(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)/i;
// A Vary on anything else means the body depends on a header our key ignores.
const HARMLESS_VARY = new Set(['accept-encoding', 'origin']);

/** An identity an auth middleware attached (`req.auth` from @sec/session, `req.user` from passport). */
function attachedIdentity(req: Request): boolean {
  const extra = req as Request & { auth?: unknown; user?: unknown };
  return Boolean(extra.auth || extra.user);
}

function defaultIsAuthenticated(req: Request): boolean {
  return Boolean(req.headers.authorization || req.headers.cookie || attachedIdentity(req));
}

function header(res: Response, name: string): string {
  const value = res.getHeader(name);
  return Array.isArray(value) ? value.join(',') : String(value ?? '');
}

function storable(res: Response): boolean {
  if (
    res.statusCode !== 200 ||
    NO_STORE.test(header(res, 'cache-control')) ||
    res.getHeader('set-cookie') !== undefined
  ) {
    return false;
  }
  const vary = header(res, 'vary');
  return vary === '' || vary.split(',').every((h) => HARMLESS_VARY.has(h.trim().toLowerCase()));
}

const digest = (text: string) => createHash('sha256').update(text).digest('base64url');

/**
 * Caches GET JSON responses, encrypted, in an EncryptedCache. Only a 200 sent with `res.json()` is
 * stored, and never one marked `Cache-Control: no-store`/`private`, setting a cookie, or varying on
 * a header the key ignores. A request with `Cache-Control: no-store` bypasses the cache; `no-cache`
 * skips the read but refreshes the entry. Authenticated requests bypass it unless `varyByUser`
 * names the user. Only the JSON body is replayed, with `X-Cache: HIT`.
 * @example
 * app.get('/api/products', cacheResponse({ cache, ttlMs: 60_000 }), (_req, res) => res.json({ products: [] }));
 * app.get('/api/me', sessions.authenticate(), cacheResponse({ cache, varyByUser: (req) => req.auth?.userId }), (req, res) => {
 *   res.json({ user: req.auth?.userId });
 * });
 */
export function cacheResponse(options: CacheResponseOptions): RequestHandler {
  checkOptions('cacheResponse', options, {
    cache: { kind: 'object', required: 'the EncryptedCache to store responses in (createEncryptedCache())' },
    ttlMs: positiveInteger,
    key: 'function',
    varyByUser: 'function',
    isAuthenticated: 'function',
  });
  const { cache, varyByUser } = options;
  const write = options.ttlMs === undefined ? undefined : { ttlMs: options.ttlMs };
  const keyOf = options.key ?? ((req: Request) => req.originalUrl);
  const isAuthenticated = options.isAuthenticated ?? defaultIsAuthenticated;

  const handle = async (req: Request, res: Response, next: NextFunction) => {
    const bypass = () => {
      res.setHeader('X-Cache', 'BYPASS' satisfies CacheStatus);
      next();
    };
    const directives = String(req.headers['cache-control'] ?? '');
    if (req.method !== 'GET' || /(?:^|,)\s*no-store\s*(?:,|$)/i.test(directives)) return bypass();
    let user = '';
    if (isAuthenticated(req)) {
      const id = varyByUser?.(req);
      if (typeof id !== 'string' || id === '') {
        // A request an auth middleware identified, yet no user id: varyByUser reads the wrong
        // field (say `req.auth.sub` where it is `req.auth.userId`), and nothing would ever be cached.
        if (varyByUser && attachedIdentity(req)) {
          cache.guard.warnOnce(
            'cache.vary_by_user_missing',
            'cacheResponse(): varyByUser returned no user id (a non-empty string) for a request whose auth middleware ' +
              'identified a user, so authenticated responses are not cached. With @sec/session, use (req) => req.auth?.userId.',
            { returned: typeof id },
          );
        }
        return bypass();
      }
      user = `u:${digest(id)}:`;
    }
    // URLs and user ids may hold PII; Redis only ever sees their hash.
    const key = `res:${user}${digest(keyOf(req))}`;
    if (!REQUEST_NO_CACHE.test(directives)) {
      const body = await cache.get(key);
      if (body !== undefined) {
        res.setHeader('X-Cache', 'HIT' satisfies CacheStatus);
        res.json(body);
        return;
      }
    }
    res.setHeader('X-Cache', 'MISS' satisfies CacheStatus);
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      // set() serialises synchronously, so the handler mutating `body` later cannot alter the entry.
      // set() only rejects for a body JSON cannot hold, which json() below reports to Express itself.
      if (storable(res) && body !== undefined) cache.set(key, body, write).catch(() => undefined);
      return json(body);
    };
    next();
  };
  // Express 4 does not catch a rejected middleware promise (a throwing `key` or `varyByUser`).
  return (req, res, next) => {
    handle(req, res, next).catch(next);
  };
}
