// The parts of the Compose Specification that decide whether `docker compose up` starts at all,
// for tests on a machine without Docker: variable interpolation (applied to the whole file before
// profiles are looked at) and which services a set of active profiles enables.

/** One `${NAME:?message}` (or `${NAME?message}`) that had no value. */
export interface MissingVariable {
  readonly name: string;
  readonly message: string;
}

const NAME = '[A-Za-z_][A-Za-z0-9_]*';
// `$$`, `$NAME`, or `${NAME}` with an optional modifier (:- - :? ? :+ +) and its word.
const TOKEN = new RegExp(`\\$(?:(\\$)|(${NAME})|\\{(${NAME})(?:(:?[-?+])([^}]*))?\\})`, 'g');

/**
 * Interpolates one string as Compose does: `$$` is a literal `$`; `${NAME:-default}` and
 * `${NAME-default}` fall back (the `:` forms also when the value is empty); `${NAME:?message}` and
 * `${NAME?message}` are errors; `${NAME:+word}` and `${NAME+word}` give the word when set.
 */
export function interpolate(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  missing: MissingVariable[],
): string {
  return text.replace(
    TOKEN,
    (_match, dollar?: string, bare?: string, name?: string, modifier?: string, word = '') => {
      if (dollar) return '$';
      if (bare) return env[bare] ?? '';
      if (word.includes('${'))
        throw new Error(`nested substitution in \${${name}${modifier}${word}} is not supported`);
      const value = env[name!];
      const unset = value === undefined;
      const empty = unset || value === '';
      switch (modifier) {
        case ':-':
          return empty ? interpolate(word, env, missing) : value!;
        case '-':
          return unset ? interpolate(word, env, missing) : value!;
        case ':?':
        case '?':
          if (modifier === ':?' ? empty : unset) {
            missing.push({ name: name!, message: word });
            return '';
          }
          return value!;
        case ':+':
          return empty ? '' : interpolate(word, env, missing);
        case '+':
          return unset ? '' : interpolate(word, env, missing);
        default:
          return value ?? '';
      }
    },
  );
}

/** Interpolates every string in a parsed compose file; keys are left alone, as Compose does. */
export function interpolateFile<T>(
  value: T,
  env: Readonly<Record<string, string | undefined>>,
): { readonly result: T; readonly missing: readonly MissingVariable[] } {
  const missing: MissingVariable[] = [];
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return interpolate(node, env, missing);
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, walk(child)]));
    }
    return node;
  };
  return { result: walk(value) as T, missing };
}

/** Services with no `profiles` always run; the others only when one of their profiles is active. */
export function enabledServices(
  services: Readonly<Record<string, { readonly profiles?: readonly string[] }>>,
  activeProfiles: readonly string[],
): string[] {
  return Object.entries(services)
    .filter(([, service]) => !service.profiles || service.profiles.some((p) => activeProfiles.includes(p)))
    .map(([name]) => name);
}
