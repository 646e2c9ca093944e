import { Cluster, type Redis, type RedisOptions } from 'ioredis';
import { type AuditEntry, type RawEntry, toEntry } from './audit-chain.js';
import { auditKeys } from './audit-keys.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type RedisClient } from './client.js';
import { RedisGuardErrorCode as Code, ConfigurationError, OptionError } from './errors.js';
import { isRedisGuard, type RedisGuard } from './guard.js';
import { scrubError } from './mask.js';
import { checkOptions, nonNegativeInteger, positiveInteger } from './options.js';

/** Longest a `read()` waits for a new entry when `blockMs` is not given. */
export const DEFAULT_AUDIT_BLOCK_MS = 1_000;
/** Entries one `read()` returns at most when `count` is not given. */
export const DEFAULT_AUDIT_READ_COUNT = 100;

/**
 * @example const options: AuditReaderOptions = { after: '1764460800000-0', blockMs: 5_000 };
 */
export interface AuditReaderOptions {
  /** Read the entries after this id (the last one you processed); default '0-0', from the oldest. Pass '$' for only new ones. */
  readonly after?: string;
  /** Entries per read; default 100. */
  readonly count?: number;
  /** How long a read waits for a new entry; 0 returns at once. Default 1000 ms. */
  readonly blockMs?: number;
}

/**
 * Reads the audit trail in order on its own connection, remembering the last id it returned:
 * after a lost connection (a failover, a killed client, a restart with a saved `lastId`) it
 * carries on after that id and misses nothing the stream still holds.
 * @example
 * // Keep lastId where your consumer keeps its state; here, a variable.
 * let checkpoint = '0-0';
 * const reader = createAuditReader(guard, { after: checkpoint });
 * for await (const entry of reader) {
 *   if (entry.type === 'session.revoke_all') console.log(`${entry.user} signed out everywhere`);
 *   checkpoint = reader.lastId;
 * }
 */
export interface AuditReader extends AsyncIterable<AuditEntry> {
  /** Id of the last entry returned; the next read starts after it. */
  readonly lastId: string;
  /** The next entries after `lastId`, waiting up to `blockMs` for one; [] when none came. */
  read(): Promise<readonly AuditEntry[]>;
  /** Ends iteration and closes the reader's connection. */
  close(): Promise<void>;
}

const ID = /^(\d{1,20}-\d{1,20}|\$)$/;

/** A connection of the reader's own: a blocking read must not hold up the guard's commands. */
function readerConnection(client: RedisClient, blockMs: number): RedisClient {
  const base = client instanceof Cluster ? client.options.redisOptions : (client as Redis).options;
  const commandTimeout = base?.commandTimeout;
  const overrides: Partial<RedisOptions> = {
    connectionName: 'sec-audit-reader',
    // Connect now even when the app's own client is lazy: reads wait for the connection, they do
    // not start it.
    lazyConnect: false,
    ...(commandTimeout !== undefined && {
      commandTimeout: blockMs + commandTimeout,
      socketTimeout: blockMs + 3 * commandTimeout,
    }),
  };
  if (client instanceof Cluster) {
    return client.duplicate(undefined, { redisOptions: { ...base, ...overrides } });
  }
  return (client as Redis).duplicate(overrides);
}

/**
 * A reader of the guard's audit trail (see AuditReader). `for await` follows the trail for as long
 * as the reader is open, reconnecting after a lost connection; `read()` reads one batch.
 * @example
 * const reader = createAuditReader(guard, { after: '0-0', blockMs: 0 });
 * const first = await reader.read();
 * await reader.close();
 */
export function createAuditReader(guard: RedisGuard, options: AuditReaderOptions = {}): AuditReader {
  if (!isRedisGuard(guard)) {
    throw new OptionError('guard', 'createAuditReader(guard): pass a guard from createRedisGuard()');
  }
  checkOptions('createAuditReader', options, {
    after: 'string',
    count: positiveInteger,
    blockMs: nonNegativeInteger,
  });
  if (options.after !== undefined && !ID.test(options.after)) {
    throw new OptionError(
      'after',
      `createAuditReader(): "after" must be a stream id such as 1700000000000-0, or $, got ${JSON.stringify(options.after)}`,
    );
  }
  if (!guard.client) {
    throw new ConfigurationError(
      Code.MemoryMode,
      `createAuditReader(): guard "${guard.name}" is in memory mode; the audit trail is a Redis Stream. Configure Redis.`,
    );
  }
  const key = auditKeys(guard.keyPrefix).stream;
  const count = options.count ?? DEFAULT_AUDIT_READ_COUNT;
  const blockMs = options.blockMs ?? DEFAULT_AUDIT_BLOCK_MS;
  const connection = readerConnection(guard.client, blockMs);
  // ioredis reports connection errors as 'error' events (and prints them when nothing listens);
  // the reader reconnects by itself and each read() rejects while it cannot, so one warning is enough.
  connection.on('error', (error: unknown) => {
    if (closed) return;
    guard.warnOnce('audit.reader_connection', 'audit reader: its connection failed; it reconnects', {
      err: scrubError(error, guard.secrets()),
    });
  });
  let lastId = options.after ?? '0-0';
  let closed = false;

  const read = async (): Promise<readonly AuditEntry[]> => {
    if (closed) return [];
    await waitUntilConnected(DEFAULT_CONNECT_TIMEOUT_MS);
    let reply: [string, RawEntry[]][] | null;
    try {
      reply =
        blockMs > 0
          ? await connection.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', key, lastId)
          : await connection.xread('COUNT', count, 'STREAMS', key, lastId);
    } catch (error) {
      throw scrubError(error, guard.secrets());
    }
    const entries = (reply?.[0]?.[1] ?? []).map(toEntry);
    const newest = entries.at(-1);
    if (newest) lastId = newest.id;
    else if (lastId === '$') {
      // "$" means "after the newest now": pin it, so entries written between reads are not skipped.
      const top = (await connection.xrevrange(key, '+', '-', 'COUNT', 1)) as RawEntry[];
      lastId = top[0]?.[0] ?? '0-0';
    }
    return entries;
  };

  // The connection does not queue commands (enableOfflineQueue: false), so each read waits for it.
  async function waitUntilConnected(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!closed && connection.status !== 'ready' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  return {
    get lastId() {
      return lastId;
    },
    read,
    async *[Symbol.asyncIterator]() {
      while (!closed) {
        let batch: readonly AuditEntry[];
        try {
          batch = await read();
        } catch (error) {
          if (closed) return;
          guard.logger.warn(
            { event: 'audit.reader_error', err: error, lastId },
            'audit reader: read failed; resuming after the last entry read',
          );
          await waitUntilConnected(DEFAULT_CONNECT_TIMEOUT_MS);
          continue;
        }
        for (const entry of batch) yield entry;
      }
    },
    async close() {
      closed = true;
      connection.disconnect();
    },
  };
}
