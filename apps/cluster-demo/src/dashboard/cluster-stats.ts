import cluster, { type Worker } from 'node:cluster';
import {
  type ClusterMessage,
  isMessage,
  MESSAGES,
  type RedisControlState,
  type ReportMessage,
  type ViewersMessage,
  type WatchMessage,
  type WorkerStats,
} from './messages.js';

/** How often the primary sends the table to the workers that hold dashboard streams. */
export const SNAPSHOT_INTERVAL_MS = 1_000;
/** A worker silent for this long is shown as stale (frozen, or busy past its report). */
const STALE_AFTER_MS = 3_000;

/**
 * In the primary: gathers every worker's figures and sends the whole table to the workers that
 * hold dashboard streams, so whichever worker a browser is connected to shows all of them. Workers
 * report only while some worker has a viewer (the primary tells them), so an unwatched demo sends
 * nothing and pings nothing.
 * @example serveClusterStats(serveRedisControl(throwaway));
 */
export function serveClusterStats(redis: () => RedisControlState): void {
  const viewers = new Map<Worker, number>();
  const latest = new Map<Worker, WorkerStats>();
  let active = false;
  let timer: NodeJS.Timeout | undefined;

  const send = (worker: Worker, message: WatchMessage | ClusterMessage) => {
    if (worker.isConnected()) worker.send(message);
  };
  const snapshot = (): ClusterMessage => {
    const now = Date.now();
    const workers = [...latest.values()]
      .map((stats) => ({ ...stats, stale: now - stats.reportedAt > STALE_AFTER_MS }))
      .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    return { type: MESSAGES.cluster, snapshot: { workers, redis: redis(), at: now } };
  };
  const publish = () => {
    const message = snapshot();
    for (const [worker, count] of viewers) if (count > 0) send(worker, message);
  };
  const update = () => {
    const watched = [...viewers.values()].some((count) => count > 0);
    if (watched !== active) {
      active = watched;
      for (const worker of Object.values(cluster.workers ?? {}))
        if (worker) send(worker, { type: MESSAGES.watch, active });
      if (active) {
        timer = setInterval(publish, SNAPSHOT_INTERVAL_MS);
        timer.unref();
      } else {
        clearInterval(timer);
        timer = undefined;
        latest.clear();
      }
    }
    if (active && latest.size > 0) publish();
  };

  cluster.on('online', (worker) => send(worker, { type: MESSAGES.watch, active }));
  cluster.on('exit', (worker) => {
    latest.delete(worker);
    viewers.delete(worker);
    update();
  });
  cluster.on('message', (worker, message: unknown) => {
    if (isMessage<ViewersMessage>(message, MESSAGES.viewers)) {
      viewers.set(worker, Math.max(0, Number(message.count) || 0));
      update();
    } else if (isMessage<ReportMessage>(message, MESSAGES.report)) {
      if (active) latest.set(worker, message.stats);
    }
  });
}
