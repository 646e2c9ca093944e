// Value of each url-safe base64 character, -1 for everything else ('+' and '/' included).
const VALUES = new Int8Array(128).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries()) {
  VALUES[c.charCodeAt(0)] = i;
}
const EQUALS = 0x3d;
const PADDING = ['', '==', '='] as const;

/**
 * Url-safe base64 with `=` padding, as Python's `base64.urlsafe_b64encode` writes it.
 */
export function encodeBase64Url(bytes: Buffer): string {
  return bytes.toString('base64url') + PADDING[bytes.length % 3]!;
}

/**
 * Strict url-safe base64: only `[A-Za-z0-9_-]`, then at most two `=`, length a multiple of 4, and
 * the canonical encoding of its bytes (unused low bits of the last character are zero). Returns
 * undefined for anything else, so a token has exactly one accepted spelling.
 *
 * Node's decoder alone is lenient: it skips characters outside the alphabet, stops at a stray `=`,
 * accepts `+` and `/`, and reads a two-byte character by its low byte ('Ł' decodes as 'A'). Rather
 * than a per-character JavaScript loop (or a regex, about 3x slower than the decode itself), we
 * reject what it would misread up front — non-ASCII and `+`/`/` — and then require the decoded
 * length to be exactly what the text length promises: a skipped or stopping character makes it short.
 */
export function decodeBase64UrlStrict(text: string): Buffer | undefined {
  const length = text.length;
  if (length === 0) return Buffer.alloc(0);
  if (length % 4 !== 0) return undefined;
  let pad = 0;
  if (text.charCodeAt(length - 1) === EQUALS) pad = text.charCodeAt(length - 2) === EQUALS ? 2 : 1;
  const last = VALUES[text.charCodeAt(length - 1 - pad)] ?? -1;
  // With one '=' the last character carries 2 unused bits, with two '=' it carries 4.
  if (last < 0 || (pad === 1 && (last & 0b11) !== 0) || (pad === 2 && (last & 0b1111) !== 0))
    return undefined;
  if (text.includes('+') || text.includes('/')) return undefined;
  if (Buffer.byteLength(text, 'utf8') !== length) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.length === (length / 4) * 3 - pad ? bytes : undefined;
}
