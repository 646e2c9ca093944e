import type { Environment } from '../environment.js';
import type { RedisGuardErrorCode } from '../errors.js';
import type { NodeReadings } from './probe.js';
import type { PostureFindingCode, PostureRule } from './types.js';

/** A rule's finding on one server, before the environment and overrides decide its status. */
export interface Verdict {
  /** `fail`: the setting is unsafe; the environment makes it a warning or a refusal. */
  readonly status: 'pass' | 'fail' | 'unknown';
  readonly observed: string | undefined;
  readonly message: string;
}

interface RuleBase {
  readonly rule: PostureRule;
  /** Reported with every finding of the rule. */
  readonly code: PostureFindingCode;
  readonly setting: string;
  readonly override: string;
  evaluate(readings: NodeReadings): Verdict;
}

/**
 * One concern: what it reads, how bad a failure is where, and how an operator accepts it. A rule
 * that can refuse a start names the declared error code the refusal is thrown with.
 */
export type RuleDefinition = RuleBase &
  (
    | { severity(environment: Environment): 'warn'; readonly refusal?: undefined }
    | { severity(environment: Environment): 'refuse' | 'warn'; readonly refusal: RedisGuardErrorCode }
  );

export const pass = (observed: string | undefined, message: string): Verdict => ({
  status: 'pass',
  observed,
  message,
});
export const fail = (observed: string | undefined, message: string): Verdict => ({
  status: 'fail',
  observed,
  message,
});
export const unknown = (reason: string, verify: string): Verdict => ({
  status: 'unknown',
  observed: undefined,
  message: `Could not be read: ${reason}. Check by hand: ${verify}`,
});

/** The failures that are warnings everywhere. */
export const warnEverywhere = (): 'warn' => 'warn';
