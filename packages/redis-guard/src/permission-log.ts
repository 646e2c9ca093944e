import type { Logger } from './logger.js';

/** Distinct denials remembered, so a hot path denied on every request logs once, not once a call. */
const REMEMBERED = 256;

/**
 * NOPERM means the Redis ACL user lacks a command, key or channel that a package needs: a
 * deployment mistake no retry fixes. It is logged once per command and reply, as an error naming
 * the command, so the operator can grant it; callers still get a 503 each time.
 */
export class PermissionLog {
  readonly #logger: Logger;
  readonly #name: string;
  readonly #seen = new Set<string>();

  constructor(logger: Logger, name: string) {
    this.#logger = logger;
    this.#name = name;
  }

  /** `safe` is `error` with secrets removed; only the command's name is read, never its arguments. */
  record(error: unknown, safe: Error): void {
    const command = commandName(error, safe.message);
    const key = `${command} ${safe.message}`;
    if (this.#seen.has(key)) return;
    if (this.#seen.size >= REMEMBERED) this.#seen.delete(this.#seen.values().next().value!);
    this.#seen.add(key);
    this.#logger.error(
      { event: 'redis.config.permission_denied', redis: this.#name, command, err: safe },
      `Redis configuration error: the ACL user is denied ${command} (${safe.message}). Grant the ` +
        'command, key pattern or channel it needs (ACL SETUSER); until then these calls answer 503.',
    );
  }
}

/**
 * The denied command: named in the reply for a command denial ("… to run the 'publish' command",
 * also from inside a script), else the command ioredis attached to the ReplyError (a key or
 * channel denial). Never its arguments: they may hold keys with personal data, or a password.
 */
function commandName(error: unknown, message: string): string {
  const named = /'([a-z][a-z0-9|_-]*)' command/i.exec(message)?.[1];
  if (named) return named.toUpperCase();
  const sent = (error as { command?: { name?: unknown } }).command?.name;
  // A script is sent as EVALSHA and, until the server has it, as EVAL: one denial inside it, one line.
  return typeof sent === 'string' ? sent.toUpperCase().replace(/^EVALSHA/, 'EVAL') : 'UNKNOWN';
}
