import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import { RedisGuardErrorCode as Code, SecError } from './errors.js';

export interface LoadedEnvFile {
  /** The file's variables under the process environment, which wins (as with `node --env-file`). */
  readonly env: NodeJS.ProcessEnv;
  /** Notes to print: what was read and what the environment overrode. */
  readonly notes: readonly string[];
  /** Security variables whose value a '#' outside quotes cut short: what remains must not be used. */
  readonly cut: readonly string[];
}

// A '#' outside quotes starts a comment for node --env-file and dotenv alike: the rest is dropped.
// One glued to the value (`p@ss#word`) is a value cut short; one after a space is a real comment.
const GLUED_HASH = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*[^'"`\s#][^\s#]*#/;

/**
 * Reads a .env file with Node's own parser (`util.parseEnv`, the one behind `node --env-file`), so
 * `check` sees exactly what such an app sees. Values are never printed, only variable names.
 */
export async function loadEnvFile(path: string, base: NodeJS.ProcessEnv): Promise<LoadedEnvFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new SecError(Code.CliUsage, `--env-file ${path} cannot be read (${reason})`);
  }
  const parsed = parseEnv(text);
  const names = Object.keys(parsed);
  const overridden = names.filter((name) => base[name] !== undefined && base[name] !== parsed[name]);
  const notes = [
    `${path}: ${names.length} variable${names.length === 1 ? '' : 's'}` +
      (overridden.length > 0 ? `; the environment overrides ${overridden.join(', ')}` : ''),
  ];
  const cut = text
    .split(/\r?\n/)
    .map((line) => GLUED_HASH.exec(line)?.[1])
    .filter(
      (name): name is string => name !== undefined && /^REDIS_|^(NODE_ENV|ENVIRONMENT|APP_ENV)$/.test(name),
    );
  return { env: { ...parsed, ...base }, notes, cut };
}
