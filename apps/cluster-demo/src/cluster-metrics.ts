import cluster from 'node:cluster';
import type { RequestHandler } from 'express';
import { AggregatorRegistry, type PrometheusContentType } from 'prom-client';

/**
 * `/metrics` for the whole cluster. Each worker counts in its own registry; whichever worker gets
 * the scrape asks the primary, which collects every worker's registry and merges them with
 * prom-client's AggregatorRegistry (counters summed, gauges as each metric declares). A scrape
 * therefore sees all workers, not the one the connection happened to land on.
 */
const REQUEST = 'demo.metrics.request';
const REPLY = 'demo.metrics.reply';
/** prom-client gives up on a worker after 5 s; answer the scrape just after that. */
const SCRAPE_TIMEOUT_MS = 6_000;

interface MetricsRequest {
  readonly type: typeof REQUEST;
  readonly id: number;
}
interface MetricsReply {
  readonly type: typeof REPLY;
  readonly id: number;
  readonly body?: string;
  readonly error?: string;
}

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

/** In the primary: answers workers' scrapes with the aggregated metrics of every worker. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage<MetricsRequest>(message, REQUEST)) return;
    const reply = (answer: Omit<MetricsReply, 'type' | 'id'>) => {
      if (worker.isConnected())
        worker.send({ type: REPLY, id: message.id, ...answer } satisfies MetricsReply);
    };
    aggregator.clusterMetrics().then(
      (body) => reply({ body }),
      (error: Error) => reply({ error: error.message }),
    );
  });
}

/**
 * In a worker: the registry to count in (it answers the primary's collection requests) and the
 * `/metrics` handler that asks the primary for the aggregate.
 */
export function workerMetrics(): {
  register: AggregatorRegistry<PrometheusContentType>;
  handler: RequestHandler;
} {
  // Constructing it in a worker installs prom-client's listener for the primary's requests.
  const register = new AggregatorRegistry<PrometheusContentType>();
  AggregatorRegistry.setRegistries([register]);
  const pending = new Map<number, (reply: MetricsReply) => void>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    if (isMessage<MetricsReply>(message, REPLY)) pending.get(message.id)?.(message);
  });

  const handler: RequestHandler = (_req, res) => {
    res.set('Cache-Control', 'no-store');
    if (!process.send) {
      // Not forked by the cluster primary: this process is the whole cluster.
      void register.metrics().then((body) => res.type(register.contentType).send(body));
      return;
    }
    const id = nextId++;
    const finish = (reply: MetricsReply) => {
      clearTimeout(timer);
      pending.delete(id);
      if (reply.body !== undefined) {
        res.type(register.contentType).send(reply.body);
        return;
      }
      res.status(503).set('Retry-After', '5').json({ error: 'service_unavailable', service: 'metrics' });
    };
    const timer = setTimeout(() => finish({ type: REPLY, id, error: 'timed out' }), SCRAPE_TIMEOUT_MS);
    pending.set(id, finish);
    process.send({ type: REQUEST, id } satisfies MetricsRequest);
  };
  return { register, handler };
}
