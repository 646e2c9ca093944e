import { isStrictEnvironment } from '../environment.js';
import { ConfigurationError } from '../errors.js';
import type { RedisGuard } from '../guard.js';
import type { Logger } from '../logger.js';
import { checkOptions } from '../options.js';
import { auditRedisPosture, POSTURE_OPTIONS, RULES } from './audit.js';
import type { PostureOptions, PostureReport, PostureResult } from './types.js';

/** @example await assertRedisPosture(guard, { logger, accept: ['persistence'] }); */
export interface AssertPostureOptions extends PostureOptions {
  /** Where findings are logged; default the guard's logger. */
  readonly logger?: Logger;
}

/** Would this rule stop production here if it failed? An unknown there deserves a warning, not a note. */
function wouldRefuse(result: PostureResult, report: PostureReport): boolean {
  return RULES.find((r) => r.rule === result.rule)?.severity(report.environment) === 'refuse';
}

function level(result: PostureResult, report: PostureReport): 'error' | 'warn' | 'info' | undefined {
  switch (result.status) {
    case 'refuse':
      return 'error';
    case 'warn':
      return 'warn';
    case 'unknown':
    case 'accepted':
      return wouldRefuse(result, report) ? 'warn' : 'info';
    default:
      return undefined;
  }
}

/** Logs one finding per rule that did not pass (`event: 'redis.posture'`, with its `code`). */
function logPosture(report: PostureReport, logger: Logger, name: string): void {
  for (const result of report.results) {
    const at = level(result, report);
    if (!at) continue;
    logger[at](
      {
        event: 'redis.posture',
        redis: name,
        environment: report.environment,
        rule: result.rule,
        code: result.code,
        status: result.status,
        setting: result.setting,
        observed: result.observed,
      },
      `Redis posture (${result.setting}): ${result.message}`,
    );
  }
}

/**
 * The start-up gate for the server's posture: audits (see `auditRedisPosture`), logs every rule
 * that did not pass, and in production and staging throws a ConfigurationError when a rule
 * refuses (today: an eviction policy other than noeviction), with that rule's code, the setting
 * and its override. Elsewhere it only warns. Resolves with the report.
 * @example
 * const guard = createRedisGuard();
 * await guard.ready();
 * await assertRedisPosture(guard); // throws ERR_SEC_REDIS_EVICTION_POLICY in production on allkeys-lru
 */
export async function assertRedisPosture(
  guard: RedisGuard,
  options: AssertPostureOptions = {},
): Promise<PostureReport> {
  checkOptions('assertRedisPosture', options, { ...POSTURE_OPTIONS, logger: 'object' });
  const { logger, ...audit } = options;
  const report = await auditRedisPosture(guard, audit);
  logPosture(report, logger ?? guard.logger, guard.name);
  for (const result of report.results) {
    if (level(result, report) === undefined || level(result, report) === 'info') continue;
    const { rule, status, code, setting } = result;
    guard.report({ type: 'posture.warning', redis: guard.name, rule, status, code, setting }, {});
  }
  const refused = report.results.filter((r) => r.status === 'refuse');
  if (refused.length > 0 && isStrictEnvironment(report.environment)) {
    const first = refused[0]!;
    // Only a rule with a `refusal` code can refuse (see RuleDefinition).
    const code = RULES.find((r) => r.rule === first.rule)!.refusal!;
    throw new ConfigurationError(
      code,
      `Redis "${guard.name}" refused in ${report.environment}: ${refused.map((r) => r.message).join(' ')}`,
      first.override,
    );
  }
  return report;
}
