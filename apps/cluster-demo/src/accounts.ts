import type { CredentialsVerifier } from '@sec/session';
import type { Request } from 'express';
import type { UserDirectory } from './users.js';

/** Where a session was started: the bearer-token API or the dashboard's cookie sign-in. */
export type LoginChannel = 'api' | 'dashboard';

/** Enough of the User-Agent to tell a user's devices apart, and well inside the 2 KiB of metadata. */
const MAX_DEVICE_CHARS = 200;

/**
 * What a session keeps about the device that started it, shown in the session list. Never a
 * secret: metadata is returned to whoever may list the sessions.
 */
function deviceOf(req: Request, channel: LoginChannel): Record<string, string> {
  const agent = req.get('user-agent');
  return {
    channel,
    ...(agent && { device: agent.slice(0, MAX_DEVICE_CHARS) }),
    ...(req.ip && { ip: req.ip }),
  };
}

/**
 * sessionRouter's verifyCredentials for the demo's users: the directory checks the password
 * (scrypt, constant time), the session gets the user's roles and the device's description.
 * @example app.use('/auth', sessionRouter(sessions, { verifyCredentials: credentialsOf(users, 'api') }));
 */
export function credentialsOf(users: UserDirectory, channel: LoginChannel): CredentialsVerifier {
  return async ({ username, password }, req) => {
    const user = await users.verify(username, password);
    if (!user) return null;
    return { userId: user.username, roles: user.roles, metadata: deviceOf(req, channel) };
  };
}
