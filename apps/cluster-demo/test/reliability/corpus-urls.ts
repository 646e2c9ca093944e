import type { HttpContext } from './corpus-http.js';
import type { TokenCase } from './corpus-tokens.js';
import type { HostileCase } from './hostile-probe.js';
import { bearer } from './support.js';

const ALICE_HANDLE = 'alice.AAAAAAAAAAAAAAAAAAAAAA';

/**
 * Injection-like ids and paths: Redis glob and hash-tag characters, CRLF, traversal, NUL, unicode,
 * very long values, prototype keys. Each is sent with credentials that must not be enough: a
 * user's token where the route needs the owner or an admin, or an admin's token on ids that name
 * nothing (so only a wildcard or injection could make it a 2xx).
 */
export function urlCases(ctx: HttpContext): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (name: string, method: string, path: string, token: string, body?: string) =>
    cases.push({
      category: 'url',
      name: `${method} ${path.length > 60 ? `${path.slice(0, 60)}…` : path} (${name})`,
      probe: {
        kind: 'http',
        method,
        path,
        headers: { ...bearer(token), ...(body && { 'content-type': 'application/json' }) },
        ...(body && { body }),
      },
    });
  const sessionIds = [
    '*',
    '%2A',
    '%7B',
    '%7D',
    '%7Bu:alice%7D',
    'alice.*',
    `alice.${'*'.repeat(22)}`,
    'alice.%2A',
    '..%2F..%2Fadmin',
    '%2e%2e',
    '%0d%0aSet-Cookie:%20x=1',
    '%00',
    'a'.repeat(4000),
    `%C3%A5lice.${ALICE_HANDLE.slice(6)}`,
    '%F0%9F%98%80',
    `${ALICE_HANDLE}%0d%0a`,
    '%25',
    '%',
    '%zz',
    `${ALICE_HANDLE.slice(0, -1)}%3D`,
    `${ALICE_HANDLE}*`,
    'alice.%5B%5E%5D*',
  ];
  for (const id of sessionIds) add('alice', 'DELETE', `/auth/sessions/${id}`, ctx.alice.token);
  add(
    "alice on bob's real session",
    'DELETE',
    `/auth/sessions/${encodeURIComponent(ctx.bob.sessionId)}`,
    ctx.alice.token,
  );
  add(
    "alice on admin's real session",
    'DELETE',
    `/auth/sessions/${encodeURIComponent(ctx.admin.sessionId)}`,
    ctx.alice.token,
  );
  for (const id of sessionIds)
    add('admin, nothing to revoke', 'DELETE', `/auth/sessions/${id}`, ctx.admin.token);

  for (const id of sessionIds) {
    add('admin, nothing to revoke', 'DELETE', `/auth/users/alice/sessions/${id}`, ctx.admin.token);
    add('admin, nothing to keep', 'DELETE', `/auth/users/alice/sessions/${id}/others`, ctx.admin.token);
  }
  const bobSession = encodeURIComponent(ctx.bob.sessionId);
  add(
    "admin, bob's session under alice",
    'DELETE',
    `/auth/users/alice/sessions/${bobSession}`,
    ctx.admin.token,
  );
  add("alice on bob's real session", 'DELETE', `/auth/users/bob/sessions/${bobSession}`, ctx.alice.token);
  add("alice, bob's others", 'DELETE', `/auth/users/bob/sessions/${bobSession}/others`, ctx.alice.token);
  for (const user of ['*', 'bob', 'admin', '%2A', '..', '__proto__']) {
    add('alice', 'DELETE', `/auth/users/${user}/sessions`, ctx.alice.token);
    add('alice', 'GET', `/auth/users/${user}/sessions`, ctx.alice.token);
  }
  for (const user of [
    '*',
    '%7B',
    '%7D',
    '%0d%0a',
    'u'.repeat(200),
    '%F0%9F%98%80',
    'alice%20',
    '%00',
    'alice%2A',
  ]) {
    add('admin, not a user id', 'DELETE', `/auth/users/${user}/sessions`, ctx.admin.token);
  }
  const admin = '{"roles":["admin"]}';
  for (const user of [
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'valueOf',
    '*',
    'alice%00',
    'ALICE',
    'alice%20',
    '%F0%9F%98%80',
  ]) {
    add('admin, unknown user', 'PUT', `/auth/users/${user}/roles`, ctx.admin.token, admin);
  }
  for (const path of [
    '/api/admin',
    '/api/Admin',
    '/API/ADMIN',
    '/api/admin/',
    '/api//admin',
    '/api/admin%00',
    '/api/./admin',
    '/api/me/../admin',
    '/api/%61dmin',
    '/api/admin?role=admin&roles[]=admin',
    '/api/admin;x',
    '/api/admin%2F',
    '/api/admin..;/',
    '/api/me%2F..%2Fadmin',
    '/api/admin?__proto__[roles][]=admin',
  ]) {
    add('alice, admin only', 'GET', path, ctx.alice.token);
  }
  for (const path of [
    `/api/me?access_token=${ctx.alice.token}`,
    `/api/profile?access_token=${ctx.alice.token}`,
    `/auth/sessions?access_token=${ctx.alice.token}`,
    `/api/me?__proto__[auth]=1&constructor[prototype][auth]=1`,
    `/api/${'a'.repeat(10_000)}`,
    '/api/me%0d%0aX-Injected:%201',
  ]) {
    add('forged bearer', 'GET', path, ctx.forged);
  }
  return cases;
}

