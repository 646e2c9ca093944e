import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { countDuring, freePort, redisCli, startCluster, startRedis, waitFor } from '../src/index.js';
import { WATCHDOG_SCRIPT } from '../src/processes.js';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('test harness', () => {
  it('kill() crashes the server and restart() brings it back on the same port', async () => {
    const server = await startRedis();
    try {
      expect(server.port).not.toBe(6379);
      await server.kill();
      expect(server.running).toBe(false);
      expect(await accepts(server.port)).toBe(false);
      await server.restart();
      expect(server.running).toBe(true);
      expect(await accepts(server.port)).toBe(true);
    } finally {
      await server.stop();
    }
    expect(await accepts(server.port)).toBe(false);
  });

  it('starts a cluster with a synced replica per master, known to every node', async () => {
    const cluster = await startCluster({ masters: 3, replicas: 1 });
    try {
      expect(cluster.nodes).toHaveLength(6);
      expect(cluster.masters).toHaveLength(3);
      expect(cluster.replicas).toHaveLength(3);
      for (const master of cluster.masters) {
        const replica = cluster.replicaOf(master)!;
        expect(cluster.replicas).toContain(replica);
        expect(await redisCli(replica, 'INFO', 'replication')).toContain(`master_port:${master.port}`);
      }
      const slots = await redisCli(cluster.nodes[0]!, 'CLUSTER', 'SLOTS');
      for (const node of cluster.nodes) expect(slots).toContain(String(node.port));
    } finally {
      await cluster.stop();
    }
  }, 60_000);

  it('leaves no redis-server behind when the process that started it is SIGKILLed', async () => {
    const port = await freePort();
    // A parent that starts a server under the watchdog and then is killed without any clean-up.
    const script = `
      const { spawn } = require('node:child_process');
      const child = spawn('sh', ['-c', ${JSON.stringify(WATCHDOG_SCRIPT)}, 'redis-server', '--port', '${port}', '--bind', '127.0.0.1', '--save', ''], { stdio: ['pipe', 'inherit', 'inherit'] });
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    await waitFor('the server to accept connections', () => accepts(port));
    parent.kill('SIGKILL');
    await waitFor('the orphaned server to be killed', async () => !(await accepts(port)), 5_000);
  });
});

describe('pause() and resume()', () => {
  it('freeze the redis-server process itself (not its watchdog) until resume()', async () => {
    const server = await startRedis();
    try {
      const socket = connect(server.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      server.pause();
      // 'T' is "stopped by a signal" in /proc/<pid>/stat.
      const state = () => readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]?.[0];
      // Signals are delivered asynchronously.
      await waitFor('the process to stop', async () => state() === 'T', 5_000);
      const reply = new Promise<string>((resolve) =>
        socket.once('data', (chunk) => resolve(chunk.toString())),
      );
      socket.write('PING\r\n');
      server.resume();
      expect((await reply).trim()).toBe('+PONG');
      expect(state()).not.toBe('T');
      socket.destroy();
    } finally {
      await server.stop();
    }
  });

  it('a paused server is still stopped by stop()', async () => {
    const server = await startRedis();
    server.pause();
    await server.stop();
    expect(await accepts(server.port)).toBe(false);
  });
});

describe('countDuring()', () => {
  it('counts commands and reads: one per command sent alone, one per pipeline', async () => {
    const server = await startRedis({ password: 'harness-Count-Password-0123456789' });
    const client = new Redis({ port: server.port, password: 'harness-Count-Password-0123456789' });
    try {
      await client.ping();
      const alone = await countDuring(server, async () => {
        for (let i = 0; i < 5; i++) await client.get(`k${i}`);
      });
      expect(alone).toMatchObject({ commands: 5, reads: 5, calls: { get: 5 } });
      const together = await countDuring(server, () =>
        client.pipeline().set('a', '1').get('a').incr('n').exec(),
      );
      expect(together).toMatchObject({ commands: 3, reads: 1, calls: { set: 1, get: 1, incr: 1 } });
      expect(await countDuring(server, async () => undefined)).toMatchObject({ commands: 0, reads: 0 });
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});
