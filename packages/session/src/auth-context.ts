/**
 * Who is calling: attached as `req.auth` by authenticate(), returned by verifyRequestToken().
 * @example app.get('/me', sessions.authenticate(), (req, res) => res.json(req.auth?.roles));
 */
export interface AuthContext {
  readonly userId: string;
  readonly sessionId: string;
  /** Read from Redis on this request, never from the token, so a demotion applies at once. */
  readonly roles: readonly string[];
  /** When the user last proved who they are: the login, or the latest markReauthenticated(). */
  readonly authenticatedAt: Date;
}

/**
 * What create() returns.
 * @example const { accessToken, expiresAt } = await sessions.create(userId, { roles: ['editor'] });
 */
export interface CreatedSession {
  readonly accessToken: string;
  readonly sessionId: string;
  /** Absolute expiry of the session and of the token. */
  readonly expiresAt: Date;
}

/**
 * A session as get() and listForUser() describe it.
 * @example const devices = (await sessions.listForUser(userId)).map((s) => s.metadata.userAgent);
 */
export interface SessionInfo {
  readonly sessionId: string;
  readonly userId: string;
  readonly roles: readonly string[];
  readonly createdAt: Date;
  /** The login, or the latest re-authentication. */
  readonly authenticatedAt: Date;
  readonly lastSeenAt: Date;
  /** Absolute expiry. */
  readonly expiresAt: Date;
  /** When the session ends if unused from now on (the earlier of idle and absolute expiry). */
  readonly idleExpiresAt: Date;
  readonly metadata: Readonly<Record<string, unknown>>;
}

declare global {
  namespace Express {
    interface Request {
      /** Set by authenticate() from @sec/session. */
      auth?: AuthContext;
    }
  }
}
