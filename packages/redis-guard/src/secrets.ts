import { randomBytes, randomInt } from 'node:crypto';
import type { Environment } from './environment.js';

/** Password length `gen-password` produces per environment (above each environment's minimum). */
export const GENERATED_PASSWORD_LENGTH: Readonly<Record<Environment, number>> = {
  production: 48,
  staging: 32,
  development: 24,
  test: 12,
};

// Letters and digits only: safe inside URLs, .env files, YAML and shell without quoting.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A random password from a 62-character alphabet, without modulo bias.
 */
export function generatePassword(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/**
 * A Fernet key: 32 random bytes, url-safe base64 with padding (what Python's Fernet.generate_key() returns).
 */
export function generateFernetKey(): string {
  return randomBytes(32).toString('base64url').concat('=');
}
