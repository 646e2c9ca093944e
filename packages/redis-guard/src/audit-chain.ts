import { createHash } from 'node:crypto';

/** The `prev` of the first entry ever written: no entry came before it. */
export const GENESIS_HASH = '0'.repeat(64);

/** Fields the append script adds around the caller's: the sequence number, and the chain. */
const CHAIN_FIELDS = new Set(['n', 'prev', 'hash']);

/**
 * One entry of the audit trail, as read back from Redis.
 * @example
 * const reader = createAuditReader(guard, { blockMs: 0 });
 * for (const entry of await reader.read()) console.log(entry.id, entry.type, entry.user ?? '-', entry.data);
 */
export interface AuditEntry {
  /** Stream id, `<ms>-<seq>`: the time Redis appended it, and its position. */
  readonly id: string;
  /** 1 for the first entry ever written, one more for each after it (trimmed ones included). */
  readonly n: number;
  /** The event type, e.g. `breaker.transition`. */
  readonly type: string;
  /** The user the event is about, when it is about one. */
  readonly user?: string;
  /** The event's other fields. */
  readonly data: Readonly<Record<string, unknown>>;
  /** `host:pid` of the process that wrote it. */
  readonly origin: string;
  /** Hash of the entry before it (64 zeros for the first). */
  readonly prev: string;
  /** SHA-256 over prev, id and every other field, in order. */
  readonly hash: string;
}

/** An entry as Redis returns it: the id and a flat field/value list. */
export type RawEntry = readonly [id: string, fields: readonly string[]];

function enc(value: string): string {
  return `${Buffer.byteLength(value)}:${value}`;
}

/**
 * SHA-256 of an entry's own fields (every one but `n`, `prev` and `hash`), each length-prefixed in
 * bytes, in stored order. The writer sends it to the append script, which chains it.
 */
export function fieldsDigest(fields: readonly string[]): string {
  const hash = createHash('sha256');
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (CHAIN_FIELDS.has(fields[i]!)) continue;
    hash.update(enc(fields[i]!)).update(enc(fields[i + 1]!));
  }
  return hash.digest('hex');
}

/**
 * The hash an entry must carry: SHA-256 over the previous hash and the fields' digest (32 bytes
 * each), then the id and the sequence number, length-prefixed; exactly what the append script
 * computes.
 */
export function entryHash(id: string, fields: readonly string[]): string {
  const map = fieldMap(fields);
  const prev = map.prev ?? '';
  if (!/^[0-9a-f]{64}$/.test(prev)) return '';
  return createHash('sha256')
    .update(Buffer.from(prev, 'hex'))
    .update(Buffer.from(fieldsDigest(fields), 'hex'))
    .update(enc(id) + enc(map.n ?? ''))
    .digest('hex');
}

/** The stored fields as an object (the last value wins for a repeated name, as nothing writes one). */
export function fieldMap(fields: readonly string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i]!] = fields[i + 1]!;
  return map;
}

function parseData(text: string | undefined): Readonly<Record<string, unknown>> {
  if (text === undefined) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : { value };
  } catch {
    // An altered entry may hold anything; verify reports it, readers still see what is there.
    return { raw: text };
  }
}

/** Decodes one stream entry. */
export function toEntry([id, fields]: RawEntry): AuditEntry {
  const map = fieldMap(fields);
  return {
    id,
    n: Number(map.n),
    type: map.type ?? '',
    ...(map.user !== undefined && map.user !== '' && { user: map.user }),
    data: parseData(map.data),
    origin: map.origin ?? '',
    prev: map.prev ?? '',
    hash: map.hash ?? '',
  };
}

/** Parses the head key, `<n> <id> <hash>`; undefined when absent or not in that shape. */
export function parseHead(
  text: string | null | undefined,
): { readonly n: number; readonly id: string; readonly hash: string } | undefined {
  const match = text ? /^(\d+) (\d+-\d+) ([0-9a-f]{64})$/.exec(text) : null;
  return match ? { n: Number(match[1]), id: match[2]!, hash: match[3]! } : undefined;
}
