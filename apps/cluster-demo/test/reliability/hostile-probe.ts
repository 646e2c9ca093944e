import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { send } from './support.js';

/** How one hostile case reaches the demo. */
export type Probe =
  | {
      readonly kind: 'http';
      readonly method?: string;
      readonly path: string;
      readonly headers?: Readonly<Record<string, string | number>>;
      readonly body?: string | Buffer;
    }
  /** Bytes written as they are to a fresh TCP connection: what a compliant client cannot send. */
  | { readonly kind: 'raw'; readonly bytes: string | Buffer }
  | {
      readonly kind: 'ws';
      readonly path: string;
      readonly headers?: Readonly<Record<string, string>>;
      readonly protocols?: readonly string[];
    };

export interface HostileCase {
  readonly category: string;
  readonly name: string;
  readonly probe: Probe;
}

export interface Outcome {
  /** HTTP status; 101 for an opened WebSocket; 0 when no HTTP answer came. */
  readonly status: number;
  /** A 2xx, a 101, or an opened WebSocket: the demo let the hostile input through. */
  readonly accepted: boolean;
  /** Everything the demo sent back, grepped for secrets. */
  readonly transcript: string;
  readonly headers?: Readonly<Record<string, unknown>>;
  readonly body?: string;
  readonly error?: string;
}

const TIMEOUT_MS = 5_000;
const isAccepted = (status: number) => status === 101 || (status >= 200 && status < 300);

/** Host line and Connection: close for hand-written requests. */
export function rawRequest(requestLine: string, headers: readonly string[], host: string, body = ''): string {
  return [requestLine, `Host: ${host}`, ...headers, 'Connection: close', '', body].join('\r\n');
}

function runRaw(port: number, bytes: string | Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      // Every status line counts: a second, pipelined or smuggled response must not hide behind the first.
      const statuses = [...text.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)].map((m) => Number(m[1]));
      resolve({
        status: statuses[0] ?? 0,
        accepted: statuses.some(isAccepted),
        transcript: text,
        ...(statuses.length === 0 && { error: error ?? 'closed without an HTTP answer' }),
      });
    };
    const timer = setTimeout(() => finish('timed out'), TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (error) => finish(error.message));
    // No half-close: Node's server aborts a request whose client sent FIN before the app answered.
    // Every raw request says Connection: close (or is malformed), so the server ends the exchange.
    socket.write(bytes);
  });
}

function runWs(base: string, probe: Extract<Probe, { kind: 'ws' }>): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(
      `${base.replace('http', 'ws')}${probe.path}`,
      probe.protocols ? [...probe.protocols] : [],
      {
        headers: probe.headers ?? {},
        handshakeTimeout: TIMEOUT_MS,
      },
    );
    let settled = false;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    ws.on('open', () => {
      finish({ status: 101, accepted: true, transcript: '' });
      ws.terminate();
    });
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        finish({
          status: res.statusCode ?? 0,
          accepted: isAccepted(res.statusCode ?? 0),
          transcript: `${JSON.stringify(res.headers)}\n${body}`,
          headers: res.headers,
          body,
        });
        // With this listener present, ws leaves the refused handshake's socket to us.
        req.destroy();
      });
      res.on('error', () => undefined);
    });
    ws.on('error', (error) => finish({ status: 0, accepted: false, transcript: '', error: error.message }));
  });
}

/** Sends one hostile case; never rejects. */
export async function runProbe(base: string, probe: Probe): Promise<Outcome> {
  if (probe.kind === 'raw') return runRaw(Number(new URL(base).port), probe.bytes);
  if (probe.kind === 'ws') return runWs(base, probe);
  const answer = await send(base, { ...probe, timeoutMs: TIMEOUT_MS });
  return {
    status: answer.status,
    accepted: isAccepted(answer.status),
    transcript: `${JSON.stringify(answer.headers)}\n${answer.body}`,
    headers: answer.headers,
    body: answer.body,
    ...(answer.error !== undefined && { error: answer.error }),
  };
}
