import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decodeBase64UrlStrict, encodeBase64Url } from '../src/base64url.js';

// Reference implementation: slow but obviously strict (a regex, then canonical re-encoding).
function reference(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9_-]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return encodeBase64Url(bytes) === text ? bytes : undefined;
}

describe('strict url-safe base64', () => {
  it('round-trips with "=" padding, as Python writes it', () => {
    expect(encodeBase64Url(Buffer.from('hi'))).toBe('aGk=');
    expect(encodeBase64Url(Buffer.from('h'))).toBe('aA==');
    expect(encodeBase64Url(Buffer.from([0xfb, 0xff]))).toBe('-_8=');
    expect(decodeBase64UrlStrict('-_8=')).toEqual(Buffer.from([0xfb, 0xff]));
    expect(decodeBase64UrlStrict('')).toEqual(Buffer.alloc(0));
  });

  it.each([
    ['missing padding', 'aGk'],
    ['missing double padding', 'aA'],
    ['trailing data after padding', 'aGk=aGk='],
    ['trailing garbage', 'aGk=x'],
    ['too much padding', 'aA==='],
    ['padding only', '===='],
    ['standard alphabet +', '+_8='],
    ['standard alphabet /', '-/8='],
    ['whitespace', 'aG k'],
    ['newline', 'aGk=\n'],
    ['non-ASCII read as its low byte by Node', 'aGkŁaGk='],
    ['latin-1 character', 'aGké'],
    ['non-canonical last character (unused bits set)', 'aGl='],
    ['non-canonical before "=="', 'aB=='],
  ])('rejects %s', (_name, text) => {
    expect(decodeBase64UrlStrict(text)).toBeUndefined();
  });

  it('decodes every encoding it produced', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = encodeBase64Url(Buffer.from(bytes));
        expect(decodeBase64UrlStrict(text)).toEqual(Buffer.from(bytes));
      }),
    );
  });

  it('accepts exactly what a regex-and-re-encode reference accepts', () => {
    const alphabet = [...'AQgw_-9z+/= \n%Łé\u0000'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 24 }), (chars) => {
        const text = chars.join('');
        expect(decodeBase64UrlStrict(text)).toEqual(reference(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('rejects any single character of a valid encoding replaced by a foreign one', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 60 }),
        fc.nat(),
        fc.constantFrom('+', '/', ' ', '%', '=', 'Ł', 'é', '\u00c1', '.'),
        (bytes, at, foreign) => {
          const text = encodeBase64Url(Buffer.from(bytes));
          const index = at % text.length;
          const mutated = text.slice(0, index) + foreign + text.slice(index + 1);
          expect(decodeBase64UrlStrict(mutated)).toEqual(reference(mutated));
        },
      ),
    );
  });
});
