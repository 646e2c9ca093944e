// The baseline Fernet is compared with: the same token (version, timestamp, IV, AES-128-CBC
// ciphertext, HMAC-SHA256, padded base64url) built straight on node:crypto and Buffer, with none
// of the package's strict decoding or error normalisation.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 0x80;
const HEADER = 1 + 8 + 16;
const MAC = 32;

/** @param {string} key a Fernet key: 32 bytes, url-safe base64 (signing half first) */
export function rawFernet(key) {
  const bytes = Buffer.from(key, 'base64url');
  const signing = bytes.subarray(0, 16);
  const encryption = bytes.subarray(16, 32);
  return {
    encrypt(data) {
      const iv = randomBytes(16);
      const header = Buffer.allocUnsafe(HEADER);
      header[0] = VERSION;
      header.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)), 1);
      iv.copy(header, 9);
      const cipher = createCipheriv('aes-128-cbc', encryption, iv);
      const body = Buffer.concat([header, cipher.update(data), cipher.final()]);
      const mac = createHmac('sha256', signing).update(body).digest();
      const text = Buffer.concat([body, mac]).toString('base64url');
      return text + '='.repeat((4 - (text.length % 4)) % 4);
    },
    decrypt(token) {
      const raw = Buffer.from(token, 'base64url');
      if (raw.length < HEADER + 16 + MAC || raw[0] !== VERSION) throw new Error('invalid token');
      const body = raw.subarray(0, raw.length - MAC);
      const expected = createHmac('sha256', signing).update(body).digest();
      if (!timingSafeEqual(expected, raw.subarray(raw.length - MAC))) throw new Error('invalid token');
      const decipher = createDecipheriv('aes-128-cbc', encryption, raw.subarray(9, HEADER));
      return Buffer.concat([decipher.update(raw.subarray(HEADER, raw.length - MAC)), decipher.final()]);
    },
  };
}
