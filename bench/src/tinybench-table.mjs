// Runs one group of tinybench tasks and prints a Markdown table with ops/s and ratios.
import { Bench } from 'tinybench';

/**
 * @param {string} title
 * @param {Array<{ name: string, fn: () => unknown, perCall?: number, versus?: string }>} tasks
 *   `perCall`: calls made by one run of `fn` (ops/s is reported per call);
 *   `versus`: name of the task this one's ratio is computed against.
 * @param {{ time: number }} options
 */
export async function runGroup(title, tasks, { time }) {
  const bench = new Bench({ name: title, time, warmupTime: Math.min(time, 250), throws: true });
  for (const task of tasks) bench.add(task.name, task.fn);
  await bench.run();
  const opsPerSecond = new Map();
  for (const task of tasks) {
    const { result } = bench.getTask(task.name);
    if (result.state !== 'completed')
      throw new Error(`${task.name}: ${result.state} ${result.error?.message ?? ''}`);
    opsPerSecond.set(task.name, {
      ops: result.throughput.mean * (task.perCall ?? 1),
      rme: result.latency.rme,
    });
  }
  console.log(`\n### ${title}\n`);
  console.log('| task | ops/s | ± | ratio |');
  console.log('| --- | ---: | ---: | --- |');
  for (const task of tasks) {
    const { ops, rme } = opsPerSecond.get(task.name);
    const base = task.versus ? opsPerSecond.get(task.versus) : undefined;
    const ratio = base ? `${(ops / base.ops).toFixed(2)}x ${task.versus}` : '';
    console.log(`| ${task.name} | ${format(ops)} | ${rme.toFixed(1)}% | ${ratio} |`);
  }
  return opsPerSecond;
}

function format(ops) {
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(2)} M`;
  if (ops >= 1e4) return `${(ops / 1e3).toFixed(1)} k`;
  return ops.toFixed(ops >= 100 ? 0 : 1);
}
