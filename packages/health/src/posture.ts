import {
  assertRedisPosture,
  auditRedisPosture,
  type Environment,
  OptionError,
  type PostureReport,
  type PostureRule,
  type RedisGuard,
} from '@sec/redis-guard';
import { checkOptions, POSTURE_RULES, positiveInteger } from '@sec/redis-guard/internal';
import type { StartupContext } from './check.js';

/**
 * How often `/detailed` re-reads the Redis server's posture: settings change rarely, and each
 * audit asks the server a dozen questions.
 */
export const DEFAULT_POSTURE_REFRESH_MS = 300_000;
/** A report in which the server answered nothing (it was not reachable then) is retried this soon. */
const BLANK_REPORT_RETRY_MS = 5_000;

/** @example redisCheck(guard, { posture: { accept: ['persistence'], refreshMs: 60_000 } }) */
export interface RedisPostureOptions {
  /** Rules whose risk is accepted, as the matching `REDIS_ACCEPT_*=true` would. */
  readonly accept?: readonly PostureRule[];
  /** Where the `REDIS_ACCEPT_*` overrides are read; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Bound on each question to the server; default 2000 ms. */
  readonly timeoutMs?: number;
  /** How often `/detailed` re-reads it; default 5 minutes. */
  readonly refreshMs?: number;
}

export function checkPostureOption(posture: unknown): void {
  if (posture === undefined || typeof posture === 'boolean') return;
  checkOptions('redisCheck() posture', posture, {
    accept: 'array',
    env: 'object',
    timeoutMs: positiveInteger,
    refreshMs: positiveInteger,
  });
  const bad = (posture as RedisPostureOptions).accept?.find((rule) => !POSTURE_RULES.includes(rule));
  if (bad !== undefined) {
    throw new OptionError(
      'posture',
      `redisCheck(): posture.accept lists ${JSON.stringify(bad)}; rules are ${POSTURE_RULES.join(', ')}`,
    );
  }
}

/**
 * The posture of one guard's Redis, for a Redis check: audited and enforced once by the start-up
 * gate, then re-read in the background (never in a probe's path) so `/detailed` shows what the
 * server says now. A rule whose status changes after that is logged (`redis.posture.changed`).
 */
export class PostureMonitor {
  readonly #guard: RedisGuard;
  readonly #options: RedisPostureOptions;
  #latest: PostureReport | undefined;
  #running: Promise<void> | undefined;

  constructor(guard: RedisGuard, options: RedisPostureOptions) {
    this.#guard = guard;
    this.#options = options;
  }

  #audit() {
    const { refreshMs: _, ...audit } = this.#options;
    return audit;
  }

  /** The start-up gate: logs every finding and throws where production must not start. */
  async gate({ environment, logger }: StartupContext): Promise<void> {
    this.#latest = await assertRedisPosture(this.#guard, { ...this.#audit(), environment, logger });
  }

  /** Starts a background audit when the last one is older than `refreshMs`; never waits for it. */
  refresh(environment: Environment): void {
    // While Redis cannot answer, an audit would only say "unknown" everywhere: keep the last one.
    if (this.#running || !this.#guard.isAvailable()) return;
    const age = this.#latest ? Date.now() - Date.parse(this.#latest.checkedAt) : Number.POSITIVE_INFINITY;
    const refreshMs = this.#options.refreshMs ?? DEFAULT_POSTURE_REFRESH_MS;
    // A blank report (the connection dropped mid-audit) must not stand for the posture for minutes.
    const blank = this.#latest?.results.every((r) => r.status === 'unknown') ?? false;
    if (age < (blank ? Math.min(BLANK_REPORT_RETRY_MS, refreshMs) : refreshMs)) return;
    this.#running = auditRedisPosture(this.#guard, { ...this.#audit(), environment })
      .then(
        (report) => {
          this.#logChanges(report);
          this.#latest = report;
        },
        (error: unknown) => {
          this.#guard.warnOnce(
            'redis.posture.error',
            `Redis posture audit failed: ${(error as Error).message}`,
          );
        },
      )
      .finally(() => {
        this.#running = undefined;
      });
  }

  #logChanges(report: PostureReport): void {
    const before = this.#latest;
    if (!before) return;
    for (const result of report.results) {
      const was = before.results.find((r) => r.rule === result.rule)?.status;
      if (was === undefined || was === result.status) continue;
      const level = result.status === 'refuse' ? 'error' : result.status === 'warn' ? 'warn' : 'info';
      this.#guard.logger[level](
        {
          event: 'redis.posture.changed',
          redis: this.#guard.name,
          rule: result.rule,
          code: result.code,
          from: was,
          to: result.status,
          observed: result.observed,
        },
        `Redis posture (${result.setting}) is now ${result.status}, was ${was}: ${result.message}`,
      );
    }
  }

  /** What `/detailed` shows under `posture`. */
  details(): object {
    const report = this.#latest;
    if (!report) return { status: 'pending' };
    return {
      status: report.status,
      checked_at: report.checkedAt,
      user: report.user ?? null,
      rules: report.results,
    };
  }
}
