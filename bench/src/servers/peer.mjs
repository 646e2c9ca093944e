// What users run today: express-session + connect-redis (node-redis) for the session, looked up on
// every request, and express-rate-limit + rate-limit-redis on the same node-redis client.
import { randomBytes } from 'node:crypto';
import { RedisStore as SessionStore } from 'connect-redis';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import session from 'express-session';
import { RedisStore as LimitStore } from 'rate-limit-redis';
import { createClient } from 'redis';
import { BENCH_USER, ROUTE, redisSettings, serve } from './serve.mjs';

const { url, password } = redisSettings();
const client = createClient({ url, password });
client.on('error', (error) => console.error('peer redis client:', error.message));
await client.connect();

const app = express();
app.use(
  rateLimit({
    windowMs: 3_600_000,
    limit: 1_000_000_000,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: new LimitStore({ sendCommand: (...args) => client.sendCommand(args), prefix: 'peer-rl:' }),
  }),
);
app.use(
  session({
    store: new SessionStore({ client, prefix: 'peer-sess:' }),
    secret: randomBytes(32).toString('hex'),
    saveUninitialized: false,
    resave: false,
    // Plain HTTP on loopback: a Secure cookie would never be sent back.
    cookie: { httpOnly: true, sameSite: 'lax', secure: false, maxAge: 8 * 3_600_000 },
  }),
);
app.post('/login', (req, res) => {
  req.session.userId = BENCH_USER;
  res.json({ ok: true });
});
app.get(ROUTE, (req, res) => {
  const userId = req.session.userId;
  if (!userId) return res.status(401).json({ error: 'unauthorized' });
  res.json({ userId, roles: ['user'] });
});

await serve(app, {
  async credentials(base) {
    const response = await fetch(`${base}/login`, { method: 'POST' });
    const cookie = response.headers.get('set-cookie')?.split(';')[0];
    if (!response.ok || !cookie) throw new Error(`peer login failed: ${response.status}`);
    return { cookie };
  },
  close: () => client.quit(),
});
