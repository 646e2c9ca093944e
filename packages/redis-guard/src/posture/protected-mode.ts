import { isIP } from 'node:net';
import { fail, pass, type RuleDefinition, unknown, warnEverywhere } from './rule.js';
import { PostureFindingCode as Finding } from './types.js';

/** bind lists addresses, each optionally prefixed with '-' (skip if unavailable); empty means every interface. */
function publicAddresses(bind: string): string[] {
  const addresses = bind
    .split(/\s+/)
    .filter(Boolean)
    .map((a) => a.replace(/^-/, ''));
  if (addresses.length === 0) return ['*'];
  return addresses.filter((address) => !isLoopback(address));
}

function isLoopback(address: string): boolean {
  if (address === 'localhost' || address === '::1') return true;
  return isIP(address) === 4 && address.startsWith('127.');
}

/**
 * protected-mode off while listening beyond loopback. Protected mode is what refuses outside
 * connections when the default user has no password; without it, a default user left open
 * serves anyone who can reach the port. A warning, and a pass when the server shows (to an admin
 * user) that default is off or has a password.
 */
export const protectedMode: RuleDefinition = {
  rule: 'protected-mode',
  code: Finding.ProtectedMode,
  setting: 'protected-mode, bind',
  override: 'REDIS_ACCEPT_PROTECTED_MODE_OFF',
  severity: warnEverywhere,
  evaluate({ config, defaultUserLocked }) {
    if (!config.ok) {
      return unknown(
        config.reason,
        'as an admin, CONFIG GET protected-mode must say yes, or bind must list only private addresses and ACL GETUSER default must not show nopass.',
      );
    }
    const mode = config.value.get('protected-mode') ?? 'yes';
    const bind = config.value.get('bind') ?? '';
    const exposed = publicAddresses(bind);
    const observed = `protected-mode ${mode}, bind "${bind}"`;
    if (mode === 'yes') return pass(observed, 'protected-mode is yes.');
    if (exposed.length === 0)
      return pass(observed, 'protected-mode is no, but Redis listens on loopback only.');
    if (defaultUserLocked === true) {
      return pass(observed, 'protected-mode is no, but the default user is off or has a password.');
    }
    return fail(
      observed,
      `protected-mode is no and Redis listens on ${exposed.join(', ')}: if the default user has no password ` +
        '(nopass), anyone who reaches the port can run any command. Set `protected-mode yes`, and give default a ' +
        'password or turn it off (ACL SETUSER default off, after giving administrators a user of their own).',
    );
  },
};
