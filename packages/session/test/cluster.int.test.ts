import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisClusterHandle, redisCli, startCluster } from '@sec/testing';
import request from 'supertest';
import type { SessionManager } from '../src/index.js';
import { appFor, bearer, manager } from './helpers.js';

describe('on a 3-master Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let guard: RedisGuard;
  let sessions: SessionManager;
  const log = captureLogger();

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3 });
    guard = createRedisGuard({
      config: { clusterNodes: cluster.startupNodes },
      environment: 'test',
      logger: log.logger,
    });
    await guard.ready(10_000);
    sessions = manager({ redis: guard, logger: log.logger });
  }, 60_000);
  afterAll(async () => {
    await sessions?.close();
    await guard?.close();
    await cluster?.stop();
  });

  const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8'];

  it("puts a user's two keys in one slot, and users across the masters", async () => {
    const slotOf = async (key: string) =>
      Number(await redisCli({ port: cluster.nodes[0]!.port }, 'CLUSTER', 'KEYSLOT', key));
    const slots = [];
    for (const user of users) {
      const [a, b] = [await slotOf(`sec:sess:{u:${user}}`), await slotOf(`sec:user:{u:${user}}`)];
      expect(a).toBe(b);
      slots.push(a);
    }
    // 16384 slots split in three ranges: eight users landing on one master would be a broken tag.
    expect(new Set(slots.map((s) => Math.floor(s / 5462))).size).toBeGreaterThan(1);
  });

  it("authenticates, updates roles and revokes all of a user's sessions on the cluster", async () => {
    const app = appFor(sessions);
    const tokens = new Map<string, string[]>();
    for (const user of users) {
      const list: string[] = [];
      for (let i = 0; i < 25; i++) list.push((await sessions.create(user, { roles: ['admin'] })).accessToken);
      tokens.set(user, list);
    }
    expect(
      (
        await request(app)
          .get('/me')
          .set(bearer(tokens.get('u1')![0]!))
      ).status,
    ).toBe(200);
    await sessions.updateUser('u2', { roles: ['user'] });
    expect(
      (
        await request(app)
          .get('/admin')
          .set(bearer(tokens.get('u2')![3]!))
      ).status,
    ).toBe(403);

    expect(await sessions.revokeAllForUser('u1')).toBe(25);
    for (const token of tokens.get('u1')!)
      expect((await request(app).get('/me').set(bearer(token))).status).toBe(401);
    for (const user of users.slice(1)) {
      expect(
        (
          await request(app)
            .get('/me')
            .set(bearer(tokens.get(user)![24]!))
        ).status,
      ).toBe(200);
      expect(await sessions.listForUser(user)).toHaveLength(25);
    }
    const { sessionId } = (await sessions.listForUser('u3'))[0]!;
    expect(await sessions.revoke(sessionId)).toBe(true);
    expect(await sessions.listForUser('u3')).toHaveLength(24);
  });
});
