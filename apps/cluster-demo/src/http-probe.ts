import { request } from 'node:http';

export interface ProbeResponse {
  readonly status: number;
  readonly worker: string;
  readonly body: unknown;
}

/**
 * One request on a fresh connection (no keep-alive), so node:cluster's round-robin hands
 * consecutive requests to different workers.
 * @example const { status, worker } = await call(base, 'GET', '/api/me', token);
 */
export function call(
  base: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<ProbeResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, base),
      {
        method,
        agent: false,
        timeout: 5_000,
        headers: {
          connection: 'close',
          ...(token && { authorization: `Bearer ${token}` }),
          ...(payload && {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
          }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // Not JSON: keep the text.
          }
          resolve({
            status: res.statusCode ?? 0,
            worker: String(res.headers['x-worker-id'] ?? '?'),
            body: parsed,
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Sends the same request until every one of `workers` has answered once; returns each worker's status.
 * @example const statuses = await onEveryWorker(base, 4, 'GET', '/api/me', token);
 */
export async function onEveryWorker(
  base: string,
  workers: number,
  method: string,
  path: string,
  token?: string,
): Promise<Map<string, number>> {
  const statuses = new Map<string, number>();
  for (let attempt = 0; attempt < workers * 12 && statuses.size < workers; attempt++) {
    const response = await call(base, method, path, token);
    if (!statuses.has(response.worker)) statuses.set(response.worker, response.status);
  }
  return statuses;
}
