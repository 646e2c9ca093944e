import {
  type BreakerState,
  ConfigurationError,
  OptionError,
  type RedisGuard,
  type SecEvent,
} from '@sec/redis-guard';
import { checkOptions, isRedisGuard } from '@sec/redis-guard/internal';
import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { HealthErrorCode } from './errors.js';

type PromClient = typeof import('prom-client');

export const DEFAULT_METRICS_PREFIX = 'sec_';
/**
 * Histogram buckets in seconds; Redis health checks sit in the low milliseconds, timeouts at 1 s.
 */
export const HEALTH_CHECK_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

const STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * The events counted here. Those of @sec/rate-limit and @sec/session are declared by those
 * packages (SecEvents); they are named here by their wire shape, so this package depends on
 * neither. An app without them simply never reports them.
 */
type CountedEvent =
  | SecEvent<'breaker.transition' | 'unavailable.response' | 'health.check'>
  | { readonly type: 'ratelimit.rejected'; readonly limiter: string }
  | { readonly type: 'session.revoked'; readonly scope: string; readonly count: number };

/**
 * The part of a prom-client `Registry` used here. Typed structurally so the declarations do not
 * need prom-client installed; prom-client's `Registry` and global `register` fit.
 * @example
 * import { Registry } from 'prom-client';
 * const register: MetricsRegistry = new Registry();
 * const metrics = await createMetrics({ guards: [guard], register });
 */
export interface MetricsRegistry {
  readonly contentType: string;
  metrics(): Promise<string>;
  removeSingleMetric(name: string): void;
}

/**
 * @example
 * import { register } from 'prom-client';
 * const options: MetricsOptions = { guards: [guard], register }; // next to the app's own metrics
 */
export interface MetricsOptions {
  /** Guards whose events are counted: every @sec package reports through the guard it was given. */
  readonly guards: readonly RedisGuard[];
  /** Default: a new Registry. Pass prom-client's global `register` to serve these next to your own metrics. */
  readonly register?: MetricsRegistry;
  /** Metric name prefix; default 'sec_'. */
  readonly prefix?: string;
}

/**
 * @example
 * const metrics: Metrics = await createMetrics({ guards: [guard] });
 * app.get('/metrics', metrics.handler);
 * process.on('SIGTERM', () => metrics.close());
 */
export interface Metrics {
  readonly register: MetricsRegistry;
  /** Serves the registry in the Prometheus text format: `app.get('/metrics', metrics.handler)`. */
  readonly handler: RequestHandler;
  /** Stops counting and removes these metrics from the registry. */
  close(): void;
}

/**
 * Loads prom-client on first use so apps without metrics need not install it. Exported for tests.
 */
export async function importPromClient(
  load: () => Promise<unknown> = () => import('prom-client'),
): Promise<PromClient> {
  let loaded: unknown;
  try {
    loaded = await load();
  } catch (error) {
    throw new ConfigurationError(
      HealthErrorCode.PromClientMissing,
      'createMetrics() needs the optional peer dependency prom-client (>= 15). Install it: npm install prom-client',
      undefined,
      { cause: error },
    );
  }
  // ESM import() of a CommonJS module: the API sits on the namespace or on its default export.
  const namespace = loaded as PromClient & { default?: PromClient };
  return typeof namespace.Registry === 'function' ? namespace : namespace.default!;
}

/**
 * Prometheus metrics for every @sec package, fed by the guards' event stream (no package imports
 * another to be measured): breaker state and transitions, 503s served, rate-limit rejects,
 * revocations and health-check latencies. prom-client is an optional peer, loaded here.
 * @example
 * const metrics = await createMetrics({ guards: [guard] });
 * app.get('/metrics', metrics.handler);
 */
