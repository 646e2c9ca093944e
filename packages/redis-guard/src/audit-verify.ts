import { entryHash, GENESIS_HASH, parseHead, type RawEntry, toEntry } from './audit-chain.js';
import { auditKeys } from './audit-keys.js';
import { OptionError } from './errors.js';
import type { RedisGuard } from './guard.js';
import { checkOptions } from './options.js';

/** Entries one XRANGE page reads while verifying. */
const PAGE = 1_000;

/**
 * What `verifyAuditTrail` found. `ok` is false only for tampering: entries trimmed by the cap
 * are reported in `trimmed`, since the first retained entry's predecessor cannot be checked.
 * @example
 * const result: AuditVerification = await verifyAuditTrail(guard);
 * if (!result.ok) console.error(result.broken?.message);
 */
export interface AuditVerification {
  readonly ok: boolean;
  /** Entries read and checked. */
  readonly checked: number;
  /** Entries removed by the cap before the first retained one. */
  readonly trimmed: number;
  readonly firstId: string | undefined;
  readonly lastId: string | undefined;
  /** The head the trail records: the newest entry's sequence number, id and hash. */
  readonly head: { readonly n: number; readonly id: string; readonly hash: string } | undefined;
  /** The first broken link. */
  readonly broken?: {
    readonly kind: 'altered' | 'deleted' | 'inserted';
    /** The entry at which the chain breaks (for a deletion: the first entry after the gap). */
    readonly id: string;
    readonly message: string;
  };
}

type Broken = NonNullable<AuditVerification['broken']>;

/**
 * @example const options: VerifyOptions = { anchor: { id: '1764460800000-0', hash: 'ab'.repeat(32) } };
 */
export interface VerifyOptions {
  /**
   * An entry's id and hash recorded earlier, outside Redis (`verify` prints the head's): the chain
   * must still hold that entry with that hash, which a rewrite of the whole chain cannot fake.
   * An anchor older than the oldest retained entry was trimmed and cannot be checked.
   */
  readonly anchor?: { readonly id: string; readonly hash: string };
}

/** Stream ids compare by their two numbers, not as strings. */
function laterId(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am > bm || (am === bm && as > bs);
}

/**
 * Walks the whole trail, oldest first, and checks every link: each entry's hash against its
 * contents (altered), each entry's `prev` against the hash before it and its sequence number
 * against the one before it (deleted, inserted), and the newest against the head key (the newest
 * entries deleted, or entries appended by something other than the trail). Reads with XRANGE in
 * pages, so a long trail does not hold Redis.
 * @example
 * const { ok, trimmed, broken } = await verifyAuditTrail(guard);
 * console.log(ok ? `intact (${trimmed} trimmed by the cap)` : `tampered: ${broken!.message}`);
 */
