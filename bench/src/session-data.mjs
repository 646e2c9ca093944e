// Per-session data: what a write costs as the session's data fills up (the size check reads every
// field's length), and what parallel writers of different fields keep, against express-session's
// way of saving (connect-redis: read the whole session at the start of a request, write it back
// whole at the end).
//   node src/session-data.mjs   (after `pnpm build`)
import { createSessionManager } from '@sec/session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { startGuardedRedis } from './guarded-redis.mjs';
import { serverUsPerScript, time } from './sampling.mjs';
import { silentLogger } from './servers/serve.mjs';

const SAMPLES = 300;
const WRITERS = 100;

/** Resolves every caller once `count` have arrived: all readers read before any writer writes. */
function barrier(count) {
  let arrived = 0;
  let open;
  const opened = new Promise((resolve) => {
    open = resolve;
  });
  return () => {
    arrived += 1;
    if (arrived === count) open();
    return opened;
  };
}

const { server, guard, raw } = await startGuardedRedis();
const nodeRedis = createClient({ url: server.url, password: server.password });
const sessions = createSessionManager({
  redis: guard,
  signingKeys: [{ kid: 'bench', secret: 'session-data-benchmark-secret-of-32+bytes' }],
  issuer: 'https://bench.local',
  audience: 'bench',
  channel: false,
  logger: silentLogger,
  sessionData: { maxFields: 200, maxTotalBytes: 1024 * 1024 },
});
try {
  await guard.ready();
  await nodeRedis.connect();
  const value = { sku: 'tea-0001', qty: 2, note: 'x'.repeat(64) };

  const rows = [];
  for (const filled of [0, 31, 199]) {
    const { sessionId } = await sessions.create(`fill-${filled}`);
    const data = sessions.data(sessionId);
    for (let i = 0; i < filled; i++) await data.set(`f${i}`, value);
    await raw.config('RESETSTAT');
    const set = await time(SAMPLES, () => data.set('cart', value));
    const setServer = await serverUsPerScript(raw);
    await raw.config('RESETSTAT');
    const get = await time(SAMPLES, () => data.get('cart'));
    const getServer = await serverUsPerScript(raw);
    rows.push({ filled, set, setServer, get, getServer });
  }

  // express-session with connect-redis: each request loads the session, changes one field, saves
  // the whole object. WRITERS parallel requests of one session, all loaded before any saves.
  const store = new RedisStore({ client: nodeRedis, prefix: 'bench:sess:' });
  const cookie = { originalMaxAge: 600_000, expires: new Date(Date.now() + 600_000) };
  await store.set('sid', { cookie });
  const wait = barrier(WRITERS);
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, i) => {
      const session = await store.get('sid');
      await wait();
      session[`f${i}`] = value;
      await store.set('sid', session);
    }),
  );
  const saved = await store.get('sid');
  const wholeKept = Object.keys(saved).filter((k) => k.startsWith('f')).length;

  const { sessionId } = await sessions.create('parallel');
  const data = sessions.data(sessionId);
  const gate = barrier(WRITERS);
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, i) => {
      await data.get(`f${i}`);
      await gate();
      await data.set(`f${i}`, value);
    }),
  );
  const fieldsKept = Object.keys(await data.getAll()).length;

  console.log(
    `redis-server ${server.version}, ${SAMPLES} sequential calls per cell, ${JSON.stringify(value).length}-byte values\n`,
  );
  console.log(
    '| fields already set | set median / p99 (ms) | set, Redis µs/call | get median / p99 (ms) | get, Redis µs/call |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.filled} | ${r.set.median.toFixed(2)} / ${r.set.p99.toFixed(2)} | ${r.setServer.toFixed(1)} | ${r.get.median.toFixed(2)} / ${r.get.p99.toFixed(2)} | ${r.getServer.toFixed(1)} |`,
    );
  }
  console.log(
    `\n${WRITERS} parallel writers of different fields of one session, all reading before any writes:`,
  );
  console.log(`  express-session + connect-redis (whole-session save): ${wholeKept} of ${WRITERS} kept`);
  console.log(`  @sec/session data (one field per write):              ${fieldsKept} of ${WRITERS} kept`);
} finally {
  raw.disconnect();
  await nodeRedis.quit().catch(() => undefined);
  await sessions.close();
  await guard.close();
  await server.stop();
}
