import { randomBytes } from 'node:crypto';
import { link, lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RedisGuardErrorCode as Code, SecError } from './errors.js';

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Writes a file so that it ends with exactly `mode`, whatever was there: the text goes to a new
 * temporary file in the same directory (created with `mode`, so it is never readable by others,
 * not even for a moment), which then takes the target's place in one step. Without `force` the
 * final step is a hard link, which fails if the target exists, so nothing is ever overwritten
 * silently, even by a file created after a check.
 */
export async function writeFileAtomically(
  path: string,
  text: string | Uint8Array,
  options: { readonly mode: number; readonly force: boolean },
): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', options.mode);
  try {
    await handle.writeFile(text);
    // The process umask may have removed bits from the mode given to open().
    await handle.chmod(options.mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (options.force) {
      await rename(temp, path);
      return;
    }
    await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw fileExists([path]);
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

export function fileExists(paths: readonly string[]): SecError {
  return new SecError(
    Code.CliFileExists,
    `${paths.join(', ')} already exist${paths.length === 1 ? 's' : ''}; nothing was written. ` +
      'Pass --force to replace it (the new file gets mode 600), or choose another --out.',
  );
}

/** Refuses up front when any target exists and `force` is off, so no command writes half its files. */
export async function refuseExisting(paths: readonly string[], force: boolean): Promise<void> {
  if (force) return;
  const present: string[] = [];
  for (const path of paths) if (await exists(path)) present.push(path);
  if (present.length > 0) throw fileExists(present);
}