/** Authorization values that are not one well-formed `Bearer <token>`. */
export function schemeCases(ctx: HttpContext): HostileCase[] {
  const basic = Buffer.from('alice:alice-password').toString('base64');
  const values = [
    `Basic ${basic}`,
    `Token ${ctx.alice.token}`,
    `JWT ${ctx.alice.token}`,
    ctx.alice.token,
    `bearer ${ctx.forged}`,
    `BEARER ${ctx.forged}`,
    `Bearer  ${ctx.forged}`,
    `Bearer ${ctx.forged} extra`,
    `Bearer ${ctx.alice.token},Bearer ${ctx.forged}`,
    'Bearer',
    'Bearer ',
    `Bearer\t${ctx.alice.token}`,
    `Bearer%20${ctx.alice.token}`,
    'Digest username="alice", response="x"',
    `Bearer ${'A'.repeat(8 * 1024)}.${'B'.repeat(200)}.C`,
  ];
  return values.map((value, i) => ({
    category: 'header',
    name: `Authorization #${i + 1}: ${JSON.stringify(value.slice(0, 30))}`,
    probe: { kind: 'http', path: '/api/me', headers: { authorization: value } },
  }));
}

/** WebSocket upgrades that must not open: forged tokens in the header and the query, odd paths. */
export function wsCases(ctx: HttpContext, tokens: readonly TokenCase[]): HostileCase[] {
  const ws = (
    name: string,
    path: string,
    headers?: Record<string, string>,
    protocols?: string[],
  ): HostileCase => ({
    category: 'websocket',
    name,
    probe: { kind: 'ws', path, ...(headers && { headers }), ...(protocols && { protocols }) },
  });
  // One forgery of every kind, then a few more, in the header; the first of each kind in the query too.
  // The privilege-claim tokens carry the real signature and session: valid for a socket, by design.
  const forgeries = tokens.filter((t) => t.group !== 'privilege claims');
  const groups = [...new Set(forgeries.map((t) => t.group))];
  const firsts = groups.map((g) => forgeries.find((t) => t.group === g)!);
  const picks = [...firsts, ...forgeries.filter((_, i) => i % 17 === 5)].slice(0, 24);
  const cases = picks.map((t) => ws(`header: ${t.group}: ${t.name}`, '/ws', bearer(t.token)));
  for (const t of firsts)
    cases.push(ws(`query: ${t.group}: ${t.name}`, `/ws?access_token=${encodeURIComponent(t.token)}`));
  cases.push(
    ws('no token', '/ws'),
    ws('empty access_token', '/ws?access_token='),
    ws(
      'forged access_token before a real one',
      `/ws?access_token=${ctx.forged}&access_token=${ctx.alice.token}`,
    ),
    ws('real token as a subprotocol', '/ws', undefined, ['access_token', ctx.alice.token]),
    ws('real token, path /ws/', '/ws/', bearer(ctx.alice.token)),
    ws('real token, path /WS', '/WS', bearer(ctx.alice.token)),
    ws('real token, path /wsx', '/wsx', bearer(ctx.alice.token)),
    ws('real token, path /ws%00', '/ws%00', bearer(ctx.alice.token)),
    ws('Basic credentials', '/ws', {
      authorization: `Basic ${Buffer.from('alice:alice-password').toString('base64')}`,
    }),
  );
  const upgrade = (name: string, headers: string[]): HostileCase => ({
    category: 'websocket',
    name,
    probe: {
      kind: 'raw',
      bytes: [
        'GET /ws HTTP/1.1',
        `Host: ${ctx.host}`,
        `Authorization: Bearer ${ctx.alice.token}`,
        ...headers,
        '',
        '',
      ].join('\r\n'),
    },
  });
  const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==';
  cases.push(
    upgrade('real token, Sec-WebSocket-Version 12', [
      'Connection: Upgrade',
      'Upgrade: websocket',
      key,
      'Sec-WebSocket-Version: 12',
    ]),
    upgrade('real token, no Sec-WebSocket-Key', [
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
    ]),
    upgrade('real token, Upgrade: websocketx', [
      'Connection: Upgrade',
      'Upgrade: websocketx',
      key,
      'Sec-WebSocket-Version: 13',
    ]),
    upgrade('real token, malformed key', [
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Key: x',
      'Sec-WebSocket-Version: 13',
    ]),
  );
  return cases;
}
