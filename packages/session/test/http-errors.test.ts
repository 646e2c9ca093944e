import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { secErrorHandler } from '@sec/redis-guard';
import express from 'express';
import request from 'supertest';
import { InvalidTokenError, SessionArgumentError } from '../src/index.js';
import { manager, memoryGuard } from './helpers.js';

// Errors an app lets reach Express carry their HTTP status (the http-errors convention), so a
// malformed id from a URL is a 400 and a rejected token a 401, never a 500, with or without
// secErrorHandler().

describe('session errors over HTTP', () => {
  const sessions = manager({ redis: memoryGuard() });
  // Express's own handler logs each error's stack with console.error in production.
  beforeAll(() => {
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterAll(() => {
    jest.restoreAllMocks();
  });
  const app = (withHandler: boolean) => {
    const application = express();
    application.set('env', 'production');
    application.delete('/admin/sessions/:id', (req, res, next) => {
      sessions.revoke(req.params.id).then((revoked) => res.json({ revoked }), next);
    });
    application.get('/verify', (req, res, next) => {
      sessions.verifyRequestToken(String(req.query.token)).then((auth) => res.json(auth), next);
    });
    if (withHandler) application.use(secErrorHandler());
    return application;
  };

  it('carry status, statusCode, expose and headers', () => {
    expect(new SessionArgumentError('userId', 'userId must be …')).toMatchObject({
      status: 400,
      statusCode: 400,
      expose: true,
    });
    expect(new InvalidTokenError('signature')).toMatchObject({
      status: 401,
      expose: false,
      headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
    });
    expect(new InvalidTokenError('missing').headers).toEqual({ 'WWW-Authenticate': 'Bearer' });
  });

  it.each([false, true])(
    'a malformed session id is a 400 and a forged token a 401 (secErrorHandler: %s)',
    async (withHandler) => {
      const malformed = await request(app(withHandler)).delete('/admin/sessions/not{a}session');
      expect(malformed.status).toBe(400);
      const forged = await request(app(withHandler)).get('/verify?token=a.b.c');
      expect(forged.status).toBe(401);
      expect(forged.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      // The reason stays in the logs.
      expect(forged.text).not.toMatch(/malformed|signature/);
      if (withHandler) {
        expect(malformed.body).toEqual({
          error: 'invalid_request',
          message: expect.stringContaining('sessionId'),
        });
        expect(forged.body).toEqual({ error: 'invalid_token' });
      }
    },
  );
});
