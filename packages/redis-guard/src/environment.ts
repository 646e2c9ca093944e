/** The four environments; anything else is treated as production, the strictest. */
export type Environment = 'production' | 'staging' | 'development' | 'test';

/** Every environment, for option checks. */
export const ENVIRONMENTS: readonly Environment[] = ['production', 'staging', 'development', 'test'];

/** Variables read, in order; when several are set and disagree, the strictest wins. */
export const ENVIRONMENT_VARIABLES = ['NODE_ENV', 'ENVIRONMENT', 'APP_ENV'] as const;

const ALIASES: Readonly<Record<string, Environment>> = {
  production: 'production',
  prod: 'production',
  live: 'production',
  staging: 'staging',
  stage: 'staging',
  preprod: 'staging',
  development: 'development',
  dev: 'development',
  local: 'development',
  test: 'test',
  testing: 'test',
};

const STRICTNESS: Readonly<Record<Environment, number>> = {
  test: 0,
  development: 1,
  staging: 2,
  production: 3,
};

export interface EnvironmentInfo {
  readonly name: Environment;
  /** Which variable decided it, or 'default' when none is set. */
  readonly source: (typeof ENVIRONMENT_VARIABLES)[number] | 'default' | 'option';
  /** Set when a value was not recognised or the variables disagree; log it at start-up. */
  readonly warning: string | undefined;
}

/**
 * Reads NODE_ENV / ENVIRONMENT / APP_ENV. Unset → development (the Express convention); an
 * unrecognised value → production rules, so a typo never weakens security.
 * @example const { name } = detectEnvironment(process.env); // 'production'
 */
export function detectEnvironment(env: NodeJS.ProcessEnv = process.env): EnvironmentInfo {
  let chosen: { name: Environment; source: (typeof ENVIRONMENT_VARIABLES)[number] } | undefined;
  const warnings: string[] = [];
  const seen = new Set<Environment>();
  for (const variable of ENVIRONMENT_VARIABLES) {
    const raw = env[variable]?.trim();
    if (!raw) continue;
    let name = ALIASES[raw.toLowerCase()];
    if (!name) {
      name = 'production';
      warnings.push(
        `${variable}="${raw}" is not a recognised environment (production, staging, development, test); ` +
          `applying production rules, the strictest. Set ${variable} to one of those values.`,
      );
    }
    seen.add(name);
    if (!chosen || STRICTNESS[name] > STRICTNESS[chosen.name]) chosen = { name, source: variable };
  }
  if (seen.size > 1 && chosen) {
    warnings.push(`${ENVIRONMENT_VARIABLES.join(', ')} disagree; applying the strictest, ${chosen.name}.`);
  }
  if (!chosen) return { name: 'development', source: 'default', warning: undefined };
  return { ...chosen, warning: warnings.length > 0 ? warnings.join(' ') : undefined };
}

/** Production and staging refuse to run insecurely and fail closed when Redis is down. */
export function isStrictEnvironment(name: Environment): boolean {
  return name === 'production' || name === 'staging';
}
