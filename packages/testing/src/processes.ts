import { type ChildProcess, spawn } from 'node:child_process';

const running = new Set<ChildProcess>();

// A jest worker that exits (even after a failed test or an uncaught error) must not leave
// redis-server processes behind; 'exit' handlers may only do synchronous work, and kill() is.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * The server runs under a tiny shell watchdog holding our stdin pipe. When this process dies in any
 * way, SIGKILL included, the pipe closes, `cat` sees end-of-file and the watchdog kills the server:
 * no orphaned redis-server survives a killed test run. Closing stdin is also how we stop it.
 */
export const WATCHDOG_SCRIPT = [
  'exec 3<&0',
  'redis-server "$@" </dev/null & pid=$!',
  '(cat <&3 >/dev/null; kill -9 "$pid" 2>/dev/null) & watcher=$!',
  'exec 3<&-',
  'wait "$pid"; code=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$code"',
].join('\n');

/** Spawns `redis-server args…` under the watchdog, tracked for clean-up. */
export function spawnRedisServer(args: readonly string[]): ChildProcess {
  const child = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'redis-server', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Kills the server at once (SIGKILL, like a crash) and resolves once it has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.stdin?.end();
  });
}
