import type { OptionRule } from './options.js';

/**
 * Prefix of every Redis key (and Pub/Sub channel) the @sec packages use, unless the guard is
 * created with another `keyPrefix`.
 */
export const DEFAULT_KEY_PREFIX = 'sec:';

/**
 * Up to 64 of `A-Z a-z 0-9 _ . : / -`. Braces would become the Cluster hash tag and pull every key
 * into one slot; glob characters (`* ? [ ]`) and spaces would break `SCAN MATCH` and ACL key
 * patterns (`~sec:*`) built from the prefix.
 */
export const keyPrefixOption: OptionRule = {
  kind: 'string',
  check: (value) =>
    /^[A-Za-z0-9_.:/-]{0,64}$/.test(value as string)
      ? undefined
      : 'must be at most 64 of A-Z a-z 0-9 _ . : / - (no braces, glob characters or spaces)',
};
