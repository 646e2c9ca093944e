import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type RequestHandler } from 'express';
import type { LoginLimiter } from '../src/index.js';

export interface Listening {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

/** An Express app that answers 200 "ok" behind the given middleware. */
export function appWith(...middleware: RequestHandler[]): Express {
  const app = express();
  app.use(...middleware);
  app.get('/', (_req, res) => {
    res.send('ok');
  });
  return app;
}

export async function listen(app: Express): Promise<Listening> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { median, waitFor as waitUntil } from '@sec/testing';

export type Verifier = (username: unknown, password: unknown) => Promise<boolean>;

/** By default the right password is "right", for every username. */
const rightPassword: Verifier = async (_username, password) => password === 'right';

/** The login route from loginLimiter's documentation: reserve, verify, then succeeded() or failed(). */
export function loginApp(login: LoginLimiter, verify: Verifier = rightPassword): Express {
  const app = express();
  app.use(express.json());
  app.post('/login', async (req, res, next) => {
    try {
      const { username, password } = (req.body ?? {}) as { username?: unknown; password?: unknown };
      const attempt = await login.reserve(req, username);
      if (login.respond(res, attempt)) return;
      if (!(await verify(username, password))) {
        await attempt.failed();
        res.status(401).json({ error: 'invalid_credentials' });
        return;
      }
      await attempt.succeeded();
      res.json({ ok: true });
    } catch (error) {
      next(error);
    }
  });
  return app;
}
