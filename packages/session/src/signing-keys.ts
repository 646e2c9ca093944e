import { createPrivateKey, createPublicKey, type JsonWebKey, KeyObject, webcrypto } from 'node:crypto';
import { ConfigurationError, OptionError } from '@sec/redis-guard';
import { SessionErrorCode as Code } from './errors.js';

/**
 * The JWS algorithms this package signs and verifies with.
 * @example const alg: SessionAlgorithm = 'EdDSA';
 */
export type SessionAlgorithm = 'HS256' | 'EdDSA' | 'ES256';

/**
 * HMAC secrets shorter than the hash output weaken HS256 (RFC 7518 §3.2).
 */
export const MIN_SECRET_BYTES = 32;

/**
 * An HS256 key: at least 32 bytes, e.g. `openssl rand -base64 48`.
 * @example const key: SecretKeyInput = { kid: '2025-06', secret: process.env.SESSION_SECRET! };
 */
export interface SecretKeyInput {
  readonly kid: string;
  readonly alg?: 'HS256';
  readonly secret: string | Uint8Array | KeyObject;
}

/**
 * An EdDSA (Ed25519) or ES256 (P-256) key as PEM (PKCS#8 / SPKI), JWK or KeyObject. Give only
 * `publicKey` for a retired key that may still verify tokens but never signs.
 * @example const key: AsymmetricKeyInput = { kid: 'ed-2025', alg: 'EdDSA', privateKey: process.env.SESSION_PRIVATE_KEY };
 */
export interface AsymmetricKeyInput {
  readonly kid: string;
  readonly alg: 'EdDSA' | 'ES256';
  readonly privateKey?: string | JsonWebKey | KeyObject;
  readonly publicKey?: string | JsonWebKey | KeyObject;
}

/**
 * One entry of `signingKeys`.
 * @example
 * const keys: SigningKeyInput[] = [
 *   { kid: '2025-06', secret: process.env.SESSION_SECRET! }, // signs
 *   { kid: '2024-12', alg: 'EdDSA', publicKey: process.env.OLD_PUBLIC_KEY }, // still verifies
 * ];
 */
export type SigningKeyInput = SecretKeyInput | AsymmetricKeyInput;

interface KeyEntry {
  readonly kid: string;
  readonly alg: SessionAlgorithm;
  readonly verifyKey: Promise<webcrypto.CryptoKey>;
  readonly signKey: Promise<webcrypto.CryptoKey> | undefined;
}

/**
 * The imported keys: sign with the first, verify with whichever `kid` a token names.
 */
export interface KeyRing {
  readonly signer: {
    readonly kid: string;
    readonly alg: SessionAlgorithm;
    readonly key: Promise<webcrypto.CryptoKey>;
  };
  /** The allow-list handed to jose: exactly the algorithms of the configured keys. */
  readonly algorithms: readonly SessionAlgorithm[];
  find(kid: unknown): KeyEntry | undefined;
}

const KID = /^[A-Za-z0-9._-]{1,64}$/;

function invalid(kid: string, message: string, cause?: unknown): ConfigurationError {
  return new ConfigurationError(Code.KeyInvalid, `signing key "${kid}": ${message}`, 'signingKeys', {
    cause,
  });
}

function secretBytes(kid: string, secret: SecretKeyInput['secret']): Buffer {
  if (secret instanceof KeyObject) {
    if (secret.type !== 'secret') throw invalid(kid, 'an HS256 key must be a secret KeyObject');
    return secret.export();
  }
  if (typeof secret === 'string') {
    // A PEM here is the classic algorithm-confusion set-up: a public key used as an HMAC secret.
    if (secret.includes('-----BEGIN'))
      throw invalid(kid, 'an HS256 secret must be random bytes, not a PEM key');
    return Buffer.from(secret, 'utf8');
  }
  if (secret instanceof Uint8Array) return Buffer.from(secret);
  throw invalid(kid, 'secret must be a string, a Uint8Array or a secret KeyObject');
}

function toKeyObject(
  kid: string,
  input: string | JsonWebKey | KeyObject,
  type: 'private' | 'public',
): KeyObject {
  if (input instanceof KeyObject) {
    if (input.type === 'private' && type === 'public') return createPublicKey(input);
    if (input.type !== type) throw invalid(kid, `${type}Key must be a ${type} key`);
    return input;
  }
  try {
    const source = typeof input === 'string' ? input : { key: input, format: 'jwk' as const };
    return type === 'private' ? createPrivateKey(source) : createPublicKey(source);
  } catch (error) {
    throw invalid(kid, `${type}Key could not be read (PEM or JWK expected)`, error);
  }
}

function assertCurve(kid: string, alg: 'EdDSA' | 'ES256', key: KeyObject): void {
  const ok =
    alg === 'EdDSA'
      ? key.asymmetricKeyType === 'ed25519'
      : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  if (!ok) throw invalid(kid, `${alg} needs ${alg === 'EdDSA' ? 'an Ed25519' : 'a P-256 (prime256v1)'} key`);
}

const SUBTLE_PARAMS = {
  EdDSA: { name: 'Ed25519' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
} as const;

/**
 * jose 6 re-imports a raw secret on every call; CryptoKeys made once are reused as they are, so
 * each verification is only the HMAC or signature check.
 */
function importAsymmetric(
  alg: 'EdDSA' | 'ES256',
  key: KeyObject,
  usage: 'sign' | 'verify',
): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('jwk', key.export({ format: 'jwk' }), SUBTLE_PARAMS[alg], false, [usage]);
}

