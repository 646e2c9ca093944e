export { type CapturedLogger, captureLogger } from './capture.js';
export { type RedisClusterHandle, type RedisClusterOptions, startCluster } from './cluster.js';
export { countDuring, type ServerStats } from './commandstats.js';
export { type ConfinedRedis, startConfinedRedis } from './confined.js';
export { PRODUCTION_ON_LOOPBACK } from './env.js';
export { markdownBlock, type NodeApp, startNodeApp, userEnv } from './examples.js';
export { freePort, RESERVED_REDIS_PORT } from './ports.js';
export {
  invalidFrame,
  RESET_MOMENTS,
  type ResetMoment,
  rawUpgrade,
  type UpgradeAttempt,
  type UpgradeResult,
  upgradeRequest,
} from './raw-upgrade.js';
export { type CliTarget, killClientsNamed, redisCli, waitFor } from './redis-cli.js';
export { type AclUser, type RedisServer, type RedisServerOptions, startRedis } from './redis-server.js';
export { refuseWrites, type WriteRefusal } from './refusals.js';
export {
  DEFAULT_SENTINEL_NAME,
  type HostAndPort,
  type RedisSentinelHandle,
  type RedisSentinelOptions,
  startSentinel,
} from './sentinel.js';
export { sharedPath, skipWithoutShared } from './shared.js';
export { median } from './stats.js';
export { makeTlsMaterial, type TlsMaterial } from './tls.js';
