import type { BreakerState } from '@sec/redis-guard';

/**
 * The messages the dashboard sends between the workers and the primary over node:cluster's IPC
 * channel. They travel without Redis on purpose: the dashboard must keep showing every worker
 * while Redis is paused, and the primary is the one process that owns the throwaway Redis.
 */
export const MESSAGES = {
  /** worker → primary: how many dashboard streams this worker holds. */
  viewers: 'demo.dashboard.viewers',
  /** primary → worker: whether any worker holds a stream (workers report only then). */
  watch: 'demo.dashboard.watch',
  /** worker → primary: this worker's figures, once a second while watched. */
  report: 'demo.dashboard.report',
  /** primary → worker: every worker's latest figures and the Redis the demo owns. */
  cluster: 'demo.dashboard.cluster',
  /** worker → primary: pause or resume the throwaway Redis. */
  control: 'demo.redis.control',
  /** primary → worker: the answer to a control message. */
  controlReply: 'demo.redis.control.reply',
} as const;

/** One worker's figures, as the workers table shows them. */
export interface WorkerStats {
  readonly id: string;
  readonly pid: number;
  readonly uptimeSeconds: number;
  /** Every request this worker has answered (HTTP and upgrades), health probes included. */
  readonly requests: number;
  readonly breaker: BreakerState;
  /** Round trip of the last PING, or null when it failed or has not answered for a second. */
  readonly redisLatencyMs: number | null;
  /** Why the last PING failed (`ERR_SEC_REDIS_TIMEOUT`, `ERR_SEC_CIRCUIT_OPEN`, …). */
  readonly redisError?: string;
  readonly viewers: number;
  /** Epoch ms of the report. */
  readonly reportedAt: number;
}

/** The Redis the demo started for itself (development only), which the dashboard may freeze. */
export interface RedisControlState {
  /** False when Redis was configured (REDIS_URL, …): the demo never touches a Redis it does not own. */
  readonly owned: boolean;
  readonly paused: boolean;
  /** ISO time the pause began, and when the primary thaws it by itself. */
  readonly pausedAt?: string;
  readonly resumesAt?: string;
}

/** What the primary sends to workers that hold dashboard streams. */
export interface ClusterSnapshot {
  readonly workers: readonly (WorkerStats & { readonly stale: boolean })[];
  readonly redis: RedisControlState;
  /** Epoch ms. */
  readonly at: number;
}

export interface ViewersMessage {
  readonly type: typeof MESSAGES.viewers;
  readonly count: number;
}
export interface WatchMessage {
  readonly type: typeof MESSAGES.watch;
  readonly active: boolean;
}
export interface ReportMessage {
  readonly type: typeof MESSAGES.report;
  readonly stats: WorkerStats;
}
export interface ClusterMessage {
  readonly type: typeof MESSAGES.cluster;
  readonly snapshot: ClusterSnapshot;
}
export interface ControlMessage {
  readonly type: typeof MESSAGES.control;
  readonly id: number;
  readonly action: 'pause' | 'resume';
  /** The worker verified an admin session for this request. */
  readonly admin: boolean;
  /** The resume key the pause handed out, for a resume that no session can vouch for. */
  readonly resumeKey?: string;
}
export type ControlError = 'not_owned' | 'already_paused' | 'forbidden';
export interface ControlReply {
  readonly type: typeof MESSAGES.controlReply;
  readonly id: number;
  readonly state: RedisControlState;
  readonly error?: ControlError;
  /** Handed to the admin who paused: resumes while Redis is frozen and no session can be checked. */
  readonly resumeKey?: string;
}

/**
 * True when `message` is an object of that type (IPC carries anything a process sends).
 * @example if (isMessage<WatchMessage>(message, MESSAGES.watch)) start(message.active);
 */
export function isMessage<T extends { readonly type: string }>(
  message: unknown,
  type: T['type'],
): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}
