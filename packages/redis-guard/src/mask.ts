const MASK = '****';

/** Commands whose arguments are credentials; ioredis copies them into error objects. */
const SECRET_COMMANDS = new Set(['auth', 'hello', 'migrate', 'acl', 'config']);

/**
 * Shows that a secret is set without revealing it.
 */
export function maskSecret(secret: string | undefined): string {
  return secret ? `${MASK} (${secret.length} chars)` : '(not set)';
}

// A username worth keeping in a redacted URL: plain RFC 3986 characters only. Anything else
// suggests the userinfo was pasted unencoded, and then nothing says where the password starts.
const PLAIN_USER = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;

function redactUserinfo(scheme: string, userinfo: string): string {
  const colon = userinfo.indexOf(':');
  const user = colon === -1 ? '' : userinfo.slice(0, colon);
  return `${scheme}${PLAIN_USER.test(user) ? user : ''}:${MASK}@`;
}

/**
 * Removes the password from a Redis URL, for logs and reports. The userinfo runs to the last `@`,
 * so a password pasted with a raw `/`, `#` or `@` is removed whole.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)(.*)@/is, (_match, scheme: string, userinfo: string) =>
    redactUserinfo(scheme, userinfo),
  );
}

/**
 * Replaces every occurrence of the given secrets, and the userinfo of any URL, in a string.
 */
export function maskText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(MASK);
    // URL-encoded copies appear when a password travelled inside REDIS_URL.
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret && encoded.length >= 4) out = out.split(encoded).join(MASK);
  }
  // Greedy to the last `@` before whitespace, so a raw `/`, `#` or `@` in a password stays covered;
  // a ':' is required, so a path with an '@' (npmjs.com/package/@scope/name) is left alone.
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/)(\S*:\S*)@/gi, (_m, scheme: string, userinfo: string) =>
    redactUserinfo(scheme, userinfo),
  );
}

/**
 * A copy of an error that is safe to log or return: secrets removed from message and stack, and
 * the arguments of AUTH/HELLO (which ioredis attaches as `error.command.args`) replaced.
 */
export function scrubError(error: unknown, secrets: readonly string[]): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const scrubbed = new Error(maskText(source.message, secrets));
  scrubbed.name = source.name;
  if (source.stack) scrubbed.stack = maskText(source.stack, secrets);
  const extra = source as Error & { code?: unknown; command?: { name?: string; args?: unknown[] } };
  if (extra.code !== undefined) Object.assign(scrubbed, { code: extra.code });
  if (extra.command) {
    const name = String(extra.command.name ?? '').toLowerCase();
    const args = SECRET_COMMANDS.has(name)
      ? [MASK]
      : (extra.command.args ?? []).map((a) => (typeof a === 'string' ? maskText(a, secrets) : a));
    Object.assign(scrubbed, { command: { name, args } });
  }
  return scrubbed;
}
