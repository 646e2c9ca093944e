import type { Environment } from '../environment.js';
import type { NodeReadings } from './probe.js';
import type { PostureResult, PostureRule } from './types.js';

/** A rule's finding on one server, before the environment and overrides decide its status. */
export interface Verdict {
  /** `fail`: the setting is unsafe; the environment makes it a warning or a refusal. */
  readonly status: 'pass' | 'fail' | 'unknown';
  readonly observed: string | undefined;
  readonly message: string;
}

/** One concern: what it reads, how bad a failure is where, and how an operator accepts it. */
export interface RuleDefinition {
  readonly rule: PostureRule;
  readonly code: PostureResult['code'];
  readonly setting: string;
  readonly override: string;
  /** What a failure means in this environment. */
  severity(environment: Environment): 'refuse' | 'warn';
  evaluate(readings: NodeReadings): Verdict;
}

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
