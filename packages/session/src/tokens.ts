import { errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { InvalidTokenError, type TokenRejection } from './errors.js';
import { hashTokenId, isTokenId, isUserId } from './ids.js';
import { parseSessionId } from './session-id.js';
import type { KeyRing } from './signing-keys.js';

/**
 * Bearer values longer than this are refused before any parsing: no JWT of ours comes close.
 */
export const MAX_TOKEN_BYTES = 8192;

/** Three non-empty base64url segments: everything else (incl. `alg: none` with its empty signature) stops here. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Verified tokens remembered per process. A token string that verified once always verifies (keys,
 * issuer and audience are fixed for the manager's life), so only the time-based claims need
 * checking again; this takes the signature check off the hot path. It caches nothing about the
 * session, whose record is still read from Redis on every request.
 */
export const VERIFIED_TOKEN_CACHE_SIZE = 5_000;

/**
 * What a verified access token says. Nothing else is trusted from it: roles come from Redis.
 */
export interface AccessTokenClaims {
  readonly userId: string;
  readonly sessionId: string;
  readonly handle: string;
  readonly jti: string;
  /** SHA-256 of the jti, as the session record holds it. */
  readonly tokenHash: string;
  /** ms */
  readonly expiresAt: number;
  /** ms; 0 when the token has no `nbf` */
  readonly notBefore: number;
}

/**
 * What tokens are bound to and how much clock skew is tolerated.
 */
export interface TokenSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly clockToleranceMs: number;
  /** Tokens whose `iat` is older (or in the future) are refused. */
  readonly maxTokenAgeMs: number;
}

/**
 * Signs new access tokens and verifies presented ones.
 */
export interface TokenCodec {
  sign(claims: {
    userId: string;
    sessionId: string;
    jti: string;
    issuedAt: number;
    expiresAt: number;
  }): Promise<string>;
  /** Rejects with InvalidTokenError; `now` in ms. */
  verify(token: string, now: number): Promise<AccessTokenClaims>;
}

/**
 * base64url leaves 2 or 4 bits of the last character unused; decoders ignore them, so several
 * spellings decode to the same bytes. Accept only the canonical one, so that a token is exactly
 * one string and any change to it is a rejection.
 */
function canonicalSegment(segment: string): boolean {
  const rest = segment.length % 4;
  if (rest === 1) return false;
  if (rest === 0) return true;
  const last = segment.charCodeAt(segment.length - 1);
  const value =
    last === 95 ? 63 : last === 45 ? 62 : last >= 97 ? last - 71 : last >= 65 ? last - 65 : last + 4;
  return (value & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/**
 * Cheap structural checks that run before any cryptography or JSON parsing.
 */
export function assertTokenShape(token: string): void {
  if (token.length > MAX_TOKEN_BYTES) throw new InvalidTokenError('oversized');
  if (!JWT_SHAPE.test(token)) throw new InvalidTokenError('malformed');
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (
    !canonicalSegment(token.slice(0, first)) ||
    !canonicalSegment(token.slice(first + 1, second)) ||
    !canonicalSegment(token.slice(second + 1))
  ) {
    throw new InvalidTokenError('malformed');
  }
}

function rejectionOf(error: unknown): TokenRejection {
  if (error instanceof InvalidTokenError) return error.reason;
  if (error instanceof errors.JWTExpired) return error.claim === 'exp' ? 'expired' : 'claims';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'not_yet_valid';
    if (error.claim === 'iss') return 'issuer';
    if (error.claim === 'aud') return 'audience';
    return 'claims';
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature';
  // A key of the wrong type for the header's algorithm surfaces as a TypeError from jose.
  if (error instanceof TypeError) return 'algorithm';
  return 'malformed';
}

function claimsOf(payload: JWTPayload): AccessTokenClaims {
  const { sub, sid, jti, exp, nbf } = payload as JWTPayload & { sid?: unknown };
  if (!isUserId(sub) || !isTokenId(jti) || typeof exp !== 'number') throw new InvalidTokenError('claims');
  const parsed = parseSessionId(sid);
  if (!parsed) throw new InvalidTokenError('claims');
  if (parsed.userId !== sub) throw new InvalidTokenError('subject_mismatch');
  return {
    userId: sub,
    sessionId: sid as string,
    handle: parsed.handle,
    jti,
    tokenHash: hashTokenId(jti),
    expiresAt: exp * 1000,
    notBefore: typeof nbf === 'number' ? nbf * 1000 : 0,
  };
}

/**
 * Signs and verifies access tokens with jose: explicit algorithm allow-list, key chosen by `kid`
 * (an unknown kid or an algorithm other than the key's own is refused), `iss`/`aud`/`exp`/`nbf`/`iat`
 * checked with a small clock tolerance.
 */
export function createTokenCodec(ring: KeyRing, settings: TokenSettings): TokenCodec {
  const algorithms = [...ring.algorithms];
  const verified = new Map<string, AccessTokenClaims>();
  const tolerance = settings.clockToleranceMs;
  const resolveKey = (header: { kid?: unknown; alg?: unknown }) => {
    const entry = ring.find(header.kid);
    if (!entry) throw new InvalidTokenError('unknown_kid');
    // Each kid is bound to one algorithm: an HS256 header on an EdDSA kid is the confusion attack.
    if (header.alg !== entry.alg) throw new InvalidTokenError('algorithm');
    return entry.verifyKey;
  };
  return {
    async sign({ userId, sessionId, jti, issuedAt, expiresAt }) {
      return new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: ring.signer.alg, kid: ring.signer.kid, typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(settings.issuer)
        .setAudience(settings.audience)
        .setJti(jti)
        .setIssuedAt(Math.floor(issuedAt / 1000))
        .setExpirationTime(Math.floor(expiresAt / 1000))
        .sign(await ring.signer.key);
    },
    async verify(token, now) {
      const cached = verified.get(token);
      if (cached) {
        if (now - tolerance >= cached.expiresAt) throw new InvalidTokenError('expired');
        if (now + tolerance < cached.notBefore) throw new InvalidTokenError('not_yet_valid');
        return cached;
      }
      assertTokenShape(token);
      let claims: AccessTokenClaims;
      try {
        const { payload } = await jwtVerify(token, resolveKey, {
          algorithms,
          issuer: settings.issuer,
          audience: settings.audience,
          // jose counts in seconds (JWT times are seconds); fractions are compared as they are.
          clockTolerance: settings.clockToleranceMs / 1000,
          maxTokenAge: settings.maxTokenAgeMs / 1000,
          currentDate: new Date(now),
          requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
          typ: 'JWT',
        });
        claims = claimsOf(payload);
      } catch (error) {
        throw error instanceof InvalidTokenError ? error : new InvalidTokenError(rejectionOf(error));
      }
      if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(token, claims);
      return claims;
    },
  };
}
