import { connect, type Socket } from 'node:net';

/**
 * When the client resets its connection (TCP RST, `socket.resetAndDestroy()`):
 * - `before-answer`: as soon as the request is written, before the server can have answered;
 * - `during-check`: `delayMs` after writing, while the rate limiter or the token check may run;
 * - `after-answer`: on the first byte of the answer;
 * - `never`: the client reads the whole answer and waits for the server to close.
 */
export type ResetMoment =
  | { readonly at: 'before-answer' }
  | { readonly at: 'during-check'; readonly delayMs: number }
  | { readonly at: 'after-answer' }
  | { readonly at: 'never' };

export interface UpgradeAttempt {
  /** Request target, written as is (`//x:99999/ws`, `/ws?access_token=…`). */
  readonly target: string;
  readonly headers?: readonly string[];
  readonly reset: ResetMoment;
  /** Bytes sent after the handshake answer, e.g. a malformed WebSocket frame. */
  readonly afterHandshake?: Buffer;
}

export interface UpgradeResult {
  /** First status line's code; 0 when the client reset before any answer. */
  readonly status: number;
  /** The server ended, reset or closed the connection before the client did. */
  readonly closedByServer: boolean;
  readonly timedOut: boolean;
}

const TIMEOUT_MS = 5_000;
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** The WebSocket handshake a browser would send, with the given target and extra headers. */
export function upgradeRequest(port: number, target: string, headers: readonly string[] = []): string {
  return [
    `GET ${target} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    `Sec-WebSocket-Key: ${KEY}`,
    ...headers,
    '',
    '',
  ].join('\r\n');
}

/**
 * One upgrade attempt on a raw socket that never rejects: what a compliant client cannot do
 * (unparsable targets, resets at chosen moments) is the point.
 * @example const { status } = await rawUpgrade(port, { target: '//[/ws', reset: { at: 'after-answer' } });
 */
export function rawUpgrade(port: number, attempt: UpgradeAttempt): Promise<UpgradeResult> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let text = '';
    let settled = false;
    let closedByServer = false;
    const finish = (timedOut = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!socket.destroyed) socket.resetAndDestroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, closedByServer, timedOut });
    };
    const timer = setTimeout(() => finish(true), TIMEOUT_MS);
    // Before we settle, the only one who can end, reset or close the connection is the server.
    const closed = () => {
      closedByServer = true;
      finish();
    };
    socket.on('error', closed);
    socket.on('end', closed);
    socket.on('close', closed);
    socket.on('data', (chunk: Buffer) => {
      const first = text === '';
      text += chunk.toString('latin1');
      if (first && attempt.reset.at === 'after-answer') return finish();
      if (first && attempt.afterHandshake && text.startsWith('HTTP/1.1 101'))
        socket.write(attempt.afterHandshake);
    });
    socket.write(upgradeRequest(port, attempt.target, attempt.headers), () => {
      const { reset } = attempt;
      if (reset.at === 'before-answer') finish();
      else if (reset.at === 'during-check') setTimeout(() => finish(), reset.delayMs);
    });
  });
}

/**
 * A masked client frame with a reserved opcode (0x3): valid framing, invalid protocol. The server's
 * WebSocket must close the connection, not crash its process.
 */
export function invalidFrame(): Buffer {
  return Buffer.from([0x83, 0x80, 0x01, 0x02, 0x03, 0x04]);
}

/** The reset moments a series of attempts cycles through, so each case meets every one. */
export const RESET_MOMENTS: readonly ResetMoment[] = [
  { at: 'before-answer' },
  { at: 'during-check', delayMs: 0 },
  { at: 'during-check', delayMs: 1 },
  { at: 'during-check', delayMs: 3 },
  { at: 'after-answer' },
  { at: 'never' },
];
