import { afterEach, describe, expect, it } from '@jest/globals';
import { openTelemetry, resetOpenTelemetry, withSpan } from '../src/telemetry.js';

describe('telemetry without @opentelemetry/api', () => {
  afterEach(() => resetOpenTelemetry());

  it('tries to load it once; when it is absent, work runs as it is and errors pass through untouched', async () => {
    let attempts = 0;
    const absent = () => {
      attempts++;
      throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), { code: 'MODULE_NOT_FOUND' });
    };
    expect(openTelemetry(absent)).toBeNull();
    expect(openTelemetry(absent)).toBeNull();
    expect(attempts).toBe(1);
    await expect(withSpan('@sec/test', 'sec.test', {}, async () => 42)).resolves.toBe(42);
    const failure = new Error('boom');
    await expect(withSpan('@sec/test', 'sec.test', {}, () => Promise.reject(failure))).rejects.toBe(failure);
  });

  it('loads it where it is installed', () => {
    expect(openTelemetry()?.trace).toBeDefined();
  });
});
