// fetch() with what the dashboard reads from every answer: status, worker, Retry-After and the
// rate-limit headers.

/**
 * One request. `token`: a bearer token (request panel sessions); otherwise the dashboard's cookie
 * goes along. `fresh`: ask the server to close the connection after answering, so the next request
 * opens a new one and lands on the next worker. Never rejects: a network error is status 0.
 */
export async function call(method, path, { body, token, fresh } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  if (fresh) headers['x-demo-connection'] = 'close';
  try {
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin',
    });
    const text = await response.text();
    let data = text;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: keep the text.
    }
    return {
      status: response.status,
      worker: response.headers.get('x-worker-id') ?? '?',
      retryAfter: response.headers.get('retry-after'),
      limits: rateLimits(response.headers),
      data,
    };
  } catch (error) {
    return { status: 0, worker: '?', retryAfter: null, limits: [], data: undefined, error: String(error) };
  }
}

/** `"global-ip";q=100;w=60, "per-user";r=99;t=60` → Map(name → { q, w } / { r, t }). */
function members(value) {
  const found = new Map();
  for (const match of (value ?? '').matchAll(/"([^"]{1,64})"((?:;[a-z]+=\d+)*)/g)) {
    const params = {};
    for (const [, key, number] of match[2].matchAll(/;([a-z]+)=(\d+)/g)) params[key] = Number(number);
    found.set(match[1], params);
  }
  return found;
}

/**
 * The limiters that counted this answer (IETF draft RateLimit / RateLimit-Policy headers):
 * `[{ name, quota, windowSeconds, remaining, resetSeconds }]`.
 */
export function rateLimits(headers) {
  const policies = members(headers.get('ratelimit-policy'));
  const states = members(headers.get('ratelimit'));
  return [...states].map(([name, state]) => ({
    name,
    quota: policies.get(name)?.q,
    windowSeconds: policies.get(name)?.w,
    remaining: state.r,
    resetSeconds: state.t,
  }));
}
