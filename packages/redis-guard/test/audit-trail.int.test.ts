import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { captureLogger, refuseWrites, startRedis, waitFor } from '@sec/testing';
import express from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createAuditTrail } from '../src/audit.js';
import { entryHash, GENESIS_HASH, parseHead, toEntry } from '../src/audit-chain.js';
import { DIGEST_SCRIPT } from '../src/audit-script.js';
import { createRedisGuard, type SecEvent } from '../src/index.js';
import { auditServer } from './audit-server.js';

const PASSWORD = 'audit-Integration-Password-0123456789abcdef';

describe('audit trail', () => {
  const server = auditServer(PASSWORD);
  const { guardFor } = server;
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis({ port: server.redis.port, password: PASSWORD });
  });
  afterAll(() => admin?.disconnect());

  it("the script's SHA-256 matches node:crypto for lengths around every padding boundary", async () => {
    const inputs = [0, 1, 55, 56, 63, 64, 65, 119, 120, 200, 1000].map((n) =>
      Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 7) % 90))).join(''),
    );
    inputs.push('é€😀 unicode');
    for (const input of inputs) {
      const lua = await DIGEST_SCRIPT.run(admin, [], [input]);
      expect(lua).toBe(createHash('sha256').update(input).digest('hex'));
    }
  });

  it('chains 200 concurrent appends from four clients: every entry hashes its predecessor', async () => {
    const writers = Array.from({ length: 4 }, () => guardFor('chain:'));
    await Promise.all(writers.map((g) => g.ready()));
    const trails = writers.map((g) => createAuditTrail(g));
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        trails[i % 4]!.append(
          { type: 'breaker.transition', name: `w${i}`, from: 'closed', to: 'open' },
          {
            user: `u${i % 7}`,
          },
        ),
      ),
    );
    const raw = (await admin.xrange(trails[0]!.key, '-', '+')) as [string, string[]][];
    expect(raw).toHaveLength(200);
    let prev = GENESIS_HASH;
    raw.forEach((item, index) => {
      const entry = toEntry(item);
      expect(entry.n).toBe(index + 1);
      expect(entry.prev).toBe(prev);
      expect(entry.hash).toBe(entryHash(item[0], item[1]));
      prev = entry.hash;
    });
    const head = parseHead(await admin.get('chain:{audit}:head'));
    expect(head).toEqual({ n: 200, id: raw.at(-1)![0], hash: prev });
    await Promise.all(trails.map((t) => t.close()));
  });

  it('records only events reported with an audit hint, through the guard', async () => {
    const guard = guardFor('hint:');
    await guard.ready();
    const trail = createAuditTrail(guard);
    guard.report({ type: 'unavailable.response', service: 'sessions' });
    guard.report({ type: 'breaker.transition', name: 'x', from: 'closed', to: 'open' }, {});
    await trail.close();
    const entries = ((await admin.xrange(trail.key, '-', '+')) as [string, string[]][]).map(toEntry);
    expect(entries.map((e) => e.type)).toEqual(['breaker.transition']);
    expect(entries[0]!.data).toMatchObject({ name: 'x', from: 'closed', to: 'open' });
  });

  it('a 10,000-event flood on one key adds one entry per window, and few Redis calls', async () => {
    const guard = guardFor('flood:');
    await guard.ready();
    const trail = createAuditTrail(guard);
    const before = Number((await admin.info('stats')).match(/total_commands_processed:(\d+)/)![1]);
    for (let i = 0; i < 10_000; i++) {
      const event: SecEvent = { type: 'breaker.transition', name: 'flood', from: 'closed', to: 'open' };
      guard.report(event, { once: { key: 'limiter:203.0.113.9', windowMs: 60_000 } });
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await trail.flush();
    const after = Number((await admin.info('stats')).match(/total_commands_processed:(\d+)/)![1]);
    expect(await admin.xlen(trail.key)).toBe(1);
    expect(after - before).toBeLessThan(20);
    // Another process (no local memory of the window) is held back by the marker in Redis.
    const otherGuard = guardFor('flood:');
    const other = createAuditTrail(otherGuard);
    await otherGuard.ready();
    await expect(
      other.append(
        { type: 'breaker.transition', name: 'flood', from: 'closed', to: 'open' },
        {
          once: { key: 'limiter:203.0.113.9', windowMs: 60_000 },
        },
      ),
    ).resolves.toBeUndefined();
    expect(await admin.xlen(trail.key)).toBe(1);
    const markers = await admin.keys('flood:{audit}:once:*');
    expect(markers).toHaveLength(1);
    expect(markers[0]).not.toContain('203.0.113.9');
    await Promise.all([trail.close(), other.close()]);
  });

  it('keeps about maxLen entries', async () => {
    const guard = guardFor('cap:');
    await guard.ready();
    const trail = createAuditTrail(guard, { maxLen: 100 });
    for (let i = 0; i < 1000; i++) {
      trail
        .append({ type: 'breaker.transition', name: `c${i}`, from: 'closed', to: 'open' })
        .catch(() => undefined);
    }
    await trail.close();
    const length = await admin.xlen(trail.key);
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(300);
    expect(parseHead(await admin.get('cap:{audit}:head'))?.n).toBe(1000);
  });

  it('a refused audit write never fails the request: 150 concurrent requests get 200, the failure is logged and reported', async () => {
    const log = captureLogger();
    const guard = guardFor('refused:', log);
    await guard.ready();
    const trail = createAuditTrail(guard);
    const failures: SecEvent[] = [];
    guard.observe((event) => {
      if (event.type === 'audit.write_failed') failures.push(event);
    });
    const app = express();
    app.post('/login', async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      guard.report(
        { type: 'breaker.transition', name: 'login', from: 'closed', to: 'open' },
        { user: 'alice' },
      );
      res.json({ ok: true });
    });
    const restore = await refuseWrites(server.redis, 'OOM');
    try {
      const responses = await Promise.all(Array.from({ length: 150 }, () => request(app).post('/login')));
      expect(responses.map((r) => r.status)).toEqual(Array(150).fill(200));
      await trail.flush();
    } finally {
      await restore();
    }
    expect(failures).toHaveLength(150);
    expect(failures[0]).toMatchObject({ eventType: 'breaker.transition' });
    expect(
      log.records.filter((r) => (r.obj as { event?: string }).event === 'audit.write_failed'),
    ).toHaveLength(150);
    expect(log.text()).not.toContain(PASSWORD);
    expect(await admin.exists(trail.key)).toBe(0);
    // Writes accepted again: the trail carries on.
    await trail.append({ type: 'breaker.transition', name: 'login', from: 'open', to: 'closed' });
    expect(await admin.xlen(trail.key)).toBe(1);
    await trail.close();
  });

  it('refuses a memory-mode guard and unknown options', () => {
    const memory = createRedisGuard({ mode: 'memory', environment: 'test', logger: captureLogger().logger });
    expect(() => createAuditTrail(memory)).toThrow(/memory mode/);
    expect(() => createAuditTrail(guardFor('x:'), { maxLength: 5 } as never)).toThrow(/maxLen/);
  });

  it('events during an outage (frozen server, breaker open) wait and are written in order once it closes', async () => {
    const frozen = await startRedis({ password: PASSWORD });
    const log = captureLogger();
    const guard = createRedisGuard({
      client: new Redis({ port: frozen.port, password: PASSWORD, commandTimeout: 200 }),
      environment: 'test',
      keyPrefix: 'outage:',
      commandTimeoutMs: 200,
      breaker: { failureThreshold: 2, openDurationMs: 300, successThreshold: 1 },
      logger: log.logger,
    });
    try {
      await guard.ready();
      const trail = createAuditTrail(guard);
      const transitions: string[] = [];
      guard.observe((event) => {
        if (event.type === 'breaker.transition') transitions.push(`${event.from}>${event.to}`);
      });
      frozen.pause();
      await waitFor('the breaker to open', async () => {
        await guard.ping().catch(() => undefined);
        return guard.breaker.state === 'open';
      });
      for (let i = 0; i < 150; i++) {
        guard.report({ type: 'unavailable.response', service: `during-${i}` }, { user: `u${i % 5}` });
      }
      frozen.resume();
      await waitFor('the breaker to close', async () => guard.breaker.state === 'closed');
      await trail.flush();
      const reader = new Redis({ port: frozen.port, password: PASSWORD });
      const raw = (await reader.xrange(trail.key, '-', '+')) as [string, string[]][];
      reader.disconnect();
      const entries = raw.map(toEntry);
      const written = entries.map((e) =>
        e.type === 'breaker.transition' ? `${e.data.from}>${e.data.to}` : String(e.data.service),
      );
      expect(written[0]).toBe('closed>open');
      expect(written.filter((w) => w.startsWith('during-'))).toEqual(
        Array.from({ length: 150 }, (_, i) => `during-${i}`),
      );
      expect(written.filter((w) => w.includes('>'))).toEqual(transitions);
      expect(written.at(-1)).toBe('half-open>closed');
      // Each entry keeps the time it was reported, not the time it was finally written.
      const outageEntry = entries.find((e) => e.data.service === 'during-0')!;
      expect(Number(outageEntry.data.at)).toBeLessThan(Number(entries.at(-1)!.id.split('-')[0]));
      await trail.close();
    } finally {
      frozen.resume();
      await guard.close();
      await frozen.stop();
    }
  }, 60_000);
});
