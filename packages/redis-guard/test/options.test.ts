import { describe, expect, it } from '@jest/globals';
import { OptionError, SecError } from '../src/errors.js';
import { checkOptions } from '../src/options.js';

const schema = {
  name: { kind: 'string', required: 'it names the thing, e.g. "api"' },
  points: 'number',
} as const;

function thrown(run: () => unknown): OptionError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OptionError);
    return error as OptionError;
  }
  throw new Error('expected an OptionError');
}

describe('checkOptions', () => {
  it('a missing required option is an OptionError (a SecError, not a TypeError) that says why', () => {
    const error = thrown(() => checkOptions('make', { points: 1 }, schema));
    expect(error).toBeInstanceOf(SecError);
    expect(error).not.toBeInstanceOf(TypeError);
    expect(error).toMatchObject({
      option: 'name',
      code: 'ERR_SEC_INVALID_OPTION',
      status: 500,
      expose: false,
    });
    expect(error.message).toBe('make(): option "name" is required: it names the thing, e.g. "api"');
  });

  it('no options at all, or the option set to undefined, is missing too', () => {
    expect(thrown(() => checkOptions('make', undefined, schema)).option).toBe('name');
    expect(thrown(() => checkOptions('make', { name: undefined }, schema)).option).toBe('name');
    expect(() => checkOptions('make', undefined, { points: 'number' })).not.toThrow();
  });

  it('a typo is reported as the typo, with a suggestion, before the option it misses', () => {
    expect(thrown(() => checkOptions('make', { nmae: 'api' }, schema)).message).toMatch(
      /unknown option "nmae" — did you mean "name"\?/,
    );
  });

  it("a required option's kind and check still apply", () => {
    expect(thrown(() => checkOptions('make', { name: 5 }, schema)).message).toMatch(
      /must be string, got number/,
    );
    const rule = { kind: 'object', required: true, check: () => 'must have reserve()' } as const;
    expect(thrown(() => checkOptions('make', { limiter: {} }, { limiter: rule })).message).toBe(
      'make(): option "limiter" must have reserve(), got object',
    );
  });
});
