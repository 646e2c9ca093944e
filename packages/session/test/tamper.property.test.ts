import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { captureLogger } from '@sec/testing';
import fc from 'fast-check';
import { InvalidTokenError, type SessionManager } from '../src/index.js';
import { b64, manager, memoryGuard } from './helpers.js';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ODD = ['.', '=', '+', '/', ' ', '\t', '\u0000', 'é', '"', '{'];

describe('token tampering (fast-check): every changed token is refused', () => {
  let sessions: SessionManager;
  let token: string;

  beforeAll(async () => {
    const log = captureLogger();
    sessions = manager({ redis: memoryGuard(log.logger), logger: log.logger });
    token = (await sessions.create('alice', { roles: ['admin'] })).accessToken;
    await expect(sessions.verifyRequestToken(token)).resolves.toMatchObject({ userId: 'alice' });
  });
  afterAll(() => sessions.close());

  const refused = async (candidate: string) => {
    fc.pre(candidate !== token);
    const error = await sessions.verifyRequestToken(candidate).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidTokenError);
  };

  it('replacing any one character', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.constantFrom(...B64URL, ...ODD), async (i, c) => {
        const at = i % token.length;
        await refused(token.slice(0, at) + c + token.slice(at + 1));
      }),
      { numRuns: 400 },
    );
  });

  it('flipping bits in the decoded header, payload or signature', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (part, i, mask) => {
          const parts = token.split('.');
          const bytes = Buffer.from(parts[part]!, 'base64url');
          const at = i % bytes.length;
          bytes[at] = bytes[at]! ^ mask;
          parts[part] = bytes.toString('base64url');
          await refused(parts.join('.'));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('deleting or inserting characters anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.nat({ max: 40 }),
        fc.string({ maxLength: 8 }),
        async (i, length, inserted) => {
          const at = i % (token.length + 1);
          await refused(token.slice(0, at) + inserted + token.slice(Math.min(token.length, at + length)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rewriting any claim while keeping the original signature', async () => {
    const [header, , signature] = token.split('.');
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('sub', 'sid', 'jti', 'exp', 'iat', 'iss', 'aud', 'nbf', 'roles'),
        fc.jsonValue(),
        async (claim, value) => {
          const changed = { ...payload, [claim]: value };
          await refused(`${header}.${b64(changed)}.${signature}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('swapping in any header (alg none, other algorithms, other kids)', async () => {
    const [, payload, signature] = token.split('.');
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          alg: fc.constantFrom('none', 'None', 'HS256', 'HS384', 'HS512', 'RS256', 'ES256', 'EdDSA', 'PS256'),
          kid: fc.oneof(fc.constant('k1'), fc.string({ maxLength: 10 })),
          typ: fc.constantFrom('JWT', 'jwt', undefined),
          crit: fc.constantFrom(undefined, ['b64'], ['exp']),
        }),
        fc.boolean(),
        async (header, dropSignature) => {
          await refused(`${b64(header)}.${payload}.${dropSignature ? '' : signature}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('arbitrary strings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.stringMatching(/^[A-Za-z0-9_-]{1,60}\.[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{0,90}$/),
        ),
        refused,
      ),
      { numRuns: 300 },
    );
  });
});
