import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  PUBLIC_PACKAGES,
  type PublicPackage,
  readme,
  root,
  rootExports,
  sourceProgram,
} from './workspace.js';

/**
 * Every name each root entry exports, types included: each is a semver promise, so adding one is a
 * decision taken in this list, not a side effect of an `export` in some module.
 */
const PUBLIC_API: Record<PublicPackage, readonly string[]> = {
  'redis-guard': [
    'AssertPostureOptions',
    'BreakerState',
    'CircuitBreaker',
    'ConfigurationError',
    'CreateRedisClientOptions',
    'Environment',
    'Logger',
    'OptionError',
    'PostureOptions',
    'PostureReport',
    'PostureResult',
    'PostureRule',
    'PostureStatus',
    'RedisAccess',
    'RedisClient',
    'RedisConnectionConfig',
    'RedisErrorKind',
    'RedisGuard',
    'RedisGuardErrorCode',
    'RedisGuardOptions',
    'RedisUnavailableError',
    'RequireRedisOptions',
    'SecError',
    'SecErrorCode',
    'SecErrorCodes',
    'SecErrorHandlerOptions',
    'SecEvent',
    'SecEvents',
    'SecObserver',
    'TlsSettings',
    'aclRule',
    'assertRedisPosture',
    'auditRedisPosture',
    'classifyRedisError',
    'configFromEnv',
    'createJsonLogger',
    'createRedisClient',
    'createRedisGuard',
    'detectEnvironment',
    'isStrictEnvironment',
    'redisAccess',
    'requireRedis',
    'secErrorHandler',
    'sendServiceUnavailable',
    'validateRedisConfig',
  ],
  session: [
    'AsymmetricKeyInput',
    'AuthContext',
    'AuthenticateOptions',
    'CONNECTION_CLOSE',
    'ConnectionBinding',
    'ConnectionEnd',
    'ConnectionTarget',
    'CreateSessionOptions',
    'CreatedSession',
    'CredentialsVerifier',
    'CrossOriginRequestError',
    'InvalidTokenError',
    'LiveConnection',
    'ParsedSessionId',
    'RouterLoginAttempt',
    'RouterLoginLimiter',
    'SecretKeyInput',
    'SessionAccessOptions',
    'SessionAlgorithm',
    'SessionArgumentError',
    'SessionCookieOptions',
    'SessionData',
    'SessionDataLimit',
    'SessionDataLimitError',
    'SessionDataOptions',
    'SessionErrorCode',
    'SessionEvent',
    'SessionEventListener',
    'SessionInfo',
    'SessionLimitError',
    'SessionManager',
    'SessionManagerOptions',
    'SessionRouterOptions',
    'SigningKeyInput',
    'TokenRejection',
    'VerifiedUser',
    'createSessionManager',
    'parseSessionId',
    'redisAccess',
    'requireRole',
    'sendUnauthorized',
    'sessionRouter',
  ],
  'rate-limit': [
    'GuardUpgradeOptions',
    'LoginAttempt',
    'LoginLimiter',
    'LoginLimiterOptions',
    'RateLimitAccessOptions',
    'RateLimitDecision',
    'RateLimitErrorCode',
    'RateLimitInfo',
    'RateLimitNameError',
    'RateLimitOptions',
    'RateLimitWindow',
    'RateLimiter',
    'RefusedLoginAttempt',
    'guardUpgrade',
    'ipKey',
    'loginLimiter',
    'rateLimit',
    'redisAccess',
    'sendTooManyRequests',
    'setRateLimitHeaders',
  ],
  'cache-crypto': [
    'CacheAccessOptions',
    'CacheCryptoErrorCode',
    'CacheResponseOptions',
    'CacheStatus',
    'CacheWriteOptions',
    'DecryptOptions',
    'EncryptedCache',
    'EncryptedCacheOptions',
    'Fernet',
    'InvalidToken',
    'MultiFernet',
    'RotationOptions',
    'RotationProgress',
    'RotationResult',
    'cacheResponse',
    'createEncryptedCache',
    'redisAccess',
  ],
  health: [
    'CheckContext',
    'CheckOutcome',
    'Health',
    'HealthCheck',
    'HealthErrorCode',
    'HealthOptions',
    'HealthReport',
    'Metrics',
    'MetricsOptions',
    'MetricsRegistry',
    'OtelMeterProvider',
    'OtelMetrics',
    'OtelMetricsOptions',
    'RedisCheckOptions',
    'RedisPostureOptions',
    'RequirementContext',
    'ServiceReport',
    'ServiceStatus',
    'StartupContext',
    'StartupHealthError',
    'StartupOptions',
    'assertStartupHealthy',
    'createHealth',
    'createMetrics',
    'createOtelMetrics',
    'redisCheck',
    'redisRequired',
  ],
};

const program = sourceProgram();
const exported = (pkg: PublicPackage) => [...rootExports(program, pkg).keys()].sort();

describe('public entries', () => {
  it.each(PUBLIC_PACKAGES)('@sec/%s exports exactly the names its users call', (pkg) => {
    expect(exported(pkg)).toEqual([...PUBLIC_API[pkg]].sort());
  });

  it('@sec/redis-guard, the ground floor, exports at most 45 names', () => {
    expect(exported('redis-guard').length).toBeLessThanOrEqual(45);
  });

  it('@sec/redis-guard/audit exports exactly the audit trail, its reader and its check', () => {
    expect([...rootExports(program, 'redis-guard', 'audit').keys()].sort()).toEqual(
      [
        'AuditEntry',
        'AuditHint',
        'AuditReader',
        'AuditReaderOptions',
        'AuditTrail',
        'AuditTrailOptions',
        'AuditVerification',
        'DEFAULT_AUDIT_BLOCK_MS',
        'DEFAULT_AUDIT_MAX_LEN',
        'DEFAULT_AUDIT_READ_COUNT',
        'VerifyOptions',
        'createAuditReader',
        'createAuditTrail',
        'verifyAuditTrail',
      ].sort(),
    );
  });

  it('the internal entry is marked internal, shares nothing with the root, and no README mentions it', () => {
    const internal = readFileSync(join(root, 'packages', 'redis-guard', 'src', 'internal.ts'), 'utf8');
    expect(internal).toMatch(/@internal/);
    const checker = program.getTypeChecker();
    const file = program.getSourceFile(join(root, 'packages', 'redis-guard', 'src', 'internal.ts'))!;
    const names = checker.getExportsOfModule(checker.getSymbolAtLocation(file)!).map((s) => s.name);
    expect(names.filter((name) => exported('redis-guard').includes(name))).toEqual([]);
    for (const pkg of PUBLIC_PACKAGES) expect(readme(pkg)).not.toMatch(/redis-guard\/internal/);
  });
});
