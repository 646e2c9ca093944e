import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// packages/testing/src → the monorepo root → its sibling `shared/` (present in CI, absent in a user's clone).
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Absolute path inside `../shared`, or undefined when that folder is absent. */
export function sharedPath(...parts: string[]): string | undefined {
  const path = join(root, '..', 'shared', ...parts);
  return existsSync(path) ? path : undefined;
}

/**
 * Returns the path, or prints a visible notice and returns undefined so the caller can `describe.skip`.
 * @example const dir = skipWithoutShared('vectors/fernet'); (dir ? describe : describe.skip)(...)
 */
export function skipWithoutShared(...parts: string[]): string | undefined {
  const path = sharedPath(...parts);
  if (!path) {
    process.stderr.write(
      `\n[notice] ../shared/${parts.join('/')} is absent: skipping the tests that read it.\n\n`,
    );
  }
  return path;
}
