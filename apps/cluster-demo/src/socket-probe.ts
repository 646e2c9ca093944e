import { WebSocket } from 'ws';

/** An open echo socket and the worker that holds it. */
export interface OpenSocket {
  readonly worker: string;
  /** Resolves with the close code (1006 for a connection lost without one) and when it arrived. */
  readonly closed: Promise<{ readonly code: number; readonly at: number }>;
  close(): void;
}

/**
 * Opens `GET /ws` with a bearer token on a fresh connection, so node:cluster hands it to the next
 * worker; resolves once the handshake is done, with the worker from the handshake's `X-Worker-Id`.
 * @example const socket = await openSocket(base, token); await socket.closed;
 */
export function openSocket(base: string, token: string, timeoutMs = 5_000): Promise<OpenSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws`, {
      headers: { authorization: `Bearer ${token}` },
      handshakeTimeout: timeoutMs,
    });
    let worker = '?';
    const closed = new Promise<{ code: number; at: number }>((done) =>
      ws.once('close', (code) => done({ code, at: performance.now() })),
    );
    ws.once('upgrade', (res) => {
      worker = String(res.headers['x-worker-id'] ?? '?');
    });
    ws.once('open', () => resolve({ worker, closed, close: () => ws.terminate() }));
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      reject(new Error(`GET /ws answered ${res.statusCode}`));
    });
    ws.on('error', (error) => reject(error));
  });
}

/**
 * One open socket per worker for the same token, or as many workers as `attempts` connections
 * reach; extra sockets on an already covered worker are closed at once, and refused ones skipped
 * (with in-memory sessions only the worker that issued the token accepts it).
 * @example const sockets = await socketOnEveryWorker(base, token, 4);
 */
export async function socketOnEveryWorker(
  base: string,
  token: string,
  workers: number,
  attempts = workers * 12,
): Promise<Map<string, OpenSocket>> {
  const sockets = new Map<string, OpenSocket>();
  for (let i = 0; i < attempts && sockets.size < workers; i++) {
    const socket = await openSocket(base, token).catch(() => undefined);
    if (!socket) continue;
    if (sockets.has(socket.worker)) socket.close();
    else sockets.set(socket.worker, socket);
  }
  return sockets;
}
