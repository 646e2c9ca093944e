import { createHash } from 'node:crypto';
import type { Logger } from '@sec/redis-guard';
import { checkOptions, positiveInteger } from '@sec/redis-guard/internal';
import { InvalidToken } from './errors.js';
import type { Keyring } from './fernet.js';
import type { EntryStore } from './store.js';
import { parseToken } from './token.js';

/**
 * Keys asked for per SCAN call (Redis's COUNT hint) and re-encrypted concurrently.
 */
export const DEFAULT_ROTATION_BATCH_SIZE = 100;

/**
 * Options of `cache.rotate()`.
 * @example
 * const options: RotationOptions = {
 *   batchSize: 500,
 *   cursor: process.env.ROTATION_CURSOR, // where an interrupted run stopped
 *   onProgress: (p) => console.log(`resume with ROTATION_CURSOR=${p.cursor}`),
 * };
 */
export interface RotationOptions {
  /** SCAN COUNT hint and the number of entries handled at once; default 100. */
  readonly batchSize?: number;
  /** Resume from the `cursor` of an earlier run's last progress event or result. */
  readonly cursor?: string;
  /** Called after every batch; its `cursor` is where a later run resumes. */
  readonly onProgress?: (progress: RotationProgress) => void;
  /** Stops after the current batch; the result's `cursor` resumes the run. */
  readonly signal?: AbortSignal;
}

/**
 * Counts so far in this run, and where to resume.
 * @example
 * const report = (p: RotationProgress) => console.log(`${p.rotated} rotated, resume at ${p.cursor}`);
 * await cache.rotate({ onProgress: report });
 */
export interface RotationProgress {
  /** Keys the scan returned so far in this run (SCAN may return a key twice; rotating is idempotent). */
  readonly scanned: number;
  /** Re-encrypted under the newest key, with their timestamp and TTL kept. */
  readonly rotated: number;
  /** Already under the newest key. */
  readonly current: number;
  /** Expired, deleted or rewritten by the application between our read and our write: left as they are. */
  readonly skipped: number;
  /** Decrypt with none of the keys (tampered, or a key was removed too early): left as they are, logged. */
  readonly invalid: number;
  /** Opaque resume point; undefined when the whole namespace has been walked. */
  readonly cursor: string | undefined;
}

/**
 * @example const { complete, cursor } = await cache.rotate({ signal: AbortSignal.timeout(60_000) });
 */
export interface RotationResult extends RotationProgress {
  /** True when every node was walked; false when stopped by `signal`. */
  readonly complete: boolean;
}

type Outcome = 'rotated' | 'current' | 'skipped' | 'invalid';

/** What a cache hands its rotation: its entries, its keys, and where its namespace lives. */
export interface RotationTarget {
  readonly store: EntryStore;
  readonly keys: Keyring;
  readonly logger: Logger;
  readonly namespace: string;
  /** SCAN MATCH pattern of the namespace's keys. */
  readonly pattern: string;
}

declare module '@sec/redis-guard' {
  interface SecEvents {
    /** Audited: a rotation run re-encrypted a namespace's entries with its newest key (counts only). */
    'cache.key_rotation': {
      readonly namespace: string;
      readonly rotated: number;
      readonly current: number;
      readonly skipped: number;
      readonly invalid: number;
      readonly complete: boolean;
    };
  }
}

/**
 * Re-encrypts every entry of a namespace with its newest key, using SCAN (never KEYS) on every
 * master of a Cluster. Each write is a compare-and-set that keeps the entry's TTL, so a value the
 * application writes meanwhile is never overwritten. Resumable and safe to run twice. The body of
 * `cache.rotate()`.
 */
export async function rotateEntries(
  target: RotationTarget,
  options: RotationOptions = {},
): Promise<RotationResult> {
  checkOptions('rotate', options, {
    batchSize: positiveInteger,
    cursor: 'string',
    onProgress: 'function',
    signal: 'object',
  });
  const { store, keys, logger, pattern, namespace } = target;
  const batchSize = options.batchSize ?? DEFAULT_ROTATION_BATCH_SIZE;
  const counts = { scanned: 0, rotated: 0, current: 0, skipped: 0, invalid: 0 };

  const rotateOne = async (key: string): Promise<Outcome> => {
    const token = await store.get(key);
    if (token === null) return 'skipped';
    try {
      const data = parseToken(token);
      if (keys.isCurrent(data)) return 'current';
      return (await store.replaceIfUnchanged(key, token, keys.rotate(data))) ? 'rotated' : 'skipped';
    } catch (error) {
      if (!(error instanceof InvalidToken)) throw error;
      const id = createHash('sha256').update(key).digest('hex').slice(0, 12);
      logger.warn(
        { event: 'cache.rotation_invalid', namespace, key: id },
        'entry decrypts with none of the keys; left unchanged',
      );
      return 'invalid';
    }
  };

  let cursor = options.cursor;
  let started = false;
  while (!started || cursor !== undefined) {
    if (options.signal?.aborted) return { ...counts, cursor, complete: false };
    started = true;
    const page = await store.scan(cursor, pattern, batchSize);
    for (const outcome of await Promise.all(page.keys.map(rotateOne))) counts[outcome]++;
    counts.scanned += page.keys.length;
    cursor = page.cursor;
    options.onProgress?.({ ...counts, cursor });
  }
  return { ...counts, cursor: undefined, complete: true };
}
