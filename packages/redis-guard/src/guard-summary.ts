import { inspect } from 'node:util';
import type { RedisGuard } from './guard.js';

/**
 * Makes a guard print as a summary (`JSON.stringify`, `String`, `util.inspect`): its client and
 * options never reach a log line or a JSON body. Non-enumerable, so the interface stays as it is.
 */
export function describeGuard(guard: RedisGuard): void {
  const summary = () => ({
    name: guard.name,
    keyPrefix: guard.keyPrefix,
    environment: guard.environment,
    mode: guard.mode,
    failClosed: guard.failClosed,
    status: guard.client?.status ?? 'memory',
    breaker: guard.breaker.state,
  });
  const text = () => {
    const { name, ...rest } = summary();
    const fields = Object.entries(rest).map(([key, value]) => `${key}=${value}`);
    return `RedisGuard<${name} ${fields.join(' ')}>`;
  };
  for (const [key, value] of [
    ['toJSON', summary],
    ['toString', text],
    [inspect.custom, text],
  ] as const) {
    Object.defineProperty(guard, key, { value, enumerable: false });
  }
}
