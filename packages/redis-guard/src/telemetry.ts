import { createRequire } from 'node:module';
import type * as OpenTelemetry from '@opentelemetry/api';

/**
 * Span attributes the @sec packages set: names, counts and outcomes. Never a token, password, key,
 * cookie, client address or user-supplied key: spans leave the process for a tracing backend.
 */
export type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

let api: typeof OpenTelemetry | null | undefined;

/**
 * `@opentelemetry/api`, loaded on the first span and remembered; null when the app does not have
 * it (an optional peer). Nothing is loaded at import time, so an app without it pays nothing and
 * never sees an import error. `load` is replaceable for tests.
 */
export function openTelemetry(
  load: () => unknown = () => createRequire(import.meta.url)('@opentelemetry/api'),
): typeof OpenTelemetry | null {
  if (api === undefined) {
    try {
      api = load() as typeof OpenTelemetry;
    } catch {
      api = null;
    }
  }
  return api;
}

/** Forgets what openTelemetry() loaded, so a test can load it again (or find it absent). */
export function resetOpenTelemetry(): void {
  api = undefined;
}

/** An error's stable code (SecError) or class name: messages may quote what they failed on. */
function errorLabel(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'non-error';
}

/**
 * Runs `work` in a span named `name` of the tracer `scope` (the package), when
 * `@opentelemetry/api` is installed; otherwise just runs it. `settle` adds attributes from the
 * result (an outcome, a count). A rejection marks the span as an error with the error's code, never
 * its message.
 */
export function withSpan<T>(
  scope: string,
  name: string,
  attributes: SpanAttributes,
  work: () => Promise<T>,
  settle?: (result: T) => SpanAttributes,
): Promise<T> {
  const otel = openTelemetry();
  if (!otel) return work();
  const tracer = otel.trace.getTracer(scope);
  return tracer.startActiveSpan(name, { kind: otel.SpanKind.INTERNAL, attributes }, async (span) => {
    try {
      const result = await work();
      if (settle) span.setAttributes(settle(result));
      return result;
    } catch (error) {
      const label = errorLabel(error);
      span.setAttribute('sec.error', label);
      span.setStatus({ code: otel.SpanStatusCode.ERROR, message: label });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Records a moment (a breaker transition) as a span of no duration, under the active span if any. */
export function recordSpan(scope: string, name: string, attributes: SpanAttributes): void {
  const otel = openTelemetry();
  if (!otel) return;
  otel.trace.getTracer(scope).startSpan(name, { kind: otel.SpanKind.INTERNAL, attributes }).end();
}
