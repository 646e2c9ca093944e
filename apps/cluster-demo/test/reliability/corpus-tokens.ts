import { randomBytes } from 'node:crypto';
import { attackerKeys, b64url, decodeSegment, flipChar, hmacJwt, segment, signedJwt } from './forge.js';
import type { LoggedIn } from './support.js';

/** A forged bearer token and the route it is presented to (a 2xx there would mean it was accepted). */
export interface TokenCase {
  readonly group: string;
  readonly name: string;
  readonly token: string;
  readonly route: string;
}

export interface TokenContext {
  readonly alice: LoggedIn;
  readonly bob: LoggedIn;
  readonly sessionSecret: string;
  readonly encryptionKey: string;
  readonly redisPassword: string;
}

type Claims = Record<string, unknown>;

/**
 * The token forgeries: wrong keys, `alg: none`, algorithm confusion, unknown kids, truncation,
 * `bitFlips` changed characters spread over a real token, oversize, garbage. The "claims" group is
 * signed with the REAL secret on purpose, so only the claim checks (iss, aud, exp, nbf, iat, jti,
 * sid/sub binding) stand between it and a 200; a forger without the secret is stopped earlier, by
 * the signature.
 */
export function tokenCases(ctx: TokenContext, bitFlips = 24): TokenCase[] {
  const now = Math.floor(Date.now() / 1000);
  const [h, p] = ctx.alice.token.split('.') as [string, string, string];
  const header = decodeSegment(h) as Claims;
  const claims = decodeSegment(p) as Claims;
  const bobClaims = decodeSegment(ctx.bob.token.split('.')[1]!) as Claims;
  const real = (payload: unknown, head: unknown = header) => hmacJwt(ctx.sessionSecret, head, payload);
  const keys = attackerKeys();
  const cases: TokenCase[] = [];
  const add = (group: string, name: string, token: string, route = '/api/me') =>
    cases.push({ group, name, token, route });

  const wrongKeys: Array<[string, string | Buffer]> = [
    ['random 48 bytes #1', randomBytes(48)],
    ['random 48 bytes #2', randomBytes(48).toString('base64url')],
    ['random 32 bytes', randomBytes(32)],
    ['empty secret', ''],
    ['"secret"', 'secret'],
    ['the issuer name', 'cluster-demo'],
    ['the Redis password', ctx.redisPassword],
    ['the Fernet key', ctx.encryptionKey],
    ['SESSION_SECRET base64url-decoded', Buffer.from(ctx.sessionSecret, 'base64url')],
    ['SESSION_SECRET minus its last character', ctx.sessionSecret.slice(0, -1)],
    ['SESSION_SECRET plus a newline', `${ctx.sessionSecret}\n`],
    ['SESSION_SECRET upper-cased', ctx.sessionSecret.toUpperCase()],
  ];
  for (const [name, key] of wrongKeys) add('wrong key', name, hmacJwt(key, header, claims));

  const signature = ctx.alice.token.split('.')[2]!;
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    add('alg none', `alg ${alg}, empty signature`, `${segment({ ...header, alg })}.${p}.`);
  }
  add(
    'alg none',
    'alg none, original signature kept',
    `${segment({ ...header, alg: 'none' })}.${p}.${signature}`,
  );
  add('alg none', 'alg none, no kid', `${segment({ alg: 'none', typ: 'JWT' })}.${p}.`);
  add('alg none', 'alg none, signature "AA"', `${segment({ ...header, alg: 'none' })}.${p}.AA`);
  add('alg none', 'alg "" signed with the real secret', real(claims, { ...header, alg: '' }));
  add('alg none', 'no alg at all, real secret', real(claims, { kid: header.kid, typ: 'JWT' }));
  add('alg none', 'alg null, real secret', real(claims, { ...header, alg: null }));

  add('alg confusion', 'HS256 keyed with an RSA public key PEM', hmacJwt(keys.rsaPem, header, claims));
  add(
    'alg confusion',
    'HS256 keyed with an RSA PEM, no newline',
    hmacJwt(keys.rsaPem.trim(), header, claims),
  );
  add('alg confusion', 'HS256 keyed with an EC P-256 PEM', hmacJwt(keys.ecPem, header, claims));
  add('alg confusion', 'HS256 keyed with an Ed25519 PEM', hmacJwt(keys.edPem, header, claims));
  add('alg confusion', 'HS256 keyed with an RSA PEM, no kid', hmacJwt(keys.rsaPem, { alg: 'HS256' }, claims));
  add(
    'alg confusion',
    'HS256 keyed with RSA DER bytes',
    hmacJwt(keys.rsa.publicKey.export({ type: 'spki', format: 'der' }), header, claims),
  );
  for (const alg of ['RS256', 'PS256'] as const) {
    add('alg confusion', `${alg} by an attacker key`, signedJwt(alg, keys.rsa.privateKey, header, claims));
  }
  add('alg confusion', 'ES256 by an attacker key', signedJwt('ES256', keys.ec.privateKey, header, claims));
  add('alg confusion', 'EdDSA by an attacker key', signedJwt('EdDSA', keys.ed.privateKey, header, claims));
  const jwk = keys.rsa.publicKey.export({ format: 'jwk' });
  add(
    'alg confusion',
    'RS256 with the attacker key embedded (jwk)',
    signedJwt('RS256', keys.rsa.privateKey, { ...header, jwk }, claims),
  );
  add(
    'alg confusion',
    'ES256 with a jku pointing elsewhere',
    signedJwt('ES256', keys.ec.privateKey, { ...header, jku: 'http://127.0.0.1:9/jwks.json' }, claims),
  );
  add('alg confusion', 'HS512 with the real secret', real(claims, { ...header, alg: 'HS512' }));
  add('alg confusion', 'HS384 with the real secret', real(claims, { ...header, alg: 'HS384' }));

  const kids: unknown[] = [
    'demo-2',
    'DEMO-1',
    'demo-1 ',
    ' demo-1',
    '',
    '../demo-1',
    '*',
    'demo-1\u0000',
    'k'.repeat(300),
    1,
    ['demo-1'],
    { $ne: null },
    null,
    true,
  ];
  for (const kid of kids)
    add(
      'unknown kid',
      `kid ${JSON.stringify(kid).slice(0, 40)}, real secret`,
      real(claims, { ...header, kid }),
    );
  add('unknown kid', 'no kid, real secret', real(claims, { alg: 'HS256', typ: 'JWT' }));

  const claim = (name: string, change: Claims, route?: string) =>
    add('claims', name, real({ ...claims, ...change }), route);
  const without = (name: string, drop: string) => {
    const { [drop]: _dropped, ...rest } = claims;
    add('claims', name, real(rest));
  };
  claim('iss of another issuer', { iss: 'https://evil.example' });
  claim('iss in another case', { iss: 'Cluster-Demo' });
  claim('iss as an array', { iss: ['cluster-demo'] });
  without('no iss', 'iss');
  claim('aud of another audience', { aud: 'other-api' });
  claim('aud array without ours', { aud: ['other-api', 'x'] });
  claim('aud empty', { aud: '' });
  without('no aud', 'aud');
  claim('expired an hour ago', { exp: now - 3_600 });
  claim('expired 30 s ago (beyond the 5 s tolerance)', { exp: now - 30 });
  claim('exp 0', { exp: 0 });
  claim('exp as a string', { exp: String(now + 3_600) });
  without('no exp', 'exp');
  claim('nbf an hour ahead', { nbf: now + 3_600 });
  claim('nbf a minute ahead', { nbf: now + 60 });
  claim('iat an hour ahead', { iat: now + 3_600 });
  claim('iat 9 hours ago (older than the 8 h session)', { iat: now - 9 * 3_600 });
  without('no iat', 'iat');
  without('no jti', 'jti');
  claim('another jti (not the session token)', { jti: randomBytes(16).toString('base64url') });
  claim('jti empty', { jti: '' });
  claim("jti of bob's token", { jti: bobClaims.jti });
  claim("sid of bob's session, sub alice", { sid: ctx.bob.sessionId });
  claim("sid of bob's session, sub bob, alice's jti", { sid: ctx.bob.sessionId, sub: 'bob' });
  claim("sub bob on alice's session", { sub: 'bob' });
  claim("sub admin on alice's session", { sub: 'admin' });
  without('no sub', 'sub');
  without('no sid', 'sid');
  claim('sid with a wildcard handle', { sid: 'alice.*' });
  claim('sid without a handle', { sid: 'alice' });
  claim('sid with a hash tag', { sid: '{u:alice}.AAAAAAAAAAAAAAAAAAAAAA' });
  claim('sub as an object', { sub: { $ne: null } });
  claim('sub as an array', { sub: ['alice'] });
  claim('sub as a number', { sub: 1 });
  claim('sub with injected JSON', { sub: 'alice","roles":["admin"]' });
  add('claims', 'typ at+jwt', real(claims, { ...header, typ: 'at+jwt' }));
  add('claims', 'no typ', real(claims, { alg: 'HS256', kid: header.kid }));
  add('claims', 'crit names an unknown header', real(claims, { ...header, crit: ['exp'], exp: 1 }));
  add('claims', 'b64 false (unencoded payload)', real(claims, { ...header, b64: false, crit: ['b64'] }));
  const json = JSON.stringify(claims).slice(0, -1);
  add('claims', 'duplicate sub, the last one admin', real(`${json},"sub":"admin"}`));
  add('claims', "duplicate sid, the last one bob's", real(`${json},"sid":"${ctx.bob.sessionId}"}`));
  // Roles come from Redis, never from the token: a real token with extra claims stays a user's.
  for (const [name, extra] of [
    ['roles claim', '"roles":["admin"]'],
    ['role claim', '"role":"admin"'],
    ['__proto__ claim', '"__proto__":{"roles":["admin"]}'],
    ['constructor.prototype claim', '"constructor":{"prototype":{"roles":["admin"]}}'],
    ['scope claim', '"scope":"admin"'],
  ] as const) {
    add('privilege claims', `${name} on /api/admin, real secret`, real(`${json},${extra}}`), '/api/admin');
  }

  const t = ctx.alice.token;
  const truncations: Array<[string, string]> = [
    ['last character dropped', t.slice(0, -1)],
    ['last 10 characters dropped', t.slice(0, -10)],
    ['signature dropped, dot kept', `${h}.${p}.`],
    ['header.payload only', `${h}.${p}`],
    ['header only', h],
    ['first 50 characters', t.slice(0, 50)],
    ['trailing dot', `${t}.`],
    ['extra segment', `${t}.AAAA`],
    ['token twice', `${t}${t}`],
    ['segments reversed', t.split('.').reverse().join('.')],
    ['payload and header swapped', `${p}.${h}.${signature}`],
    ['signature of bob', `${h}.${p}.${ctx.bob.token.split('.')[2]}`],
  ];
  for (const [name, token] of truncations) add('truncated', name, token);

  const flipped = new Set<number>();
  for (let i = 0; i < bitFlips; i++) {
    const index = Math.floor((i * (t.length - 1)) / (bitFlips - 1));
    if (t[index] === '.' || flipped.has(index)) continue;
    flipped.add(index);
    add('bit flip', `character ${index} of ${t.length} changed`, flipChar(t, index));
  }
  add('bit flip', 'signature with one padding bit set', `${t.slice(0, -1)}${flipChar(t.slice(-1), 0)}`);

  add('huge', '9 KiB claim, real secret', real({ ...claims, pad: 'x'.repeat(9 * 1024) }));
  add('huge', '8193 characters of random base64url', b64url(randomBytes(6200)).slice(0, 8193));
  add('huge', '8 KiB payload of random bytes', `${h}.${b64url(randomBytes(6000))}.${signature}`);
  add('huge', '2000 dots', '.'.repeat(2000));

  const garbage = [
    'null',
    'undefined',
    'true',
    '{}',
    '[]',
    '.',
    '..',
    '...',
    'a.b',
    'a.b.c',
    'a.b.c.d',
    'eyJ',
    b64url(randomBytes(64)),
    "' OR 1=1 --",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell-style payload, meant literally.
    '${jndi:ldap://127.0.0.1/x}',
    '<script>alert(1)</script>',
    JSON.stringify(claims).replace(/"/g, ''),
    `${h}.${JSON.stringify(claims)}.${signature}`.replace(/[^A-Za-z0-9._-]/g, ''),
    `${h}.${p}.${signature}=`,
    `${h}=.${p}.${signature}`,
    `${h}.${p}+/.${signature}`,
  ];
  for (const [i, token] of garbage.entries())
    add('garbage', `garbage #${i + 1} ${JSON.stringify(token.slice(0, 24))}`, token);
  return cases;
}
