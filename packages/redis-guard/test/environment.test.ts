import { describe, expect, it } from '@jest/globals';
import { detectEnvironment } from '../src/index.js';

describe('detectEnvironment', () => {
  it('defaults to development when nothing is set (the Express convention)', () => {
    expect(detectEnvironment({})).toEqual({ name: 'development', source: 'default', warning: undefined });
  });

  it.each([
    ['NODE_ENV', 'production', 'production'],
    ['ENVIRONMENT', 'prod', 'production'],
    ['APP_ENV', 'staging', 'staging'],
    ['NODE_ENV', 'test', 'test'],
    ['ENVIRONMENT', 'dev', 'development'],
    ['APP_ENV', 'Production', 'production'],
  ])('%s=%s → %s', (variable, value, expected) => {
    const info = detectEnvironment({ [variable]: value });
    expect(info.name).toBe(expected);
    expect(info.source).toBe(variable);
    expect(info.warning).toBeUndefined();
  });

  it('applies production rules to an unrecognised value and names the recognised ones', () => {
    const info = detectEnvironment({ NODE_ENV: 'prodution' });
    expect(info.name).toBe('production');
    expect(info.warning).toContain('NODE_ENV="prodution"');
    expect(info.warning).toContain('production, staging, development, test');
  });

  it('takes the strictest when variables disagree, and says so', () => {
    const info = detectEnvironment({ NODE_ENV: 'development', APP_ENV: 'production' });
    expect(info).toMatchObject({ name: 'production', source: 'APP_ENV' });
    expect(info.warning).toMatch(/disagree/);
  });
});
