/**
 * The audit trail's keys under a guard's key prefix. They share the hash tag `{audit}`, so the
 * append script's keys (stream, head, once-per-window marker) sit in one Cluster slot, on one node.
 * The key prefix cannot hold braces (keyPrefixOption), so this is always the first tag in the key.
 */
export function auditKeys(keyPrefix: string) {
  const base = `${keyPrefix}{audit}:`;
  return {
    stream: `${base}stream`,
    head: `${base}head`,
    once: (fingerprint: string) => `${base}once:${fingerprint}`,
    /** Every audit key starts with this (for the ACL key pattern). */
    prefix: base,
  } as const;
}
