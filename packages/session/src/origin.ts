import type { IncomingMessage } from 'node:http';
import type { ResolvedCookie } from './cookies.js';
import { CrossOriginRequestError } from './errors.js';

/** Methods that must not change state (RFC 9110 §9.2.1); everything else is checked. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * True when the method may change state, so a cookie-authenticated request needs a trusted origin.
 */
export function isUnsafeMethod(method: string | undefined): boolean {
  return !SAFE_METHODS.has((method ?? 'GET').toUpperCase());
}

/** `scheme://host[:port]` of an Origin header, lower-case; undefined when it is not one. */
function hostOf(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return url.origin === origin.toLowerCase() ? url.host : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Refuses (CrossOriginRequestError) a state-changing request that a browser sent from a page of
 * another origin. This is what stops cross-site request forgery when the session rides in a
 * cookie, whatever SameSite says (SameSite=None sends it everywhere; Lax still lets sibling
 * subdomains, which are "same-site", through).
 *
 * - With an `Origin` header: allowed when its host equals the request's `Host`, or it is one of
 *   `trustedOrigins`. `Origin: null` (sandboxed frames, some redirects) is refused.
 * - Without one, `Sec-Fetch-Site` decides: `same-origin` and `none` (typed URL, bookmark) pass;
 *   `same-site` and `cross-site` are refused.
 * - With neither, the request did not come from a browser page (browsers send `Origin` on every
 *   cross-origin POST), so there is nothing to forge and it passes.
 *
 * The scheme is not compared, as Go's CrossOriginProtection does not: behind a proxy that ends
 * TLS the app cannot see it, and the `Secure` cookie already never travels over plain HTTP.
 */
export function assertTrustedOrigin(req: IncomingMessage, cookie: ResolvedCookie): void {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    const lower = origin.toLowerCase();
    if (cookie.trustedOrigins.has(lower)) return;
    const host = hostOf(origin);
    const own = req.headers.host?.toLowerCase();
    if (host !== undefined && own !== undefined && host === own) return;
    throw new CrossOriginRequestError(origin.slice(0, 200));
  }
  const site = req.headers['sec-fetch-site'];
  if (site === undefined || site === 'same-origin' || site === 'none') return;
  throw new CrossOriginRequestError(`Sec-Fetch-Site: ${String(site).slice(0, 40)}`);
}