export async function verifyAuditTrail(
  guard: RedisGuard,
  options: VerifyOptions = {},
): Promise<AuditVerification> {
  checkOptions('verifyAuditTrail', options, { anchor: 'object' });
  const anchor = options.anchor;
  if (anchor !== undefined && (!/^\d+-\d+$/.test(anchor.id) || !/^[0-9a-f]{64}$/.test(anchor.hash))) {
    throw new OptionError(
      'anchor',
      'verifyAuditTrail(): "anchor" must be { id: "<ms>-<seq>", hash: "<64 hex digits>" }',
    );
  }
  let anchorSeen = false;
  const keys = auditKeys(guard.keyPrefix);
  const head = parseHead(await guard.execute((c) => c.get(keys.head)));
  let checked = 0;
  let trimmed = 0;
  let firstId: string | undefined;
  let previous: { id: string; n: number; hash: string } | undefined;
  let beforePrevious: { hash: string } | undefined;
  let broken: Broken | undefined;
  let start = '-';

  const check = (raw: RawEntry): Broken | undefined => {
    const entry = toEntry(raw);
    const at = `${entry.id} (n=${Number.isFinite(entry.n) ? entry.n : '?'}, ${entry.type || 'no type'})`;
    if (anchor && entry.id === anchor.id) {
      anchorSeen = true;
      if (entry.hash !== anchor.hash) {
        return {
          kind: 'altered',
          id: entry.id,
          message: `entry ${at} no longer has the hash recorded for it: the chain was rewritten up to here or later`,
        };
      }
    }
    if (entry.hash !== entryHash(raw[0], raw[1]) || !Number.isSafeInteger(entry.n)) {
      // Past the newest entry the trail wrote, or numbered as an earlier one: added, not changed.
      const added = (head && laterId(entry.id, head.id)) || (previous && entry.n <= previous.n);
      return {
        kind: added ? 'inserted' : 'altered',
        id: entry.id,
        message: `entry ${at} does not match its hash: altered, or inserted by something other than the audit trail`,
      };
    }
    if (!previous) {
      firstId = entry.id;
      if (entry.n === 1 && entry.prev !== GENESIS_HASH) {
        return { kind: 'altered', id: entry.id, message: `the first entry ${at} has a predecessor hash` };
      }
      trimmed = entry.n - 1;
      return undefined;
    }
    if (entry.prev === previous.hash && entry.n === previous.n + 1) return undefined;
    if (beforePrevious && entry.prev === beforePrevious.hash) {
      return {
        kind: 'inserted',
        id: previous.id,
        message: `entry ${previous.id} (n=${previous.n}) was inserted: ${entry.id} follows the entry before it`,
      };
    }
    if (entry.n > previous.n + 1) {
      const missing = entry.n - previous.n - 1;
      return {
        kind: 'deleted',
        id: entry.id,
        message: `${missing} entr${missing === 1 ? 'y' : 'ies'} (n=${previous.n + 1}${missing > 1 ? `..${entry.n - 1}` : ''}) deleted between ${previous.id} and ${entry.id}`,
      };
    }
    return {
      kind: 'inserted',
      id: entry.id,
      message: `entry ${at} does not follow ${previous.id} (n=${previous.n}): inserted, or the chain was rewritten`,
    };
  };

  while (!broken) {
    const page = (await guard.execute((c) => c.xrange(keys.stream, start, '+', 'COUNT', PAGE))) as RawEntry[];
    for (const raw of page) {
      broken = check(raw);
      if (broken) break;
      checked++;
      beforePrevious = previous;
      const entry = toEntry(raw);
      previous = { id: entry.id, n: entry.n, hash: entry.hash };
    }
    if (page.length < PAGE) break;
    start = `(${page.at(-1)![0]}`;
  }

  if (!broken && head && (!previous || previous.id !== head.id || previous.hash !== head.hash)) {
    const missing = head.n - (previous?.n ?? 0);
    broken =
      previous && head.n < previous.n
        ? {
            kind: 'inserted',
            id: previous.id,
            message: `entries after ${head.id} (n=${head.n}, the last the trail wrote) were added by something else`,
          }
        : {
            kind: 'deleted',
            id: head.id,
            message: `${missing} newest entr${missing === 1 ? 'y' : 'ies'} deleted: the trail last wrote ${head.id} (n=${head.n})${previous ? `, the stream ends at ${previous.id}` : ', the stream is empty'}`,
          };
  }
  if (!broken && anchor && !anchorSeen && firstId !== undefined && !laterId(firstId, anchor.id)) {
    broken = {
      kind: 'deleted',
      id: anchor.id,
      message: `the recorded entry ${anchor.id} is gone, though the trail still holds entries from ${firstId} on`,
    };
  }
  if (!broken && !head && previous) {
    broken = {
      kind: 'altered',
      id: previous.id,
      message: `the head key ${keys.head} is missing or malformed`,
    };
  }
  return {
    ok: broken === undefined,
    checked,
    trimmed,
    firstId,
    lastId: previous?.id,
    head,
    ...(broken && { broken }),
  };
}
