import { request } from 'node:http';

export interface ServerEvent {
  readonly event: string;
  readonly data: unknown;
  /** performance.now() when it arrived. */
  readonly at: number;
}

export interface NextOptions {
  /** Only events from this index of `events` on (take `events.length` before acting). */
  readonly after?: number;
  readonly timeoutMs?: number;
}

/** An open `text/event-stream` response, read as it arrives. */
export interface EventStream {
  readonly status: number;
  /** `X-Worker-Id` of the answer: the worker that holds the stream. */
  readonly worker: string;
  readonly events: readonly ServerEvent[];
  /** Resolves when the server ends the stream (or the connection drops). */
  readonly ended: Promise<void>;
  /**
   * The first event of that type (received already, from `after` on, or still to come) whose data
   * `match` accepts; rejects after `timeoutMs` (default 10 s).
   */
  next<T = unknown>(
    event: string,
    match?: (data: T) => boolean,
    options?: NextOptions,
  ): Promise<ServerEvent & { data: T }>;
  close(): void;
}

/** Splits `event: x\ndata: {...}\n\n` blocks; comment lines (`: keep-alive`) and `retry:` are skipped. */
function parse(block: string): Omit<ServerEvent, 'at'> | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data.push(line.slice(6));
  }
  if (data.length === 0) return undefined;
  return { event, data: JSON.parse(data.join('\n')) as unknown };
}

/**
 * Opens the dashboard's event stream on a fresh connection (so node:cluster hands it to the next
 * worker) with the given headers (the session cookie).
 * @example const stream = await openEvents(base, { cookie }); await stream.next('workers');
 */
export function openEvents(base: string, headers: Record<string, string>): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/dashboard/api/events', base), { agent: false, headers }, (res) => {
      const events: ServerEvent[] = [];
      const waiters = new Set<() => void>();
      let buffer = '';
      let endedResolve: () => void = () => undefined;
      const ended = new Promise<void>((done) => {
        endedResolve = done;
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut = buffer.indexOf('\n\n');
        while (cut !== -1) {
          const event = parse(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (event) events.push({ ...event, at: performance.now() });
          cut = buffer.indexOf('\n\n');
        }
        for (const waiter of [...waiters]) waiter();
      });
      res.on('end', endedResolve);
      res.on('close', endedResolve);
      res.on('error', endedResolve);
      resolve({
        status: res.statusCode ?? 0,
        worker: String(res.headers['x-worker-id'] ?? '?'),
        events,
        ended,
        next<T>(event: string, match: (data: T) => boolean = () => true, options: NextOptions = {}) {
          const { after = 0, timeoutMs = 10_000 } = options;
          return new Promise<ServerEvent & { data: T }>((found, fail) => {
            const check = () => {
              const hit = events.slice(after).find((e) => e.event === event && match(e.data as T));
              if (!hit) return;
              clearTimeout(timer);
              waiters.delete(check);
              found(hit as ServerEvent & { data: T });
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`no "${event}" event as expected within ${timeoutMs} ms`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
