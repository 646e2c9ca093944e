import { describe, expect, it, jest } from '@jest/globals';
import { captureLogger, freePort, killClientsNamed, redisCli, waitFor } from '@sec/testing';
import { Redis } from 'ioredis';
import { type AuditEntry, createAuditReader, createAuditTrail } from '../src/audit.js';
import { createRedisGuard } from '../src/index.js';
import { auditServer } from './audit-server.js';

const PASSWORD = 'reader-Integration-Password-0123456789abcdef';

describe('audit reader', () => {
  const server = auditServer(PASSWORD);
  const { guardFor } = server;

  it('reads in batches and resumes after the id it was given', async () => {
    const guard = guardFor('batches:');
    await guard.ready();
    const trail = createAuditTrail(guard);
    for (let i = 0; i < 25; i++) {
      void trail.append(
        { type: 'breaker.transition', name: `b${i}`, from: 'closed', to: 'open' },
        { user: 'u1' },
      );
    }
    await trail.flush();
    const reader = createAuditReader(guard, { count: 10, blockMs: 0 });
    const first = await reader.read();
    expect(first.map((e) => e.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(first[0]).toMatchObject({ type: 'breaker.transition', user: 'u1', data: { name: 'b0' } });
    const checkpoint = reader.lastId;
    await reader.close();
    const resumed = createAuditReader(guard, { after: checkpoint, count: 100, blockMs: 0 });
    expect((await resumed.read()).map((e) => e.n)).toEqual(Array.from({ length: 15 }, (_, i) => i + 11));
    expect(await resumed.read()).toEqual([]);
    await resumed.close();
    await trail.close();
  });

  it('a follower whose connection is killed three times while 300 entries are written misses none, in order', async () => {
    const writer = guardFor('follow:');
    const readerLog = captureLogger();
    const readerGuard = guardFor('follow:', readerLog);
    await Promise.all([writer.ready(), readerGuard.ready()]);
    const trail = createAuditTrail(writer);
    const reader = createAuditReader(readerGuard, { blockMs: 200, count: 7 });
    const seen: AuditEntry[] = [];
    const following = (async () => {
      for await (const entry of reader) {
        seen.push(entry);
        if (seen.length === 300) break;
      }
    })();
    const write = async (from: number) => {
      for (let i = from; i < from + 100; i++) {
        await trail.append({ type: 'breaker.transition', name: `e${i}`, from: 'closed', to: 'open' });
      }
    };
    for (const batch of [0, 100, 200]) {
      const writing = write(batch);
      await waitFor('the reader to catch up with some of this batch', async () => seen.length > batch);
      expect(await killClientsNamed(server.redis, 'sec-audit-reader')).toBeGreaterThan(0);
      await writing;
    }
    await following;
    expect(readerLog.text()).not.toContain(PASSWORD);
    expect(seen.map((e) => e.n)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(seen.map((e) => e.data.name)).toEqual(Array.from({ length: 300 }, (_, i) => `e${i}`));
    await reader.close();
    await trail.close();
  });

  it('a reader whose server cannot be reached, or that is closed while it connects, logs one scrubbed warning and no unhandled error', async () => {
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const log = captureLogger();
      const down = server.track(
        createRedisGuard({
          client: new Redis({ port: await freePort(), password: PASSWORD, lazyConnect: true }),
          environment: 'test',
          logger: log.logger,
        }),
      );
      const reader = createAuditReader(down, { blockMs: 100 });
      await waitFor('the connection warning', async () => log.text().includes('audit.reader_connection'));
      await reader.close();
      // Closed before their connections are up: disconnecting fails their handshakes.
      const up = guardFor('closed-at-once:');
      await up.ready();
      await Promise.all(Array.from({ length: 20 }, () => createAuditReader(up).close()));
      await waitFor(
        'the readers to disconnect',
        async () =>
          !(await redisCli({ port: server.redis.port, password: PASSWORD }, 'CLIENT', 'LIST')).includes(
            'name=sec-audit-reader',
          ),
      );
      expect(
        log.records.filter((r) => (r.obj as { event?: string }).event === 'audit.reader_connection'),
      ).toHaveLength(1);
      expect(log.text()).not.toContain(PASSWORD);
      expect(printed.mock.calls.map((call) => String(call[0]))).not.toContainEqual(
        expect.stringContaining('Unhandled error event'),
      );
    } finally {
      printed.mockRestore();
    }
  });

  it('rejects a malformed start id and unknown options', () => {
    const guard = guardFor('opts:');
    expect(() => createAuditReader(guard, { after: 'yesterday' })).toThrow(/"after" must be a stream id/);
    expect(() => createAuditReader(guard, { blockMS: 5 } as never)).toThrow(/blockMs/);
  });
});
