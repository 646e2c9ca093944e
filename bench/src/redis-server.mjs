// A throw-away redis-server for one benchmark run: loopback only, random password, no persistence.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { freePort } from './free-port.mjs';

const READY = 'Ready to accept connections';
/** USER_HZ: Linux reports process CPU times in 1/100 s everywhere Node runs. */
const CLOCK_TICKS = 100;

/**
 * Starts redis-server on a free port and resolves once it accepts connections.
 * @returns {Promise<{ url: string, password: string, port: number, version: string, cpuMicros(): number | undefined, stop(): Promise<void> }>}
 */
export async function startRedisServer() {
  const port = await freePort();
  const password = randomBytes(24).toString('hex');
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--requirepass',
      password,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk;
      if (output.includes(READY)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
  // Keep draining its log so a full pipe never blocks the server.
  child.stdout.resume();
  child.stderr.resume();
  const version = /version=([\d.]+)/.exec(output)?.[1] ?? 'unknown';
  // The runner's own connection, for INFO only: its INFO calls are left out of the counts.
  const admin = new Redis({ port, password, lazyConnect: true });
  admin.on('error', () => undefined);
  return {
    url: `redis://127.0.0.1:${port}`,
    password,
    port,
    version,
    /** CPU time (user + system) redis-server has used so far, in µs; undefined off Linux. */
    cpuMicros() {
      try {
        // /proc/<pid>/stat: utime and stime are fields 14 and 15, counted after the ")" of the name.
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
      } catch {
        return undefined;
      }
    },
    /**
     * Commands the server has run (INFO commandstats, scripts' inner calls included, INFO left
     * out) and reads it has processed (total_reads_processed: one per batch of commands that
     * arrived together, so one per round trip), both since it started.
     * @returns {Promise<{ commands: number, reads: number }>}
     */
    async counters() {
      if (admin.status === 'wait') await admin.connect();
      const info = await admin.info('all');
      let commands = 0;
      for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        if (match[1] !== 'info') commands += Number(match[2]);
      }
      // This INFO's own read is counted in its reply: leave it out.
      const reads = Number(/^total_reads_processed:(\d+)/m.exec(info)?.[1]) - 1;
      return { commands, reads };
    },
    stop() {
      admin.disconnect();
      if (child.exitCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}
