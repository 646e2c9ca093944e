import { createHash } from 'node:crypto';

/** The `prev` of the first entry ever written: no entry came before it. */
export const GENESIS_HASH = '0'.repeat(64);

/** Fields the append script adds around the caller's: the sequence number, and the chain. */
const CHAIN_FIELDS = new Set(['prev', 'hash']);

/**
 * One entry of the audit trail, as read back from Redis.
 * @example
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
 * The hash an entry must carry: SHA-256 over its prev hash, its id and every field except `prev`
 * and `hash`, each length-prefixed (in bytes, as the Lua script counts), in stored order.
 */
export function entryHash(id: string, fields: readonly string[]): string {
  let prev = '';
  const parts: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (name === 'prev') prev = value;
    if (CHAIN_FIELDS.has(name)) continue;
    parts.push(enc(name), enc(value));
  }
  return createHash('sha256')
    .update(enc(prev) + enc(id) + parts.join(''))
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
