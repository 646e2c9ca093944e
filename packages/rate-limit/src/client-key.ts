import type { RedisGuard } from '@sec/redis-guard';
import type { Request } from 'express';
import { ipKey, UNKNOWN_CLIENT_KEY } from './client-ip.js';

/**
 * Returns a per-limiter check that warns once about the two Express `trust proxy` settings that
 * break IP-based limits, as express-rate-limit does: behind a proxy with `trust proxy` off, every
 * client shares the proxy's address (one client can lock out everyone); with `trust proxy` set
 * to `true`, any client picks its own address by sending X-Forwarded-For (unlimited requests).
 */
function proxyWarner(guard: RedisGuard, limiter: string): (req: Request) => void {
  let untrustedWarned = false;
  let permissiveWarned = false;
  return (req) => {
    if (untrustedWarned && permissiveWarned) return;
    const trust: unknown = req.app?.get('trust proxy');
    if (!untrustedWarned && trust === false && req.headers['x-forwarded-for'] !== undefined) {
      untrustedWarned = true;
      guard.warnOnce(
        'ratelimit.forwarded_for_untrusted',
        `rate limiter "${limiter}": requests carry X-Forwarded-For but Express "trust proxy" is off, so every ` +
          'client behind the proxy shares one limit (its address). Set app.set("trust proxy", <number of ' +
          'proxies>) or the proxy addresses. Ignore this if clients reach the app directly.',
        { limiter },
      );
    }
    if (!permissiveWarned && trust === true) {
      permissiveWarned = true;
      guard.warnOnce(
        'ratelimit.trust_proxy_permissive',
        `rate limiter "${limiter}": Express "trust proxy" is true, so any client can choose its own address ` +
          'with X-Forwarded-For and escape the limit. Set it to the number of proxies or their addresses.',
        { limiter },
      );
    }
  };
}

/**
 * The per-client key for a request: `ip:` plus the client address (IPv6 grouped by
 * `ipv6Subnet`). Requests without an address share one bucket rather than escaping the limit.
 */
export function clientKeyer(
  guard: RedisGuard,
  limiter: string,
  ipv6Subnet: number,
): (req: Request) => string {
  const warnAboutProxy = proxyWarner(guard, limiter);
  return (req) => {
    warnAboutProxy(req);
    const ip = ipKey(req.ip, ipv6Subnet);
    if (ip !== undefined) return `ip:${ip}`;
    guard.warnOnce(
      'ratelimit.client_ip_missing',
      `rate limiter "${limiter}": a request had no client address (socket already closed); such requests share one bucket.`,
      { limiter },
    );
    return UNKNOWN_CLIENT_KEY;
  };
}
