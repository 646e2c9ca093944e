/**
 * Production rules for tests against harness servers. They listen on loopback without TLS, so the
 * two relaxations an operator would declare for such a host are declared here; every other
 * production rule (password length, verification, fail closed) still applies.
 * @example createRedisGuard({ env: { ...PRODUCTION_ON_LOOPBACK, ...cluster.env } });
 */
export const PRODUCTION_ON_LOOPBACK: Readonly<Record<string, string>> = {
  NODE_ENV: 'production',
  REDIS_INSECURE_ALLOW_PLAINTEXT: 'true',
  REDIS_SINGLE_HOST: 'true',
};
