import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisServer, startRedis } from '@sec/testing';
import express from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createSessionManager, InvalidTokenError, type SessionManager } from '../src/index.js';
import { AUDIENCE, b64, bearer, claims, hs256, ISSUER, KEYS, SECRET } from './helpers.js';

const ed = generateKeyPairSync('ed25519');
const edPublicPem = ed.publicKey.export({ format: 'pem', type: 'spki' }).toString();
const edPrivatePem = ed.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const HEADER = { alg: 'HS256', kid: 'k1', typ: 'JWT' };

describe('bad bearer values: each a 401 that never reaches the handler', () => {
  let redis: RedisServer;
  let raw: Redis;
  let guard: RedisGuard;
  let sessions: SessionManager;
  let app: express.Express;
  let handled = 0;
  const log = captureLogger();
  let alice: { accessToken: string; sessionId: string };

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis({ port: redis.port });
    guard = createRedisGuard({ config: { url: redis.url }, environment: 'test', logger: log.logger });
    await guard.ready();
    // Both an HMAC key and an Ed25519 key are configured, as during a migration between algorithms.
    sessions = createSessionManager({
      redis: guard,
      signingKeys: [...KEYS, { kid: 'ed1', alg: 'EdDSA', privateKey: edPrivatePem }],
      issuer: ISSUER,
      audience: AUDIENCE,
      logger: log.logger,
    });
    app = express();
    app.get('/me', sessions.authenticate(), (req, res) => {
      handled++;
      res.json(req.auth);
    });
    alice = await sessions.create('alice');
    await sessions.create('bob');
  });
  afterAll(async () => {
    await sessions?.close();
    await guard?.close();
    raw?.disconnect();
    await redis?.stop();
  });

  const valid = () => claims(alice.sessionId);
  const now = () => Math.floor(Date.now() / 1000);
  // Rejected on shape, signature or claims: no Redis call may be made for these.
  const beforeRedis: [name: string, make: () => string, reason: string][] = [
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${b64(valid())}.`, 'malformed'],
    [
      'alg none with a junk signature',
      () => `${b64({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${b64(valid())}.AAAA`,
      'algorithm',
    ],
    [
      'HS256 signed with the Ed25519 public key (algorithm confusion)',
      () => hs256({ ...HEADER, kid: 'ed1' }, valid(), edPublicPem),
      'algorithm',
    ],
    [
      'HS256 signed with the public key, kid omitted',
      () => hs256({ alg: 'HS256', typ: 'JWT' }, valid(), edPublicPem),
      'unknown_kid',
    ],
    ['unknown kid', () => hs256({ ...HEADER, kid: 'k2' }, valid()), 'unknown_kid'],
    ['wrong secret', () => hs256(HEADER, valid(), randomBytes(32)), 'signature'],
    ['wrong issuer', () => hs256(HEADER, { ...valid(), iss: 'https://evil.test' }), 'issuer'],
    ['wrong audience', () => hs256(HEADER, { ...valid(), aud: 'other-api' }), 'audience'],
    ['expired', () => hs256(HEADER, { ...valid(), iat: now() - 7200, exp: now() - 60 }), 'expired'],
    ['not yet valid (nbf)', () => hs256(HEADER, { ...valid(), nbf: now() + 600 }), 'not_yet_valid'],
    ['issued in the future', () => hs256(HEADER, { ...valid(), iat: now() + 600 }), 'claims'],
    ['no sid', () => hs256(HEADER, { ...valid(), sid: undefined }), 'claims'],
    ['sid of another subject', () => hs256(HEADER, { ...valid(), sub: 'bob' }), 'subject_mismatch'],
    ['garbage sid', () => hs256(HEADER, { ...valid(), sid: 'alice.../../../etc' }), 'claims'],
    [
      'sub with a hash-tag brace',
      () => hs256(HEADER, { ...valid(), sub: 'al{ice}', sid: 'al{ice}.AAAAAAAAAAAAAAAAAAAAAA' }),
      'claims',
    ],
    ['typ other than JWT', () => hs256({ ...HEADER, typ: 'at+jwt' }, valid()), 'claims'],
    ['over 8 KiB', () => hs256(HEADER, { ...valid(), pad: 'x'.repeat(9000) }), 'oversized'],
    ['truncated', () => alice.accessToken.slice(0, -5), 'signature|malformed'],
    ['two segments', () => alice.accessToken.split('.').slice(0, 2).join('.'), 'malformed'],
    ['not a JWT', () => 'hello-world', 'malformed'],
    [
      'non-canonical base64url in the signature',
      () =>
        alice.accessToken.slice(0, -1) +
        String.fromCharCode(alice.accessToken.charCodeAt(alice.accessToken.length - 1) + 1),
      'malformed',
    ],
    ['correctly signed payload that is not JSON', () => hs256(HEADER, 'not json'), 'malformed'],
    [
      'payload tampered after signing',
      () => `${b64(HEADER)}.${b64({ ...valid(), sub: 'bob' })}.${alice.accessToken.split('.')[2]}`,
      'signature',
    ],
  ];
  // Well-formed and correctly signed: only the session record can refuse these.
  const atRedis: [string, () => string][] = [
    ['valid signature, unknown sid', () => hs256(HEADER, claims('alice.AAAAAAAAAAAAAAAAAAAAAA'))],
    ['valid signature, real sid, unknown jti (forged with a leaked key)', () => hs256(HEADER, valid())],
  ];

  it.each(beforeRedis)('%s → 401 invalid_token', async (_name, make, _reason) => {
    const response = await request(app).get('/me').set(bearer(make()));
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
    expect(response.body).toEqual({ error: 'invalid_token' });
  });

  it.each(atRedis)('%s → 401 invalid_token', async (_name, make) => {
    const response = await request(app).get('/me').set(bearer(make()));
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: 'invalid_token' });
  });

  it('a revoked session → 401', async () => {
    const { accessToken, sessionId } = await sessions.create('alice');
    await sessions.revoke(sessionId);
    expect((await request(app).get('/me').set(bearer(accessToken))).status).toBe(401);
  });

  it('malformed Authorization headers → 401; other schemes count as no token', async () => {
    for (const value of [
      'Bearer',
      'Bearer ',
      `Bearer ${alice.accessToken} extra`,
      `Bearer\t${alice.accessToken}`,
    ]) {
      expect((await request(app).get('/me').set('authorization', value)).status).toBe(401);
    }
    const basic = await request(app).get('/me').set('authorization', 'Basic dXNlcjpwYXNz');
    expect(basic.status).toBe(401);
    expect(basic.headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('never reached the handler', () => {
    expect(handled).toBe(0);
  });

  it('rejects shape, signature and claim failures without a single Redis command', async () => {
    const calls = async () => {
      const stats = await raw.info('commandstats');
      return [...stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].reduce(
        (sum, m) => sum + (m[1] === 'info' ? 0 : Number(m[2])),
        0,
      );
    };
    const before = await calls();
    for (const [name, make, reason] of beforeRedis) {
      const error = await sessions.verifyRequestToken(make()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidTokenError);
      expect([name, (error as InvalidTokenError).reason]).toEqual([
        name,
        expect.stringMatching(new RegExp(`^(${reason})$`)),
      ]);
    }
    expect(await calls()).toBe(before);
  });

  it('logs each bad token once, structured, without the token', async () => {
    const token = hs256({ ...HEADER, kid: 'nope' }, valid());
    for (let i = 0; i < 3; i++) expect((await request(app).get('/me').set(bearer(token))).status).toBe(401);
    const id = createHash('sha256').update(token).digest('hex').slice(0, 16);
    const lines = log.records.filter((r) => (r.obj as { token?: string }).token === id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      obj: { event: 'session.token_rejected', reason: 'unknown_kid', token: id },
    });
    const text = log.text();
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split('.')[2]);
    expect(text).not.toContain(alice.accessToken);
    expect(text).not.toContain(SECRET);
  });

  it('logs an expired or revoked token at info, tampering at warn', () => {
    const reasons = (level: string) =>
      new Set(
        log.records
          .filter(
            (r) => r.level === level && (r.obj as { event?: string }).event === 'session.token_rejected',
          )
          .map((r) => (r.obj as { reason: string }).reason),
      );
    expect(reasons('info')).toEqual(new Set(['expired', 'unknown_session']));
    expect([...reasons('warn')]).toEqual(
      expect.arrayContaining([
        'signature',
        'algorithm',
        'unknown_kid',
        'issuer',
        'audience',
        'malformed',
        'oversized',
        'subject_mismatch',
      ]),
    );
  });
});
