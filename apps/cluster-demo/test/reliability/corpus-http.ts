import { gzipSync } from 'node:zlib';
import { type HostileCase, rawRequest } from './hostile-probe.js';
import { bearer, type LoggedIn } from './support.js';

export interface HttpContext {
  readonly alice: LoggedIn;
  readonly bob: LoggedIn;
  readonly admin: LoggedIn;
  /** `127.0.0.1:<port>` for the Host line of raw requests. */
  readonly host: string;
  /** A forged token (wrong key): present but never valid. */
  readonly forged: string;
}

const JSON_TYPE = { 'content-type': 'application/json' };

/**
 * Malformed and oversized headers, ambiguous framing and bad request lines, written byte by byte:
 * Node's own client refuses to send most of them. Every token here is forged, so no answer may be
 * a 2xx; what is tested is that the parser and the app refuse cleanly (4xx/5xx other than 500).
 */
export function headerCases(ctx: HttpContext): HostileCase[] {
  const auth = `Authorization: Bearer ${ctx.forged}`;
  const raw = (name: string, bytes: string | Buffer): HostileCase => ({
    category: 'header',
    name,
    probe: { kind: 'raw', bytes },
  });
  const get = (headers: string[], line = 'GET /api/me HTTP/1.1') => rawRequest(line, headers, ctx.host);
  const post = (headers: string[], body: string) =>
    rawRequest('POST /auth/login HTTP/1.1', headers, ctx.host, body);
  const inner = `GET /api/admin HTTP/1.1\r\nHost: x\r\n${auth}\r\n\r\n`;
  const many = Array.from({ length: 300 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(80)}`);
  return [
    raw('bare LF inside a header value', get([auth, 'X-A: a\nb'])),
    raw('bare CR inside a header value', get([auth, 'X-A: a\rb'])),
    raw('NUL inside the Authorization value', get([`${auth}\u0000`])),
    raw('space inside a header name', get([`Auth orization: Bearer ${ctx.forged}`])),
    raw('separator inside a header name', get([`Authorization(x): Bearer ${ctx.forged}`])),
    raw('space before the colon', get([`Authorization : Bearer ${ctx.forged}`])),
    raw('obs-fold continuation of Authorization', get(['Authorization: Bearer', ` ${ctx.forged}`])),
    raw('header line without a colon', get([auth, 'X-No-Colon'])),
    raw('20 KiB header value', get([auth, `X-Big: ${'b'.repeat(20 * 1024)}`])),
    raw('20 KiB Authorization header', get([`Authorization: Bearer ${'a'.repeat(20 * 1024)}`])),
    raw('300 headers of 80 bytes', get([auth, ...many])),
    raw('two Authorization headers', get([auth, `Authorization: Bearer ${ctx.forged}x`])),
    raw('two Host headers', get([auth, 'Host: evil.example'])),
    raw('no Host header', `GET /api/me HTTP/1.1\r\n${auth}\r\nConnection: close\r\n\r\n`),
    raw('HTTP/9.9', get([auth], 'GET /api/me HTTP/9.9')),
    raw('HTTP/0.9 request line', `GET /api/me\r\n\r\n`),
    raw('unknown method', get([auth], 'FOO /api/me HTTP/1.1')),
    raw('request line with doubled spaces', get([auth], 'GET  /api/me  HTTP/1.1')),
    raw('absolute-form URI of another host', get([auth], 'GET http://evil.example/api/me HTTP/1.1')),
    raw('tab in the request target', get([auth], 'GET /api/\tme HTTP/1.1')),
    raw(
      'Upgrade: h2c on an API route',
      get([auth, 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAAQAAP__']),
    ),
    raw('Expect: an unknown expectation', get([auth, 'Expect: x-ray'])),
    raw(
      'Content-Length and Transfer-Encoding together',
      post(
        ['Content-Type: application/json', 'Content-Length: 4', 'Transfer-Encoding: chunked'],
        '0\r\n\r\n',
      ),
    ),
    raw(
      'conflicting Content-Length headers',
      post(['Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 40'], '{}'),
    ),
    raw('negative Content-Length', post(['Content-Type: application/json', 'Content-Length: -1'], '{}')),
    raw(
      'Content-Length in scientific notation',
      post(['Content-Type: application/json', 'Content-Length: 2e0'], '{}'),
    ),
    raw(
      'chunk size that is not hex',
      post(['Content-Type: application/json', 'Transfer-Encoding: chunked'], 'zz\r\n{}\r\n0\r\n\r\n'),
    ),
    raw(
      'Transfer-Encoding gzip without chunked',
      post(['Content-Type: application/json', 'Transfer-Encoding: gzip'], '{}'),
    ),
    raw(
      'Transfer-Encoding chunked twice, obfuscated',
      post(
        ['Content-Type: application/json', 'Transfer-Encoding: chunked', 'Transfer-Encoding: x'],
        '0\r\n\r\n',
      ),
    ),
    raw(
      'Authorization sent as a chunked trailer to /auth/logout',
      rawRequest(
        'POST /auth/logout HTTP/1.1',
        ['Transfer-Encoding: chunked', 'Trailer: Authorization'],
        ctx.host,
        `0\r\nAuthorization: Bearer ${ctx.forged}\r\n\r\n`,
      ),
    ),
    raw(
      'a request smuggled in a GET body',
      rawRequest('GET /api/me HTTP/1.1', [auth, `Content-Length: ${inner.length}`], ctx.host, inner),
    ),
  ];
}

/** Bad JSON bodies: invalid, wrong types, oversized, deeply nested, prototype keys, odd encodings. */
export function bodyCases(ctx: HttpContext): HostileCase[] {
  const cases: HostileCase[] = [];
  const login = (name: string, body: string | Buffer, headers: Record<string, string> = JSON_TYPE) =>
    cases.push({
      category: 'body',
      name: `login: ${name}`,
      probe: { kind: 'http', method: 'POST', path: '/auth/login', headers, body },
    });
  // Unknown users or wrong passwords only (except the prototype cases, which must not log in):
  // a lenient parser may change the body's shape, but never turn it into a valid login.
  let n = 0;
  const who = () => `mallory${n++}`;
  for (const text of [
    '{',
    `{"username":"${who()}",`,
    `{'username':'${who()}','password':'x'}`,
    `{"username":"${who()}","password":"x",}`,
    'NaN',
    '\u0000',
    `\ufeff{"username":"${who()}","password":"x"}`,
    `{"username":"${who()}" "password":"x"}`,
    '{"username":"\\ud800","password":"x"}',
    '{"username":"\\u0000","password":"\\u0000"}',
  ]) {
    login(`invalid JSON ${JSON.stringify(text.slice(0, 30))}`, text);
  }
  for (const body of [
    { username: 1, password: 'x' },
    { username: true, password: 'x' },
    { username: null, password: 'x' },
    { username: [], password: 'x' },
    { username: {}, password: 'x' },
    { username: ['alice'], password: ['alice-password'] },
    { username: { toString: 'alice' }, password: 'alice-password' },
    { username: who(), password: 1 },
    { username: who(), password: { length: 1 } },
    { username: who() },
    {},
    [],
    'alice',
    123,
  ]) {
    login(`wrong types ${JSON.stringify(body).slice(0, 40)}`, JSON.stringify(body));
  }
  login('9 KiB body (limit 8 KiB)', JSON.stringify({ username: who(), password: 'x'.repeat(9 * 1024) }));
  login('1 MiB body', JSON.stringify({ username: who(), password: 'x'.repeat(1024 * 1024) }));
  login('8 KiB of whitespace first', `${' '.repeat(8 * 1024)}{"username":"${who()}","password":"x"}`);
  login('password of 2000 characters', JSON.stringify({ username: 'alice', password: 'p'.repeat(2000) }));
  login('4000 nested arrays', `${'['.repeat(4000)}${']'.repeat(4000)}`);
  login('1300 nested objects', `${'{"a":'.repeat(1300)}1${'}'.repeat(1300)}`);
  login('username nested 1000 deep', `{"username":${'['.repeat(1000)}"x"${']'.repeat(1000)},"password":"x"}`);
  login(
    '__proto__ carrying valid credentials',
    '{"__proto__":{"username":"alice","password":"alice-password"}}',
  );
  login(
    'constructor.prototype carrying valid credentials',
    '{"constructor":{"prototype":{"username":"alice","password":"alice-password"}}}',
  );
  login(
    '__proto__ beside a wrong login',
    `{"username":"${who()}","password":"x","__proto__":{"isAdmin":true,"roles":["admin"]}}`,
  );
  login(
    'valid credentials as text/plain',
    JSON.stringify({ username: 'alice', password: 'alice-password' }),
    { 'content-type': 'text/plain' },
  );
  login('valid credentials form-encoded', 'username=alice&password=alice-password', {
    'content-type': 'application/x-www-form-urlencoded',
  });
  login('JSON declared as UTF-16', JSON.stringify({ username: who(), password: 'x' }), {
    'content-type': 'application/json; charset=utf-16',
  });
  login('gzip bomb: 10 MiB inflated', gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20)), {
    ...JSON_TYPE,
    'content-encoding': 'gzip',
  });
  login('gzip header on plain bytes', '{"username":"x","password":"x"}', {
    ...JSON_TYPE,
    'content-encoding': 'gzip',
  });
  login('unknown content-encoding', '{"username":"x","password":"x"}', {
    ...JSON_TYPE,
    'content-encoding': 'x-compress',
  });
  // Look-alike user names with the real password: no normalisation may map them onto alice or admin.
  for (const [name, password] of [
    ['ａｌｉｃｅ', 'alice-password'],
    ['alice\u0000', 'alice-password'],
    ['ALICE', 'alice-password'],
    [' alice', 'alice-password'],
    ['alice\u200b', 'alice-password'],
    ['alıce', 'alice-password'],
    ['ＡＤＭＩＮ', 'admin-password'],
    ['admin\u0301', 'admin-password'],
  ]) {
    login(`look-alike user ${JSON.stringify(name)}`, JSON.stringify({ username: name, password }));
  }

  const roles = (name: string, body: string, token = ctx.admin.token, user = 'bob') =>
    cases.push({
      category: 'body',
      name: `roles: ${name}`,
      probe: {
        kind: 'http',
        method: 'PUT',
        path: `/auth/users/${user}/roles`,
        headers: { ...JSON_TYPE, ...bearer(token) },
        body,
      },
    });
  roles('a string', '{"roles":"admin"}');
  roles('nested arrays', '{"roles":[["admin"]]}');
  roles('an object with toString', '{"roles":[{"toString":"admin"}]}');
  roles('an unknown role', '{"roles":["admin","root"]}');
  roles('nine roles', JSON.stringify({ roles: Array(9).fill('user') }));
  roles('a null role', '{"roles":[null]}');
  roles('upper-case ADMIN', '{"roles":["ADMIN"]}');
  roles('__proto__.roles', '{"__proto__":{"roles":["admin"]}}');
  roles('constructor.prototype.roles', '{"constructor":{"prototype":{"roles":["admin"]}}}');
  roles('3 KiB body (limit 2 KiB)', JSON.stringify({ roles: ['user'], pad: 'x'.repeat(3 * 1024) }));
  roles('invalid JSON', '{"roles":[');
  roles('by a non-admin, for bob', '{"roles":["admin"]}', ctx.alice.token);
  roles('by a non-admin, for herself', '{"roles":["admin"]}', ctx.alice.token, 'alice');
  return cases;
}
