import { createRequire } from 'node:module';
import {
  type BreakerState,
  ConfigurationError,
  OptionError,
  type RedisGuard,
  type SecEvent,
} from '@sec/redis-guard';
import { checkOptions, isRedisGuard } from '@sec/redis-guard/internal';
import { HealthErrorCode } from './errors.js';

type Attributes = Record<string, string>;
type ObservableResult = { observe(value: number, attributes?: Attributes): void };

/**
 * The part of an OpenTelemetry `MeterProvider` used here, typed structurally so the declarations
 * do not need `@opentelemetry/api` installed; the SDK's `MeterProvider` and the global one fit.
 * @example
 * import { metrics } from '@opentelemetry/api';
 * const provider: OtelMeterProvider = metrics.getMeterProvider();
 */
export interface OtelMeterProvider {
  getMeter(name: string): {
    createCounter(
      name: string,
      options?: { description?: string; unit?: string },
    ): {
      add(value: number, attributes?: Attributes): void;
    };
    createHistogram(
      name: string,
      options?: { description?: string; unit?: string },
    ): {
      record(value: number, attributes?: Attributes): void;
    };
    createObservableGauge(
      name: string,
      options?: { description?: string },
    ): {
      addCallback(callback: (result: ObservableResult) => void): void;
      removeCallback(callback: (result: ObservableResult) => void): void;
    };
  };
}

/**
 * @example
 * const options: OtelMetricsOptions = { guards: [guard] }; // the global MeterProvider
 */
export interface OtelMetricsOptions {
  /** Guards whose events are counted: every @sec package reports through the guard it was given. */
  readonly guards: readonly RedisGuard[];
  /** Default: `@opentelemetry/api`'s global MeterProvider (the one your SDK registered). */
  readonly meterProvider?: OtelMeterProvider;
}

/**
 * @example
 * const metrics: OtelMetrics = createOtelMetrics({ guards: [guard] });
 * process.on('SIGTERM', () => metrics.close());
 */
export interface OtelMetrics {
  /** Stops counting (the instruments stay with the provider, as OpenTelemetry has no removal). */
  close(): void;
}

const STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

/** The events counted; the other packages' are named by their wire shape, as in createMetrics. */
type CountedEvent =
  | SecEvent<'breaker.transition' | 'unavailable.response' | 'health.check' | 'audit.write_failed'>
  | { readonly type: 'ratelimit.rejected'; readonly limiter: string }
  | { readonly type: 'session.revoked'; readonly scope: string; readonly count: number };

/** `@opentelemetry/api`'s global MeterProvider, loaded when first asked for. Exported for tests. */
export function globalMeterProvider(
  load: () => unknown = () => createRequire(import.meta.url)('@opentelemetry/api'),
): OtelMeterProvider {
  try {
    const api = load() as { metrics: { getMeterProvider(): OtelMeterProvider } };
    return api.metrics.getMeterProvider();
  } catch (error) {
    throw new ConfigurationError(
      HealthErrorCode.OtelApiMissing,
      'createOtelMetrics() without a meterProvider needs the optional peer dependency @opentelemetry/api. Install it (npm install @opentelemetry/api) and register your SDK, or use createMetrics() with prom-client.',
      undefined,
      { cause: error },
    );
  }
}

/**
 * The metrics of createMetrics(), through an OpenTelemetry meter instead of prom-client: breaker
 * state and transitions, 503s served, rate-limit rejects, revocations, health-check latencies,
 * and failed audit trail writes. Fed by the guards' events; names follow OpenTelemetry's dotted
 * style (`sec.redis.breaker.transitions`).
 * @example
 * const metrics = createOtelMetrics({ guards: [guard] });
 */
export function createOtelMetrics(options: OtelMetricsOptions): OtelMetrics {
  checkOptions('createOtelMetrics', options, { guards: 'array', meterProvider: 'object' });
  if (!options?.guards?.every(isRedisGuard)) {
    throw new OptionError(
      'guards',
      'createOtelMetrics(): "guards" must be an array of guards from createRedisGuard()',
    );
  }
  const meter = (options.meterProvider ?? globalMeterProvider()).getMeter('@sec/health');
  const guards = [...new Set(options.guards)];
  const transitions = meter.createCounter('sec.redis.breaker.transitions', {
    description: 'Circuit breaker state changes.',
  });
  const unavailable = meter.createCounter('sec.unavailable.responses', {
    description: '503 responses served because Redis could not answer.',
  });
  const rejected = meter.createCounter('sec.ratelimit.rejected', {
    description: 'Requests rejected by a rate limiter.',
  });
  const revoked = meter.createCounter('sec.session.revocations', { description: 'Sessions revoked.' });
  const auditFailures = meter.createCounter('sec.audit.write_failures', {
    description: 'Audit trail entries that could not be written.',
  });
  const checkDuration = meter.createHistogram('sec.health.check.duration', {
    description: 'Health check duration.',
    unit: 's',
  });
  const breakerState = meter.createObservableGauge('sec.redis.breaker.state', {
    description: 'Circuit breaker state per guard: 0 closed, 1 half-open, 2 open.',
  });
  const observeState = (result: ObservableResult) => {
    for (const guard of guards) result.observe(STATE_VALUE[guard.breaker.state], { guard: guard.name });
  };
  breakerState.addCallback(observeState);

  const onEvent = (reported: SecEvent) => {
    const event = reported as CountedEvent;
    switch (event.type) {
      case 'breaker.transition':
        transitions.add(1, { guard: event.name, from: event.from, to: event.to });
        break;
      case 'unavailable.response':
        unavailable.add(1, { service: event.service });
        break;
      case 'ratelimit.rejected':
        rejected.add(1, { limiter: event.limiter });
        break;
      case 'session.revoked':
        revoked.add(event.count, { scope: event.scope });
        break;
      case 'audit.write_failed':
        auditFailures.add(1, { event_type: event.eventType });
        break;
      case 'health.check':
        checkDuration.record(event.latencyMs / 1000, { check: event.name, healthy: String(event.healthy) });
        break;
    }
  };
  const unsubscribe = guards.map((guard) => guard.observe(onEvent));
  return {
    close() {
      for (const stop of unsubscribe) stop();
      breakerState.removeCallback(observeState);
    },
  };
}
