import type { AuditEntry, RawEntry } from './audit-chain.js';
import { toEntry } from './audit-chain.js';
import { auditKeys } from './audit-keys.js';
import { createAuditReader } from './audit-reader.js';
import { verifyAuditTrail } from './audit-verify.js';
import { createRedisClient } from './client.js';
import { configFromEnv } from './config.js';
import { loadEnvFile } from './env-file.js';
import { RedisGuardErrorCode as Code, SecError } from './errors.js';
import { createRedisGuard, type RedisGuard } from './guard.js';
import { keyPrefixOption } from './key-prefix.js';
import { maskText } from './mask.js';
import { checkOptions } from './options.js';

export interface AuditIo {
  readonly out: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Ends `tail --follow` (the CLI wires it to SIGINT and SIGTERM). */
  readonly signal?: AbortSignal;
}

export interface AuditValues {
  readonly 'env-file'?: string;
  readonly 'key-prefix'?: string;
  readonly follow?: boolean;
  readonly user?: string;
  readonly type?: string;
  readonly count?: string;
  readonly anchor?: string;
}

/** Entries `audit tail` prints without --count. */
export const DEFAULT_TAIL_COUNT = 20;

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

async function connect(io: AuditIo, values: AuditValues): Promise<RedisGuard> {
  const env = values['env-file'] ? (await loadEnvFile(values['env-file'], io.env)).env : io.env;
  if (values['key-prefix'] !== undefined) {
    checkOptions('sec-redis audit', { keyPrefix: values['key-prefix'] }, { keyPrefix: keyPrefixOption });
  }
  const config = configFromEnv(env);
  const { client } = createRedisClient(config, { env, logger: silentLogger });
  const guard = createRedisGuard({
    client,
    env,
    logger: silentLogger,
    ...(values['key-prefix'] !== undefined && { keyPrefix: values['key-prefix'] }),
  });
  try {
    await guard.ready(config.connectTimeoutMs);
  } catch (error) {
    await guard.close();
    throw error;
  }
  return guard;
}

function line(entry: AuditEntry, secrets: readonly string[]): string {
  const at = Number(entry.id.split('-')[0]);
  const user = entry.user === undefined ? '' : ` user=${entry.user}`;
  return maskText(
    `${entry.id} n=${entry.n} ${new Date(at).toISOString()} ${entry.type}${user} ${JSON.stringify(entry.data)}\n`,
    secrets,
  );
}

/**
 * `sec-redis audit tail`: the newest entries (--count, default 20), filtered by --user and --type;
 * with --follow, then every new entry until interrupted.
 */
async function tail(io: AuditIo, values: AuditValues): Promise<number> {
  const count = values.count === undefined ? DEFAULT_TAIL_COUNT : Number(values.count);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new SecError(
      Code.CliUsage,
      `--count must be a positive integer, got ${JSON.stringify(values.count)}`,
    );
  }
  const wanted = (entry: AuditEntry) =>
    (values.user === undefined || entry.user === values.user) &&
    (values.type === undefined || entry.type === values.type);
  const guard = await connect(io, values);
  try {
    const key = auditKeys(guard.keyPrefix).stream;
    // Newest first, in pages, until `count` matching entries are found or the stream ends.
    const shown: AuditEntry[] = [];
    let end = '+';
    let last: string | undefined;
    while (shown.length < count) {
      const page = (await guard.execute((c) => c.xrevrange(key, end, '-', 'COUNT', 500))) as RawEntry[];
      for (const raw of page) {
        last ??= raw[0];
        const entry = toEntry(raw);
        if (wanted(entry)) shown.push(entry);
        if (shown.length === count) break;
      }
      if (page.length < 500) break;
      end = `(${page.at(-1)![0]}`;
    }
    for (const entry of shown.reverse()) io.out(line(entry, guard.secrets()));
    if (!values.follow) return 0;
    const reader = createAuditReader(guard, { after: last ?? '0-0' });
    io.signal?.addEventListener('abort', () => void reader.close(), { once: true });
    if (io.signal?.aborted) await reader.close();
    for await (const entry of reader) if (wanted(entry)) io.out(line(entry, guard.secrets()));
    return 0;
  } finally {
    await guard.close();
  }
}

function parseAnchor(text: string): { id: string; hash: string } {
  const match = /^(\d+-\d+)[=:]([0-9a-f]{64})$/.exec(text);
  if (!match) {
    throw new SecError(
      Code.CliUsage,
      `--anchor takes <id>=<hash> as printed on verify's head line, got ${JSON.stringify(text)}`,
    );
  }
  return { id: match[1]!, hash: match[2]! };
}

/** `sec-redis audit verify`: exit 0 on an intact chain (trimming reported), 1 naming the first broken link. */
async function verify(io: AuditIo, values: AuditValues): Promise<number> {
  const guard = await connect(io, values);
  try {
    const anchor = values.anchor === undefined ? undefined : parseAnchor(values.anchor);
    const result = await verifyAuditTrail(guard, anchor ? { anchor } : {});
    const row = (label: string, value: string) => io.out(`  ${label.padEnd(9)} ${value}\n`);
    io.out('sec-redis audit verify\n');
    row('stream', auditKeys(guard.keyPrefix).stream);
    row(
      'entries',
      `${result.checked} checked${result.firstId ? `, ${result.firstId} .. ${result.lastId}` : ''}`,
    );
    if (result.trimmed > 0) {
      row(
        'trimmed',
        `${result.trimmed} entries trimmed before ${result.firstId} (the cap; not checkable, not tampering)`,
      );
    }
    if (result.head) row('head', `n=${result.head.n} ${result.head.id} ${result.head.hash}`);
    if (anchor) row('anchor', `${anchor.id} ${anchor.hash}`);
    if (result.broken) {
      row('broken', `${result.broken.kind} at ${result.broken.id}`);
      io.out(`result: TAMPERED: ${result.broken.message}\n`);
      return 1;
    }
    io.out('result: OK\n');
    return 0;
  } finally {
    await guard.close();
  }
}

/** `sec-redis audit <tail|verify>`; returns the exit code. */
export async function runAudit(io: AuditIo, sub: string | undefined, values: AuditValues): Promise<number> {
  if (sub === 'tail' && values.anchor !== undefined) {
    throw new SecError(Code.CliUsage, '--anchor belongs to `sec-redis audit verify`');
  }
  if (sub === 'tail') return tail(io, values);
  if ((values.follow || values.user || values.type || values.count) !== undefined) {
    throw new SecError(
      Code.CliUsage,
      '--follow, --user, --type and --count belong to `sec-redis audit tail`',
    );
  }
  if (sub === 'verify') return verify(io, values);
  throw new SecError(
    Code.CliUsage,
    `sec-redis audit takes "tail" or "verify"${sub === undefined ? '' : `, got "${sub}"`} (see sec-redis help)`,
  );
}
