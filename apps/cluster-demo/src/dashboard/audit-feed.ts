import type { RedisGuard } from '@sec/redis-guard';
import { type AuditEntry, type AuditReader, createAuditReader } from '@sec/redis-guard/audit';

/** How many of the newest entries a viewer sees. */
export const AUDIT_FEED_SIZE = 20;
/** A blocking read returns at least this often, so a stop is noticed promptly. */
const BLOCK_MS = 1_000;
/** After a failed read (Redis down or frozen), the next try waits this long. */
const RETRY_MS = 1_000;

/** An entry as the page shows it: what happened, to whom, when and from which process. */
export interface AuditLine {
  readonly id: string;
  readonly type: string;
  readonly user?: string;
  readonly at: number;
  readonly origin: string;
}

function line(entry: AuditEntry): AuditLine {
  const at = typeof entry.data.at === 'number' ? entry.data.at : Number(entry.id.split('-')[0]);
  return {
    id: entry.id,
    type: entry.type,
    ...(entry.user !== undefined && { user: entry.user }),
    at,
    origin: entry.origin,
  };
}

/**
 * The audit trail as it grows, for the dashboard's viewers: the newest entries first, then each new
 * one as it is appended, read with the audit reader (its own connection, resuming after the last id
 * it returned, so an outage loses nothing the stream still holds).
 */
export class AuditFeed {
  readonly #guard: RedisGuard;
  readonly #key: string;
  readonly #onLines: (lines: readonly AuditLine[]) => void;
  #lines: AuditLine[] = [];
  /** The current run; a stopped run notices it is no longer current and ends. */
  #run: { reader?: AuditReader } | undefined;

  /** `key`: the trail's stream (AuditTrail.key). */
  constructor(guard: RedisGuard, key: string, onLines: (lines: readonly AuditLine[]) => void) {
    this.#guard = guard;
    this.#key = key;
    this.#onLines = onLines;
  }

  /** The newest entries, newest first. */
  get lines(): readonly AuditLine[] {
    return this.#lines;
  }

  start(): void {
    if (this.#run) return;
    const run = {};
    this.#run = run;
    void this.#follow(run);
  }

  stop(): void {
    const run = this.#run;
    this.#run = undefined;
    this.#lines = [];
    run?.reader?.close().catch(() => undefined);
  }

  async #follow(run: { reader?: AuditReader }): Promise<void> {
    const current = () => this.#run === run;
    // From the entry AUDIT_FEED_SIZE back from the newest: a new viewer sees recent history first.
    let after: string | undefined;
    while (current() && after === undefined) {
      try {
        const newest = (await this.#guard.execute((c) =>
          c.xrevrange(this.#key, '+', '-', 'COUNT', AUDIT_FEED_SIZE + 1),
        )) as [string, string[]][];
        after = newest.length > AUDIT_FEED_SIZE ? newest[AUDIT_FEED_SIZE]![0] : '0-0';
      } catch {
        await pause();
      }
    }
    if (!current()) return;
    const reader = createAuditReader(this.#guard, { after, blockMs: BLOCK_MS });
    run.reader = reader;
    while (current()) {
      try {
        const entries = await reader.read();
        if (entries.length === 0 || !current()) continue;
        this.#lines = [...entries.map(line).reverse(), ...this.#lines].slice(0, AUDIT_FEED_SIZE);
        this.#onLines(this.#lines);
      } catch {
        // Redis cannot answer now; the reader resumes after its last id once it can.
        if (current()) await pause();
      }
    }
    // Only stop() ends a run, and it has closed the reader.
  }
}

function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
}
