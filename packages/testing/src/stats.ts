/**
 * The middle value, for latency assertions that one slow sample on a shared machine must not fail.
 * @example expect(median(latencies)).toBeLessThan(50);
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median() of no values');
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}
