import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';

/**
 * JWTs and Fernet tokens built by hand with node:crypto: a forger does not use a well-behaved
 * library, and neither do we, so any header, claim or byte can be wrong on purpose.
 */
export const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** A JSON segment; a string is taken as raw JSON text (duplicate keys, odd spacing). */
export const segment = (value: unknown) => b64url(typeof value === 'string' ? value : JSON.stringify(value));

export const decodeSegment = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** HS256 (or HS384/HS512 by header) over `header.payload` with any key, PEM text included. */
export function hmacJwt(key: string | Buffer, header: unknown, payload: unknown): string {
  const alg = (header as { alg?: string } | null)?.alg;
  const hash = alg === 'HS384' ? 'sha384' : alg === 'HS512' ? 'sha512' : 'sha256';
  const input = `${segment(header)}.${segment(payload)}`;
  return `${input}.${b64url(createHmac(hash, key).update(input).digest())}`;
}

/** A JWT with a real asymmetric signature from a key the server has never seen. */
export function signedJwt(
  alg: 'RS256' | 'PS256' | 'ES256' | 'EdDSA',
  key: KeyObject,
  header: object,
  payload: unknown,
) {
  const input = `${segment({ ...header, alg })}.${segment(payload)}`;
  const data = Buffer.from(input);
  const signature =
    alg === 'EdDSA'
      ? sign(null, data, key)
      : alg === 'ES256'
        ? sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })
        : alg === 'PS256'
          ? sign('sha256', data, { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */ })
          : sign('sha256', data, key);
  return `${input}.${b64url(signature)}`;
}

/** Attacker key pairs, made once per run. */
export function attackerKeys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ed = generateKeyPairSync('ed25519');
  const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
  return {
    rsa,
    ec,
    ed,
    rsaPem: pem(rsa.publicKey),
    ecPem: pem(ec.publicKey),
    edPem: pem(ed.publicKey),
  };
}

/** Replaces the character at `index` with a different base64url character. */
export function flipChar(token: string, index: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const at = alphabet.indexOf(token[index]!);
  const other = alphabet[(at + 17) % alphabet.length]!;
  return `${token.slice(0, index)}${other}${token.slice(index + 1)}`;
}

/** Fernet spec: version 0x80 | timestamp (u64 BE) | IV (16) | AES-128-CBC ciphertext | HMAC-SHA256. */
export function fernetEncrypt(key: string, plaintext: string, timestamp = Math.floor(Date.now() / 1000)) {
  const raw = Buffer.from(key, 'base64url');
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-cbc', raw.subarray(16), iv);
  const body = Buffer.concat([
    Buffer.from([0x80]),
    Buffer.alloc(8),
    iv,
    cipher.update(plaintext, 'utf8'),
    cipher.final(),
  ]);
  body.writeBigUInt64BE(BigInt(timestamp), 1);
  const mac = createHmac('sha256', raw.subarray(0, 16)).update(body).digest();
  return reencode(Buffer.concat([body, mac]));
}

/** The plaintext of a Fernet token (no time check): to read what the cache stored. */
export function fernetDecrypt(key: string, token: string): string {
  const raw = Buffer.from(key, 'base64url');
  const data = Buffer.from(token, 'base64url');
  const decipher = createDecipheriv('aes-128-cbc', raw.subarray(16), data.subarray(9, 25));
  return Buffer.concat([decipher.update(data.subarray(25, -32)), decipher.final()]).toString('utf8');
}

/** A Fernet token's bytes with one bit flipped at `offset`, re-encoded. */
export function flipFernetBit(token: string, offset: number): string {
  const data = Buffer.from(token, 'base64url');
  data[offset % data.length]! ^= 0x01;
  return reencode(data);
}

/** Bytes back to a padded base64url token, as Fernet writes them. */
export function reencode(data: Buffer): string {
  const text = data.toString('base64url');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}
