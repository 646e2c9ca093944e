import { describe, expect, it } from '@jest/globals';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { ConfigurationError, createRedisGuard } from '@sec/redis-guard';
import { captureLogger } from '@sec/testing';
import { createOtelMetrics, HealthErrorCode } from '../src/index.js';
import { globalMeterProvider } from '../src/otel-metrics.js';

/** A reader collected on demand: what an exporter would receive. */
class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

async function points(reader: TestReader) {
  const { resourceMetrics } = await reader.collect();
  const found = new Map<string, { attributes: Record<string, unknown>; value: unknown }[]>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      found.set(
        metric.descriptor.name,
        metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
      );
    }
  }
  return found;
}

describe('createOtelMetrics', () => {
  const guard = createRedisGuard({
    mode: 'memory',
    environment: 'test',
    name: 'main',
    logger: captureLogger().logger,
  });

  it('counts the guards’ events through an OpenTelemetry meter', async () => {
    const reader = new TestReader();
    const metrics = createOtelMetrics({
      guards: [guard],
      meterProvider: new MeterProvider({ readers: [reader] }),
    });
    guard.report({ type: 'breaker.transition', name: 'main', from: 'closed', to: 'open' });
    guard.report({ type: 'unavailable.response', service: 'sessions' });
    guard.report({ type: 'unavailable.response', service: 'sessions' });
    guard.report({ type: 'audit.write_failed', eventType: 'session.login', reason: 'OOM' });
    guard.report({ type: 'health.check', name: 'redis', healthy: true, latencyMs: 3 });
    guard.report({ type: 'ratelimit.rejected', limiter: 'api' } as never);
    guard.report({ type: 'session.revoked', scope: 'user', count: 3 } as never);
    const found = await points(reader);
    expect(found.get('sec.redis.breaker.transitions')).toEqual([
      { attributes: { guard: 'main', from: 'closed', to: 'open' }, value: 1 },
    ]);
    expect(found.get('sec.unavailable.responses')).toEqual([
      { attributes: { service: 'sessions' }, value: 2 },
    ]);
    expect(found.get('sec.audit.write_failures')).toEqual([
      { attributes: { event_type: 'session.login' }, value: 1 },
    ]);
    expect(found.get('sec.ratelimit.rejected')).toEqual([{ attributes: { limiter: 'api' }, value: 1 }]);
    expect(found.get('sec.session.revocations')).toEqual([{ attributes: { scope: 'user' }, value: 3 }]);
    expect(found.get('sec.redis.breaker.state')).toEqual([{ attributes: { guard: 'main' }, value: 0 }]);
    expect((found.get('sec.health.check.duration')![0]!.value as { count: number }).count).toBe(1);
    metrics.close();
    guard.report({ type: 'unavailable.response', service: 'sessions' });
    expect((await points(reader)).get('sec.unavailable.responses')).toEqual([
      { attributes: { service: 'sessions' }, value: 2 },
    ]);
  });

  it('uses the global provider by default, and checks its options', () => {
    expect(() => createOtelMetrics({ guards: [guard] }).close()).not.toThrow();
    expect(() => createOtelMetrics({ guards: [{}] } as never)).toThrow(/"guards" must be an array of guards/);
    expect(() => createOtelMetrics({ guards: [guard], meterprovider: {} } as never)).toThrow(/meterProvider/);
  });

  it('names the missing peer when @opentelemetry/api is absent', () => {
    const absent = () => {
      throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), { code: 'MODULE_NOT_FOUND' });
    };
    let thrown: unknown;
    try {
      globalMeterProvider(absent);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect(thrown).toMatchObject({ code: HealthErrorCode.OtelApiMissing });
    expect((thrown as Error).message).toMatch(/npm install @opentelemetry\/api/);
  });
});