export async function createMetrics(options: MetricsOptions): Promise<Metrics> {
  checkOptions('createMetrics', options, { guards: 'array', register: 'object', prefix: 'string' });
  if (!options?.guards?.every(isRedisGuard)) {
    throw new OptionError(
      'guards',
      'createMetrics(): "guards" must be an array of guards from createRedisGuard()',
    );
  }
  const prefix = options.prefix ?? DEFAULT_METRICS_PREFIX;
  if (prefix !== '' && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new OptionError(
      'prefix',
      `createMetrics(): "prefix" must be a valid Prometheus name prefix, got "${prefix}"`,
    );
  }
  const client = await importPromClient();
  const register = options.register ?? new client.Registry();
  // A caller's registry comes from prom-client too; only its type was widened for the declarations.
  const registers = [register as Registry];
  const guards = [...new Set(options.guards)];
  const names: string[] = [];
  const named = (name: string) => {
    names.push(`${prefix}${name}`);
    return `${prefix}${name}`;
  };

  const breakerState: InstanceType<PromClient['Gauge']> = new client.Gauge({
    name: named('redis_breaker_state'),
    help: 'Circuit breaker state per guard: 0 closed, 1 half-open, 2 open.',
    labelNames: ['guard'],
    registers,
    // Across cluster workers (prom-client's AggregatorRegistry) the worst state, not a sum.
    aggregator: 'max',
    collect() {
      for (const guard of guards) breakerState.set({ guard: guard.name }, STATE_VALUE[guard.breaker.state]);
    },
  });
  const transitions = new client.Counter({
    name: named('redis_breaker_transitions_total'),
    help: 'Circuit breaker state changes.',
    labelNames: ['guard', 'from', 'to'],
    registers,
  });
  const unavailable = new client.Counter({
    name: named('unavailable_responses_total'),
    help: '503 responses served because Redis could not answer.',
    labelNames: ['service'],
    registers,
  });
  const rejected = new client.Counter({
    name: named('ratelimit_rejected_total'),
    help: 'Requests rejected by a rate limiter.',
    labelNames: ['limiter'],
    registers,
  });
  const revoked = new client.Counter({
    name: named('session_revocations_total'),
    help: 'Sessions revoked.',
    labelNames: ['scope'],
    registers,
  });
  const checkDuration = new client.Histogram({
    name: named('health_check_duration_seconds'),
    help: 'Health check duration.',
    labelNames: ['check', 'healthy'],
    buckets: [...HEALTH_CHECK_BUCKETS],
    registers,
  });
  const checkUp = new client.Gauge({
    name: named('health_check_up'),
    help: 'Result of the latest health check: 1 healthy, 0 not.',
    labelNames: ['check'],
    registers,
    aggregator: 'min',
  });

  const onEvent = (reported: SecEvent) => {
    const event = reported as CountedEvent;
    switch (event.type) {
      case 'breaker.transition':
        transitions.inc({ guard: event.name, from: event.from, to: event.to });
        break;
      case 'unavailable.response':
        unavailable.inc({ service: event.service });
        break;
      case 'ratelimit.rejected':
        rejected.inc({ limiter: event.limiter });
        break;
      case 'session.revoked':
        revoked.inc({ scope: event.scope }, event.count);
        break;
      case 'health.check':
        checkDuration.observe({ check: event.name, healthy: String(event.healthy) }, event.latencyMs / 1000);
        checkUp.set({ check: event.name }, event.healthy ? 1 : 0);
        break;
    }
  };
  const unsubscribe = guards.map((guard) => guard.observe(onEvent));

  return {
    register,
    // Not async: Express 4 does not catch a rejected handler.
    handler: (_req, res, next) => {
      register.metrics().then((body) => {
        // Node's own setHeader/end: Express 4's res.set() and res.send() rewrite the Content-Type
        // (charset appended, parameters reordered); scrapers get prom-client's exact value on 4 and 5.
        res.statusCode = 200;
        res.setHeader('Content-Type', register.contentType);
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Content-Length', Buffer.byteLength(body));
        res.end(body);
      }, next);
    },
    close() {
      for (const stop of unsubscribe) stop();
      for (const name of names) register.removeSingleMetric(name);
    },
  };
}
