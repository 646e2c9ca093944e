import cluster from 'node:cluster';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ThrowawayRedis } from '../throwaway-redis.js';
import {
  type ControlError,
  type ControlMessage,
  type ControlReply,
  isMessage,
  MESSAGES,
  type RedisControlState,
} from './messages.js';

/** A frozen Redis thaws by itself after this long, so a closed tab cannot leave the demo down. */
export const MAX_PAUSE_MS = 60_000;

/**
 * In the primary, which owns the throwaway Redis: pauses (SIGSTOP) and resumes (SIGCONT) it when
 * a worker asks on behalf of an admin. Workers check the admin's session and the request's origin;
 * a resume arrives while Redis is frozen, when no session can be checked, so it carries the key
 * that the pause handed to the admin instead. Returns the current state, for the dashboard.
 * @example const redisState = serveRedisControl(throwaway); redisState().paused
 */
export function serveRedisControl(throwaway: ThrowawayRedis | undefined): () => RedisControlState {
  let pause: { key: Buffer; at: Date; until: Date; timer: NodeJS.Timeout } | undefined;
  const state = (): RedisControlState => ({
    owned: throwaway !== undefined,
    paused: pause !== undefined,
    ...(pause && { pausedAt: pause.at.toISOString(), resumesAt: pause.until.toISOString() }),
  });
  const resume = () => {
    if (!pause) return;
    clearTimeout(pause.timer);
    pause = undefined;
    throwaway?.resume();
  };
  const keyMatches = (given: string | undefined) => {
    if (!pause || typeof given !== 'string') return false;
    const candidate = Buffer.from(given);
    return candidate.length === pause.key.length && timingSafeEqual(candidate, pause.key);
  };
  const handle = (message: ControlMessage): Omit<ControlReply, 'type' | 'id'> => {
    const refuse = (error: ControlError) => ({ state: state(), error });
    if (!throwaway) return refuse('not_owned');
    if (message.action === 'pause') {
      if (!message.admin) return refuse('forbidden');
      if (pause) return refuse('already_paused');
      const key = Buffer.from(randomBytes(32).toString('base64url'));
      const at = new Date();
      const timer = setTimeout(resume, MAX_PAUSE_MS);
      timer.unref();
      pause = { key, at, until: new Date(at.getTime() + MAX_PAUSE_MS), timer };
      throwaway.pause();
      return { state: state(), resumeKey: key.toString() };
    }
    if (pause && !message.admin && !keyMatches(message.resumeKey)) return refuse('forbidden');
    resume();
    return { state: state() };
  };
  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage<ControlMessage>(message, MESSAGES.control)) return;
    const reply: ControlReply = { type: MESSAGES.controlReply, id: message.id, ...handle(message) };
    if (worker.isConnected()) worker.send(reply);
  });
  return state;
}
