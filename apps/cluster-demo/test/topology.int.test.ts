import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  PRODUCTION_ON_LOOPBACK,
  type RedisClusterHandle,
  type RedisSentinelHandle,
  startCluster,
  startSentinel,
} from '@sec/testing';
import { runScript, startDemo } from './demo-process.js';

const PASSWORD = randomBytes(36).toString('base64url');
const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME, WORKERS: '4', SEC_LOG_LEVEL: 'warn' };

describe('cluster-demo on Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  beforeAll(async () => {
    cluster = await startCluster({ password: PASSWORD });
  });
  afterAll(() => cluster?.stop());

  it('demo:check passes unchanged with REDIS_CLUSTER_NODES', async () => {
    const env = {
      ...baseEnv,
      NODE_ENV: 'development',
      ...cluster.env,
    };
    const { code, output } = await runScript('check.js', [], env);
    expect(output).toContain(
      'PASS: revocation, revoke-all, open WebSockets and role changes took effect on every worker at once',
    );
    expect(code).toBe(0);
  });
});

describe('cluster-demo on Redis Sentinel, through a failover', () => {
  let sentinel: RedisSentinelHandle;
  beforeAll(async () => {
    sentinel = await startSentinel({ password: PASSWORD });
  });
  afterAll(() => sentinel?.stop());

  it('answers 503 during the gap, never 200 for a revoked session, and recovers without a restart', async () => {
    const demo = await startDemo({
      ...baseEnv,
      ...PRODUCTION_ON_LOOPBACK,
      ...sentinel.env,
      DEMO_USERS: 'alice:alice-password:user,admin:admin-password:admin',
      SESSION_SECRET: randomBytes(48).toString('base64url'),
      REDIS_ENCRYPTION_KEY: `${randomBytes(32).toString('base64url')}=`,
      RATE_LIMIT_POINTS: '100000',
    });
    try {
      const login = async (username: string) => {
        const response = await fetch(`${demo.base}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password: `${username}-password` }),
        });
        expect(response.status).toBe(201);
        return (await response.json()) as { accessToken: string; sessionId: string };
      };
      const me = (token: string) =>
        fetch(`${demo.base}/api/me`, {
          headers: { authorization: `Bearer ${token}`, connection: 'close' },
        }).then((r) => r.status);
      const admin = await login('admin');
      const revoked = await login('alice');
      const live = await login('alice');
      const del = await fetch(`${demo.base}/auth/users/alice/sessions/${revoked.sessionId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${admin.accessToken}` },
      });
      expect(del.status).toBe(204);
      expect(await me(live.accessToken)).toBe(200);

      await sentinel.killMaster();
      const failover = sentinel.waitForFailover();
      const during: number[] = [];
      const revokedDuring: number[] = [];
      let done = false;
      void failover.finally(() => {
        done = true;
      });
      while (!done) {
        during.push(await me(live.accessToken));
        revokedDuring.push(await me(revoked.accessToken));
        await new Promise((r) => setTimeout(r, 50));
      }
      await failover;
      expect(during).toContain(503);
      expect(during.every((s) => s === 503 || s === 200)).toBe(true);
      expect(revokedDuring.every((s) => s === 401 || s === 503)).toBe(true);

      let recovered = 0;
      for (let i = 0; i < 100 && recovered !== 200; i++) {
        recovered = await me(live.accessToken);
        if (recovered !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(recovered).toBe(200);
      expect(await me(revoked.accessToken)).toBe(401);
    } finally {
      expect(await demo.stop()).toBe(0);
    }
  });
});
