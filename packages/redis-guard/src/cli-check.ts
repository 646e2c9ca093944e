import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { CHECK_KEY_PREFIX } from './acl.js';
import { createRedisClient, DEFAULT_CONNECT_TIMEOUT_MS } from './client.js';
import { configFromEnv } from './config.js';
import { diagnoseConnectError } from './connect-diagnosis.js';
import { loadEnvFile } from './env-file.js';
import { detectEnvironment } from './environment.js';
import { RedisGuardErrorCode as Code, ConfigurationError } from './errors.js';
import { createRedisGuard } from './guard.js';
import { maskSecret, maskText, scrubError } from './mask.js';
import { auditRedisPosture } from './posture/audit.js';
import type { PostureReport } from './posture/types.js';
import { urlPasswordForms } from './redis-url.js';
import { validateRedisConfig } from './validate.js';

export interface CheckIo {
  readonly out: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * `sec-redis check`: validates the environment (optionally with an env file under it), connects,
 * PINGs and round-trips a probe key. On failure it prints the underlying cause (WRONGPASS,
 * ECONNREFUSED, an untrusted certificate, a timeout…) and what to change. Returns the exit code.
 */
export async function runCheck(io: CheckIo, envFile: string | undefined): Promise<number> {
  const loaded = envFile ? await loadEnvFile(envFile, io.env) : undefined;
  if (loaded && loaded.cut.length > 0) {
    // What is left of such a value reads as something else (redis://:p@ss#word@host → host "ss").
    throw new ConfigurationError(
      Code.UrlInvalid,
      `${loaded.cut.join(', ')} in ${envFile} hold${loaded.cut.length === 1 ? 's' : ''} a "#" outside quotes, where it ` +
        'starts a comment, so the rest of the value is dropped. Quote the value, or percent-encode # as %23 inside REDIS_URL.',
      loaded.cut[0],
    );
  }
  const env = loaded?.env ?? io.env;
  const detected = detectEnvironment(env);
  const config = configFromEnv(env);
  const { config: resolved, warnings } = validateRedisConfig(config, { env });
  const secrets = [
    resolved.password,
    config.sentinelPassword,
    ...(config.url ? urlPasswordForms(config.url) : []),
  ].filter((s): s is string => Boolean(s));
  const row = (label: string, value: string) => io.out(`  ${label.padEnd(13)} ${maskText(value, secrets)}\n`);
  io.out('sec-redis check\n');
  for (const note of loaded?.notes ?? []) row('env-file', note);
  row('environment', `${detected.name} (${detected.source})`);
  for (const warning of warnings) row('warning', warning);
  const { description, client } = createRedisClient(config, { env, logger: silentLogger });
  row('redis', description);
  row('password', maskSecret(resolved.password));
  row(
    'tls',
    resolved.tls
      ? `on (min ${resolved.tls.minVersion}, verify ${resolved.tls.rejectUnauthorized ? 'on' : 'OFF'}, CA ${resolved.tls.ca ? 'set' : 'system'})`
      : 'off',
  );

  // The guard only knows "not ready yet"; the client's own errors say why.
  let lastError: unknown;
  let giveUp: (error: unknown) => void = () => undefined;
  const permanent = new Promise<never>((_, reject) => {
    giveUp = reject;
  });
  permanent.catch(() => undefined);
  const onError = (error: unknown) => {
    lastError = error;
    if (diagnoseConnectError(error).permanent) giveUp(error);
  };
  // A Cluster reports only "Failed to refresh slots cache." as 'error'; the cause arrives per node.
  if (client instanceof Cluster) client.on('node error', onError);
  else client.on('error', onError);

  const guard = createRedisGuard({ client, env, logger: silentLogger });
  const timeoutMs = config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let connected = false;
  let gaveUp = false;
  try {
    await Promise.race([guard.ready(timeoutMs), permanent]).catch((error: unknown) => {
      gaveUp = error === lastError;
      // No error event before the deadline: the server took the connection and never answered.
      throw lastError ?? Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
    });
    connected = true;
    row('ping', `ok ${(await guard.ping()).toFixed(1)} ms`);
    const key = `${CHECK_KEY_PREFIX}${randomUUID()}`;
    const value = await guard.execute(async (c) => {
      await c.set(key, 'probe', 'PX', 10_000);
      const read = await c.get(key);
      await c.del(key);
      return read;
    });
    if (value !== 'probe') throw new Error(`probe key read back ${JSON.stringify(value)}`);
    row('set/get/del', 'ok');
    return printPosture(await auditRedisPosture(guard, { environment: detected.name, env }), row, io);
  } catch (error) {
    // After the connection was up, the failing command is the cause; before, the client's last error.
    const cause = connected ? ((error as { cause?: unknown }).cause ?? error) : error;
    const diagnosis = diagnoseConnectError(cause);
    if (!connected) {
      row(
        'error',
        gaveUp
          ? 'connection refused by the server; retrying cannot help'
          : `not ready within ${timeoutMs} ms`,
      );
    }
    row('cause', `${diagnosis.cause}: ${scrubError(cause, secrets).message}`);
    row('fix', diagnosis.hint);
    io.out('result: FAILED\n');
    return 1;
  } finally {
    await guard.close();
  }
}

/**
 * The server's posture, one row per rule, with the message for each that did not pass. A refusal
 * (what production and staging would not start with) fails the check, naming the setting.
 */
function printPosture(
  report: PostureReport,
  row: (label: string, value: string) => void,
  io: CheckIo,
): number {
  row('posture', `${report.environment}, ACL user ${report.user ?? 'unknown'}`);
  // Wide enough for the longest rule name, so statuses line up under each other.
  const width = Math.max(...report.results.map((r) => r.rule.length)) + 3;
  for (const result of report.results) {
    row(
      `  ${result.rule}`.padEnd(width),
      `${result.status}${result.observed ? ` (${result.observed})` : ''}`,
    );
    if (result.status !== 'pass') row(''.padEnd(width), `${result.message} [${result.code}]`);
  }
  const refused = report.results.filter((r) => r.status === 'refuse');
  if (refused.length > 0) {
    io.out(
      `result: REFUSED in ${report.environment}: ${refused.map((r) => `${r.setting} (${r.code})`).join(', ')}\n`,
    );
    return 1;
  }
  const warnings = report.results.filter((r) => r.status === 'warn').length;
  io.out(`result: OK${warnings > 0 ? ` (${warnings} posture warning${warnings === 1 ? '' : 's'})` : ''}\n`);
  return 0;
}