function settle<T>(promise: Promise<T>): Promise<T> {
  // Validation already ran synchronously; keep a late import failure from being unhandled.
  promise.catch(() => undefined);
  return promise;
}

/**
 * `secret: process.env.SESSION_SECRET` with the variable unset (or set to nothing) is the most
 * common first-run mistake; name it, rather than let it fall through to the algorithm checks.
 */
function secretMissing(kid: string, secret: unknown): ConfigurationError {
  const what = secret === undefined ? 'has no secret' : 'has an empty secret';
  return new ConfigurationError(
    Code.SecretMissing,
    `signing key "${kid}" ${what}. If it is read from an environment variable (e.g. SESSION_SECRET), ` +
      'that variable is not set: set it to at least 32 random bytes (`openssl rand -base64 48`), ' +
      'or pass signingKeys: [{ kid, alg, privateKey }] for EdDSA / ES256.',
    'signingKeys',
  );
}

function importEntry(input: SigningKeyInput): KeyEntry {
  const kid = input.kid;
  const secret: unknown = (input as Partial<SecretKeyInput>).secret;
  const meantAsHmac =
    (input.alg === undefined || input.alg === 'HS256') && !('privateKey' in input || 'publicKey' in input);
  if (meantAsHmac && (secret === undefined || secret === null || secret === ''))
    throw secretMissing(kid, secret);
  if ('secret' in input && input.secret !== undefined) {
    if (input.alg !== undefined && input.alg !== 'HS256')
      throw invalid(kid, 'a `secret` is only valid with alg HS256');
    const bytes = secretBytes(kid, input.secret);
    if (bytes.length < MIN_SECRET_BYTES) {
      throw new ConfigurationError(
        Code.KeyTooShort,
        `signing key "${kid}": an HS256 secret needs at least ${MIN_SECRET_BYTES} bytes (got ${bytes.length}). ` +
          'Generate one with `openssl rand -base64 48`.',
        'signingKeys',
      );
    }
    const key = settle(
      webcrypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']),
    );
    return { kid, alg: 'HS256', verifyKey: key, signKey: key };
  }
  const asymmetric = input as AsymmetricKeyInput;
  if (asymmetric.alg !== 'EdDSA' && asymmetric.alg !== 'ES256') {
    throw invalid(kid, 'alg must be HS256 (with `secret`), EdDSA or ES256 (with `privateKey` / `publicKey`)');
  }
  if (asymmetric.privateKey === undefined && asymmetric.publicKey === undefined) {
    throw invalid(kid, 'give a privateKey (to sign) and/or a publicKey (to verify)');
  }
  const priv =
    asymmetric.privateKey === undefined ? undefined : toKeyObject(kid, asymmetric.privateKey, 'private');
  const pub = toKeyObject(kid, asymmetric.publicKey ?? priv!, 'public');
  assertCurve(kid, asymmetric.alg, pub);
  if (priv) {
    assertCurve(kid, asymmetric.alg, priv);
    const derived = createPublicKey(priv).export({ format: 'jwk' });
    const given = pub.export({ format: 'jwk' });
    if (derived.x !== given.x || derived.y !== given.y)
      throw invalid(kid, 'privateKey and publicKey do not form a pair');
  }
  return {
    kid,
    alg: asymmetric.alg,
    verifyKey: settle(importAsymmetric(asymmetric.alg, pub, 'verify')),
    signKey: priv ? settle(importAsymmetric(asymmetric.alg, priv, 'sign')) : undefined,
  };
}

/**
 * Validates and imports the configured keys once, at start-up. Throws ConfigurationError for a
 * duplicate or malformed `kid`, short secrets, wrong curves, or a first key that cannot sign (an
 * empty or missing list is an OptionError, found by the option schema first).
 */
export function importKeys(inputs: readonly SigningKeyInput[] | undefined): KeyRing {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new OptionError(
      'signingKeys',
      'createSessionManager(): option "signingKeys" must hold at least one key',
    );
  }
  const entries = new Map<string, KeyEntry>();
  for (const input of inputs) {
    const kid: unknown = (input as { kid?: unknown } | null)?.kid;
    if (typeof kid !== 'string' || !KID.test(kid)) {
      throw invalid(String(kid), 'every key needs a `kid` of 1-64 characters A-Z a-z 0-9 . _ -');
    }
    if (entries.has(kid)) {
      throw new ConfigurationError(
        Code.DuplicateKid,
        `signing key "${kid}" is listed twice; every kid must be unique`,
        'signingKeys',
      );
    }
    entries.set(kid, importEntry(input));
  }
  const first = entries.values().next().value!;
  if (!first.signKey) {
    throw new ConfigurationError(
      Code.FirstKeyCannotSign,
      `the first signing key ("${first.kid}") signs new tokens, so it needs a secret or a privateKey; ` +
        'list retired, verify-only keys after it',
      'signingKeys',
    );
  }
  return {
    signer: { kid: first.kid, alg: first.alg, key: first.signKey },
    algorithms: [...new Set([...entries.values()].map((e) => e.alg))],
    find: (kid) => (typeof kid === 'string' ? entries.get(kid) : undefined),
  };
}
