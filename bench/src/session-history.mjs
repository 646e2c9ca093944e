// Login and listForUser cost as one user's login history grows: with maxSessionsPerUser the
// user's hash never holds more than the cap, so both should stay flat between 10 and 10,000
// prior logins. Reports the client round trip and redis-server's own time per script call
// (INFO commandstats), which a busy machine disturbs less.
//   node src/session-history.mjs   (after `pnpm build`)
import { createSessionManager } from '@sec/session';
import { startGuardedRedis } from './guarded-redis.mjs';
import { serverUsPerScript, time } from './sampling.mjs';
import { silentLogger } from './servers/serve.mjs';

const HISTORIES = [10, 10_000];
const CAPS = [50, 1_000];
const SAMPLES = 300;

const { server, guard, raw } = await startGuardedRedis();
try {
  await guard.ready();
  const rows = [];
  for (const cap of CAPS) {
    const sessions = createSessionManager({
      redis: guard,
      signingKeys: [{ kid: 'bench', secret: 'session-history-benchmark-secret-32+bytes' }],
      issuer: 'https://bench.local',
      audience: 'bench',
      channel: false,
      logger: silentLogger,
      maxSessionsPerUser: cap,
    });
    for (const history of HISTORIES) {
      const user = `history-${cap}-${history}`;
      for (let i = 0; i < history; i++) await sessions.create(user);
      await raw.config('RESETSTAT');
      const login = await time(SAMPLES, () => sessions.create(user));
      const loginServer = await serverUsPerScript(raw);
      await raw.config('RESETSTAT');
      const list = await time(SAMPLES, () => sessions.listForUser(user));
      const listServer = await serverUsPerScript(raw);
      rows.push({
        cap,
        history,
        stored: await raw.hlen(`sec:sess:{u:${user}}`),
        login,
        loginServer,
        list,
        listServer,
      });
    }
    await sessions.close();
  }
  console.log(`redis-server ${server.version}, ${SAMPLES} sequential calls per cell\n`);
  console.log(
    '| cap | prior logins | sessions stored | login median / p99 (ms) | login, Redis µs/call | listForUser median / p99 (ms) | list, Redis µs/call |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.cap} | ${r.history.toLocaleString('en')} | ${r.stored} | ${r.login.median.toFixed(2)} / ${r.login.p99.toFixed(2)} | ${r.loginServer.toFixed(1)} | ${r.list.median.toFixed(2)} / ${r.list.p99.toFixed(2)} | ${r.listServer.toFixed(1)} |`,
    );
  }
} finally {
  raw.disconnect();
  await guard.close();
  await server.stop();
}
