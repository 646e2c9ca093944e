// Sequential timing for the bench scripts that measure one call at a time, and redis-server's own
// time per script call, which a busy machine disturbs less than the round trip.

/** The p-th percentile (0-100) of `values`. */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Median and p99 in ms of `samples` sequential runs of `work`. */
export async function time(samples, work) {
  const durations = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await work(i);
    durations.push(performance.now() - started);
  }
  return { median: percentile(durations, 50), p99: percentile(durations, 99) };
}

/** redis-server's µs per EVALSHA since the last `CONFIG RESETSTAT`. */
export async function serverUsPerScript(raw) {
  const stats = await raw.info('commandstats');
  return Number(/cmdstat_evalsha:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/.exec(stats)?.[1] ?? Number.NaN);
}
