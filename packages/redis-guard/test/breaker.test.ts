import { describe, expect, it } from '@jest/globals';
import { captureLogger } from '@sec/testing';
import { CircuitBreaker } from '../src/breaker.js';

function clockedBreaker(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  let now = 1_000_000;
  const log = captureLogger();
  const breaker = new CircuitBreaker({ now: () => now, logger: log.logger, ...options });
  const transitions: string[] = [];
  breaker.on('transition', (t) => transitions.push(`${t.from}->${t.to}`));
  return { breaker, log, transitions, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker state machine', () => {
  it('opens after 5 consecutive failures and logs it', () => {
    const { breaker, log } = clockedBreaker();
    for (let i = 0; i < 4; i++) breaker.recordFailure('ECONNREFUSED');
    expect(breaker.state).toBe('closed');
    breaker.recordFailure('ECONNREFUSED');
    expect(breaker.state).toBe('open');
    expect(breaker.allowsRequests()).toBe(false);
    expect(log.messages('warn')).toContain('Circuit breaker opening after 5 failures');
    expect(breaker.snapshot()).toMatchObject({
      state: 'open',
      failureCount: 5,
      lastError: 'ECONNREFUSED',
      retryAfterSeconds: 30,
    });
  });

  it('a success in between resets the count: failures must be consecutive', () => {
    const { breaker } = clockedBreaker();
    for (let i = 0; i < 4; i++) breaker.recordFailure('x');
    breaker.recordSuccess();
    for (let i = 0; i < 4; i++) breaker.recordFailure('x');
    expect(breaker.state).toBe('closed');
  });

  it('half-opens after 30 s, closes after 2 successes', () => {
    const { breaker, transitions, log, advance } = clockedBreaker();
    for (let i = 0; i < 5; i++) breaker.recordFailure('x');
    advance(29_999);
    expect(breaker.allowsRequests()).toBe(false);
    expect(breaker.retryAfterSeconds()).toBe(1);
    advance(1);
    expect(breaker.allowsRequests()).toBe(true);
    expect(breaker.state).toBe('half-open');
    breaker.recordSuccess();
    expect(breaker.state).toBe('half-open');
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().failureCount).toBe(0);
    expect(transitions).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
    expect(log.messages('info')).toContain('Circuit breaker closing');
  });

  it('a failure while half-open reopens it for a full period', () => {
    const { breaker, log, advance } = clockedBreaker();
    for (let i = 0; i < 5; i++) breaker.recordFailure('x');
    advance(30_000);
    breaker.allowsRequests();
    breaker.recordFailure('still down');
    expect(breaker.state).toBe('open');
    expect(breaker.retryAfterSeconds()).toBe(30);
    expect(log.messages('warn')).toContain('Circuit breaker reopening');
  });

  it('honours configured thresholds', () => {
    const { breaker, advance } = clockedBreaker({
      failureThreshold: 2,
      openDurationMs: 1_000,
      successThreshold: 1,
    });
    breaker.recordFailure('x');
    breaker.recordFailure('x');
    expect(breaker.state).toBe('open');
    advance(1_000);
    breaker.allowsRequests();
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
  });

  it('recovers early when a background probe succeeds, one probe in flight at a time', async () => {
    let calls = 0;
    let release: () => void = () => undefined;
    const probe = () => {
      calls += 1;
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    };
    const { breaker } = clockedBreaker({ probe, probeIntervalMs: 10_000 });
    for (let i = 0; i < 5; i++) breaker.recordFailure('x');
    breaker.probeNow();
    breaker.probeNow();
    expect(calls).toBe(1);
    release();
    await new Promise((r) => setImmediate(r));
    expect(breaker.state).toBe('half-open');
    breaker.probeNow();
    release();
    await new Promise((r) => setImmediate(r));
    expect(breaker.state).toBe('closed');
    breaker.dispose();
  });

  it('while open, a late success of a call admitted before it opened is not evidence: only the probe half-opens it', async () => {
    let release: () => void = () => undefined;
    const probe = () =>
      new Promise<void>((resolve) => {
        release = resolve;
      });
    const { breaker, transitions } = clockedBreaker({ probe, probeIntervalMs: 10_000 });
    expect(breaker.allowsRequests()).toBe(true); // call A is admitted here…
    for (let i = 0; i < 5; i++) breaker.recordFailure('timeout');
    breaker.recordSuccess(); // …and answers only now
    expect(breaker.state).toBe('open');
    expect(breaker.allowsRequests()).toBe(false);
    expect(breaker.retryAfterSeconds()).toBe(30);
    breaker.probeNow();
    release();
    await new Promise((r) => setImmediate(r));
    expect(breaker.state).toBe('half-open');
    expect(transitions).toEqual(['closed->open', 'open->half-open']);
    breaker.dispose();
  });

  it('a probe that began before the breaker reopened does not half-open it', async () => {
    let release: () => void = () => undefined;
    const probe = () =>
      new Promise<void>((resolve) => {
        release = resolve;
      });
    const { breaker, advance } = clockedBreaker({ probe, probeIntervalMs: 10_000 });
    for (let i = 0; i < 5; i++) breaker.recordFailure('x');
    advance(30_000);
    expect(breaker.allowsRequests()).toBe(true);
    breaker.probeNow(); // probe P starts while half-open…
    breaker.recordFailure('still down'); // …the breaker reopens…
    release(); // …and P answers late
    await new Promise((r) => setImmediate(r));
    expect(breaker.state).toBe('open');
    breaker.dispose();
  });
});
