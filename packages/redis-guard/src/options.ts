import { OptionError } from './errors.js';

export type OptionKind = 'string' | 'number' | 'boolean' | 'function' | 'object' | 'array';

export interface OptionRule {
  readonly kind: OptionKind | readonly OptionKind[];
  /** Extra check for numbers: a positive integer, a non-negative number, … */
  readonly check?: (value: unknown) => string | undefined;
  /** The option must be given; a string is appended to the error, saying what to pass and why. */
  readonly required?: true | string;
}

export type OptionSchema = Readonly<Record<string, OptionKind | readonly OptionKind[] | OptionRule>>;

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** The closest candidate to a misspelt name, for "did you mean" messages. */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function kindOf(value: unknown): OptionKind | 'null' | 'undefined' | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  if (
    type === 'string' ||
    type === 'boolean' ||
    type === 'function' ||
    type === 'object' ||
    type === 'undefined'
  ) {
    return type;
  }
  if (type === 'number') return Number.isFinite(value) ? 'number' : 'other';
  return 'other';
}

/** Positive integer check for counts and durations. */
export const positiveInteger: OptionRule = {
  kind: 'number',
  check: (v) => (Number.isInteger(v) && (v as number) > 0 ? undefined : 'must be a positive integer'),
};

/** Non-negative integer check, for values where 0 means "off". */
export const nonNegativeInteger: OptionRule = {
  kind: 'number',
  check: (v) => (Number.isInteger(v) && (v as number) >= 0 ? undefined : 'must be a non-negative integer'),
};

/**
 * A string option with a fixed set of values, matched exactly (no case folding: `'Memory'` is a
 * typo, not a synonym), with a "did you mean" for near misses.
 */
export function oneOf(values: readonly string[]): OptionRule {
  return {
    kind: 'string',
    check: (v) => {
      if (values.includes(v as string)) return undefined;
      const hint = suggest(v as string, values);
      const quoted = values.map((value) => `'${value}'`).join(', ');
      return `must be one of ${quoted}${hint ? ` (did you mean '${hint}'?)` : ''}`;
    },
  };
}

function ruleOf(spec: OptionSchema[string]): OptionRule {
  return typeof spec === 'string' || Array.isArray(spec)
    ? { kind: spec as OptionKind }
    : (spec as OptionRule);
}

/**
 * Validates a factory's options once, at creation: unknown keys (with a suggestion), wrong types,
 * values a rule's check refuses and missing required options throw an OptionError naming the
 * option. An optional option may be `undefined` (its default applies).
 */
export function checkOptions(factory: string, options: unknown, schema: OptionSchema): void {
  if (options !== undefined && kindOf(options) !== 'object') {
    throw new OptionError('options', `${factory}(): options must be an object, got ${kindOf(options)}`);
  }
  const given = (options ?? {}) as Record<string, unknown>;
  const known = Object.keys(schema);
  for (const [key, value] of Object.entries(given)) {
    const spec = schema[key];
    if (spec === undefined) {
      const hint = suggest(key, known);
      throw new OptionError(
        key,
        `${factory}(): unknown option "${key}"${hint ? ` — did you mean "${hint}"?` : ''} Known options: ${known.join(', ')}.`,
      );
    }
    if (value === undefined) continue;
    const rule = ruleOf(spec);
    const kinds = Array.isArray(rule.kind) ? rule.kind : [rule.kind];
    const actual = kindOf(value);
    if (!kinds.includes(actual as OptionKind)) {
      throw new OptionError(
        key,
        `${factory}(): option "${key}" must be ${kinds.join(' or ')}, got ${actual}`,
      );
    }
    const problem = rule.check?.(value);
    if (problem) {
      const got =
        typeof value === 'string'
          ? JSON.stringify(value)
          : typeof value === 'number' || typeof value === 'boolean'
            ? String(value)
            : kindOf(value);
      throw new OptionError(key, `${factory}(): option "${key}" ${problem}, got ${got}`);
    }
  }
  for (const [key, spec] of Object.entries(schema)) {
    const { required } = ruleOf(spec);
    if (required && given[key] === undefined) {
      const why = typeof required === 'string' ? `: ${required}` : '';
      throw new OptionError(key, `${factory}(): option "${key}" is required${why}`);
    }
  }
}
