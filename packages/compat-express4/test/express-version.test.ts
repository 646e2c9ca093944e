import { createRequire } from 'node:module';
import { describe, expect, it } from '@jest/globals';
import express from 'express';

// Every other file in this run is a package's own test: this one proves what they ran against.
describe('the express these tests load', () => {
  it('is Express 4 (express.query exists in 4 and was removed in 5)', () => {
    expect(typeof (express as unknown as { query?: unknown }).query).toBe('function');
    const version: string = createRequire(import.meta.url)('express4/package.json').version;
    expect(version).toMatch(/^4\./);
  });
});
