import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { captureLogger, type RedisServer, startRedis, waitFor } from '@sec/testing';
import { Redis } from 'ioredis';
import { createAuditTrail } from '../src/audit.js';
import { entryHash, fieldMap, toEntry } from '../src/audit-chain.js';
import { runCli } from '../src/cli-commands.js';
import { aclRule, createRedisGuard, type RedisGuard, redisAccess } from '../src/index.js';

const PASSWORD = 'audit-cli-Password-0123456789abcdefghijkl';
type Raw = [string, string[]];

describe('sec-redis audit', () => {
  let redis: RedisServer;
  let admin: Redis;
  let env: NodeJS.ProcessEnv;
  const guards: RedisGuard[] = [];

  async function cli(args: string[], signal?: AbortSignal, onOut?: (text: string) => void) {
    let out = '';
    let err = '';
    const code = await runCli(args, {
      out: (t) => {
        out += t;
        onOut?.(out);
      },
      err: (t) => (err += t),
      env,
      ...(signal && { signal }),
    });
    expect(out + err).not.toContain(PASSWORD);
    return { code, out, err };
  }

  /** A trail under its own prefix with `count` entries: users alice and bob, two event types. */
  async function trailWith(prefix: string, count: number, maxLen?: number) {
    const guard = createRedisGuard({
      client: new Redis({ port: redis.port, password: PASSWORD }),
      environment: 'test',
      keyPrefix: prefix,
      logger: captureLogger().logger,
    });
    guards.push(guard);
    await guard.ready();
    const trail = createAuditTrail(guard, maxLen === undefined ? {} : { maxLen });
    for (let i = 0; i < count; i++) {
      void trail.append(
        i % 3 === 0
          ? { type: 'unavailable.response', service: `s${i}` }
          : { type: 'breaker.transition', name: `b${i}`, from: 'closed', to: 'open' },
        { user: i % 2 === 0 ? 'alice' : 'bob' },
      );
    }
    await trail.flush();
    return { guard, trail, stream: `${prefix}{audit}:stream` };
  }

  const entries = async (stream: string) => (await admin.xrange(stream, '-', '+')) as Raw[];

  /** Replaces the stream with `rewritten` (same ids allowed: the stream is deleted first). */
  async function rebuild(stream: string, rewritten: Raw[]) {
    await admin.del(stream);
    for (const [id, fields] of rewritten) await admin.xadd(stream, id, ...fields);
  }

  const verify = (prefix: string) => cli(['audit', 'verify', '--key-prefix', prefix]);

  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD });
    admin = new Redis({ port: redis.port, password: PASSWORD });
    env = { NODE_ENV: 'test', REDIS_URL: redis.url, REDIS_PASSWORD: PASSWORD };
  });
  afterAll(async () => {
    for (const guard of guards) await guard.close();
    admin?.disconnect();
    await redis?.stop();
  });

  it('verify passes an intact chain of 300 entries', async () => {
    await trailWith('intact:', 300);
    const { code, out } = await verify('intact:');
    expect(out).toContain('300 checked');
    expect(out).toContain('head      n=300');
    expect(out).toContain('result: OK');
    expect(code).toBe(0);
  });

  it('tail prints the newest entries, filtered by user and type', async () => {
    const { stream } = await trailWith('tail:', 30);
    const all = (await entries(stream)).map(toEntry);
    const last5 = await cli(['audit', 'tail', '--count', '5', '--key-prefix', 'tail:']);
    expect(last5.code).toBe(0);
    expect(
      last5.out
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]),
    ).toEqual(all.slice(-5).map((e) => e.id));
    const bobBreaker = await cli([
      'audit',
      'tail',
      '--user',
      'bob',
      '--type',
      'breaker.transition',
      '--count',
      '100',
      '--key-prefix',
      'tail:',
    ]);
    const expected = all.filter((e) => e.user === 'bob' && e.type === 'breaker.transition');
    expect(expected.length).toBeGreaterThan(5);
    expect(
      bobBreaker.out
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]),
    ).toEqual(expected.map((e) => e.id));
    expect(bobBreaker.out).toContain('user=bob');
    expect(bobBreaker.out).not.toContain('user=alice');
  });

  it('tail --follow prints new matching entries until interrupted, then exits 0', async () => {
    const { trail } = await trailWith('follow:', 3);
    const stop = new AbortController();
    let seen = '';
    const following = cli(
      ['audit', 'tail', '--follow', '--user', 'carol', '--key-prefix', 'follow:'],
      stop.signal,
      (o) => {
        seen = o;
      },
    );
    await trail.append({ type: 'unavailable.response', service: 'one' }, { user: 'carol' });
    await trail.append({ type: 'unavailable.response', service: 'skip' }, { user: 'dave' });
    await trail.append({ type: 'unavailable.response', service: 'two' }, { user: 'carol' });
    await waitFor('both of carol’s entries', async () => seen.includes('"two"'));
    stop.abort();
    const { code, out } = await following;
    expect(code).toBe(0);
    expect(out).toContain('"one"');
    expect(out).not.toContain('"skip"');
  });

  it('verify names a deleted entry in the middle', async () => {
    const { stream } = await trailWith('deleted:', 50);
    const raw = await entries(stream);
    await admin.xdel(stream, raw[20]![0]);
    const { code, out } = await verify('deleted:');
    expect(code).toBe(1);
    expect(out).toContain(`broken    deleted at ${raw[21]![0]}`);
    expect(out).toContain(`1 entry (n=21) deleted between ${raw[19]![0]} and ${raw[21]![0]}`);
  });

  it('verify names the newest entries deleted', async () => {
    const { stream } = await trailWith('newest:', 20);
    const raw = await entries(stream);
    await admin.xdel(stream, raw[18]![0], raw[19]![0]);
    const { code, out } = await verify('newest:');
    expect(code).toBe(1);
    expect(out).toContain(
      `2 newest entries deleted: the trail last wrote ${raw[19]![0]} (n=20), the stream ends at ${raw[17]![0]}`,
    );
  });

  it('verify names an altered entry', async () => {
    const { stream } = await trailWith('altered:', 40);
    const raw = await entries(stream);
    const target = raw[12]!;
    const fields = fieldMap(target[1]);
    const changed = target[1].map((v, i) =>
      i > 0 && target[1][i - 1] === 'user' ? (fields.user === 'bob' ? 'alice' : 'bob') : v,
    );
    await rebuild(
      stream,
      raw.map((r, i) => (i === 12 ? [r[0], changed] : r)),
    );
    const { code, out } = await verify('altered:');
    expect(code).toBe(1);
    expect(out).toContain(`broken    altered at ${target[0]}`);
    expect(out).toContain(`entry ${target[0]} (n=13`);
  });

  it('verify names an entry inserted with a well-formed hash, and one appended by hand', async () => {
    const { stream, trail } = await trailWith('inserted:', 10);
    // Leave a gap in time after n=10, so an id fits between it and n=11.
    const [seconds, micros] = await admin.time();
    const after = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + 2;
    await waitFor('the server clock to move on', async () => {
      const [s2, m2] = await admin.time();
      return Number(s2) * 1000 + Math.floor(Number(m2) / 1000) > after;
    });
    for (let i = 0; i < 30; i++) await trail.append({ type: 'unavailable.response', service: `late${i}` });
    const raw = await entries(stream);
    const before = raw[9]!;
    const [ms, seq] = before[0].split('-');
    const forgedId = `${ms}-${Number(seq) + 1}`;
    expect(Number(ms)).toBeLessThan(Number(raw[10]![0].split('-')[0]));
    const body = [
      'n',
      '11',
      'type',
      'session.roles_changed',
      'user',
      'mallory',
      'data',
      '{"roles":["admin"]}',
      'origin',
      'x:1',
    ];
    const prev = fieldMap(before[1]).hash!;
    const forged: Raw = [
      forgedId,
      [...body, 'prev', prev, 'hash', entryHash(forgedId, [...body, 'prev', prev])],
    ];
    await rebuild(stream, [...raw.slice(0, 10), forged, ...raw.slice(10)]);
    const middle = await verify('inserted:');
    expect(middle.code).toBe(1);
    expect(middle.out).toContain(`broken    inserted at ${forgedId}`);
    expect(middle.out).toContain(`entry ${forgedId} (n=11) was inserted`);

    const { stream: other } = await trailWith('appended:', 10);
    const id = await admin.xadd(
      other,
      '*',
      'n',
      '11',
      'type',
      'session.login',
      'user',
      'mallory',
      'data',
      '{}',
    );
    const end = await verify('appended:');
    expect(end.code).toBe(1);
    expect(end.out).toContain(`broken    inserted at ${id}`);
  });

  it('reports entries trimmed by the cap as truncation, not tampering', async () => {
    const { stream } = await trailWith('trimmed:', 1000, 100);
    const first = toEntry((await entries(stream))[0]!);
    expect(first.n).toBeGreaterThan(1);
    const { code, out } = await verify('trimmed:');
    expect(out).toContain(`trimmed   ${first.n - 1} entries trimmed before ${first.id}`);
    expect(out).toContain('result: OK');
    expect(code).toBe(0);
  });

  it('--anchor catches a rewrite of the whole chain, which verifies without it', async () => {
    const { stream } = await trailWith('anchored:', 30);
    const intact = await verify('anchored:');
    const [, headId, headHash] = /head +n=30 (\S+) (\S+)/.exec(intact.out)!;
    // A forger with write access edits entry 5 and recomputes every hash after it, and the head.
    const raw = await entries(stream);
    let prev = fieldMap(raw[3]![1]).hash!;
    const rewritten: Raw[] = raw.slice(0, 4);
    for (const [id, fields] of raw.slice(4)) {
      const map = fieldMap(fields);
      const body = [
        'n',
        map.n!,
        'type',
        map.type!,
        'user',
        rewritten.length === 4 ? 'mallory' : map.user!,
        'data',
        map.data!,
        'origin',
        map.origin!,
      ];
      const hash = entryHash(id, [...body, 'prev', prev]);
      rewritten.push([id, [...body, 'prev', prev, 'hash', hash]]);
      prev = hash;
    }
    await rebuild(stream, rewritten);
    await admin.set('anchored:{audit}:head', `30 ${headId} ${prev}`);
    expect((await verify('anchored:')).code).toBe(0);
    const anchored = await cli([
      'audit',
      'verify',
      '--key-prefix',
      'anchored:',
      '--anchor',
      `${headId}=${headHash}`,
    ]);
    expect(anchored.code).toBe(1);
    expect(anchored.out).toContain(`broken    altered at ${headId}`);
    expect(anchored.out).toContain('no longer has the hash recorded for it');
    expect((await cli(['audit', 'verify', '--anchor', 'yesterday'])).err).toMatch(
      /--anchor takes <id>=<hash>/,
    );
  });

  it('refuses a wrong sub-command and tail flags on verify', async () => {
    expect((await cli(['audit', 'purge'])).err).toMatch(/takes "tail" or "verify", got "purge"/);
    const misplaced = await cli(['audit', 'verify', '--follow']);
    expect(misplaced.code).toBe(1);
    expect(misplaced.err).toContain('ERR_SEC_CLI_USAGE');
    expect((await cli(['audit', 'tail', '--count', '0'])).err).toMatch(/--count must be a positive integer/);
  });

  it('redisAccess({ auditTrail }) grants exactly what the trail, its reader and verify need', async () => {
    const rule = aclRule([redisAccess({ auditTrail: true, keyPrefix: 'acl:' })]);
    expect(rule).toContain('~acl:{audit}:*');
    const confined = await startRedis({
      password: PASSWORD,
      users: [{ name: 'trail', password: PASSWORD, rules: rule }],
    });
    const guard = createRedisGuard({
      client: new Redis({ port: confined.port, username: 'trail', password: PASSWORD }),
      environment: 'test',
      keyPrefix: 'acl:',
      logger: captureLogger().logger,
    });
    const saved = env;
    try {
      await guard.ready();
      const trail = createAuditTrail(guard);
      for (let i = 0; i < 20; i++) {
        await trail.append(
          { type: 'breaker.transition', name: `a${i}`, from: 'closed', to: 'open' },
          {
            once: { key: `k${i % 10}`, windowMs: 60_000 },
          },
        );
      }
      env = { NODE_ENV: 'test', REDIS_URL: confined.url, REDIS_USERNAME: 'trail', REDIS_PASSWORD: PASSWORD };
      expect((await cli(['audit', 'verify', '--key-prefix', 'acl:'])).out).toContain('10 checked');
      expect((await cli(['audit', 'tail', '--key-prefix', 'acl:'])).out.trim().split('\n')).toHaveLength(10);
      const stop = new AbortController();
      let seen = '';
      const following = cli(['audit', 'tail', '--follow', '--key-prefix', 'acl:'], stop.signal, (o) => {
        seen = o;
      });
      await trail.append({ type: 'unavailable.response', service: 'followed' });
      await waitFor('the followed entry', async () => seen.includes('followed'));
      stop.abort();
      expect((await following).code).toBe(0);
      // Nothing was denied on the way.
      const admin2 = new Redis({ port: confined.port, password: PASSWORD });
      expect(await admin2.call('ACL', 'LOG')).toEqual([]);
      // And nothing beyond the trail's keys is granted.
      await expect(guard.execute((c) => c.xadd('acl:other', '*', 'a', '1'))).rejects.toThrow(/ACL|NOPERM/);
      admin2.disconnect();
      await trail.close();
    } finally {
      env = saved;
      await guard.close();
      await confined.stop();
    }
  });
});
