import { type ControlMessage, type ControlReply, isMessage, MESSAGES } from './messages.js';

/** The primary answers at once; silence this long means it is gone or busy. */
const REPLY_TIMEOUT_MS = 2_000;

/** Why the primary could not be asked. */
export class PrimaryUnavailableError extends Error {}

/**
 * In a worker: asks the primary to pause or resume the throwaway Redis it owns.
 * @example const reply = await control.request({ action: 'pause', admin: true });
 */
export class RedisControlClient {
  readonly #pending = new Map<number, (reply: ControlReply) => void>();
  #nextId = 0;
  readonly #onMessage = (message: unknown) => {
    if (isMessage<ControlReply>(message, MESSAGES.controlReply)) this.#pending.get(message.id)?.(message);
  };

  constructor() {
    process.on('message', this.#onMessage);
  }

  request(ask: Omit<ControlMessage, 'type' | 'id'>): Promise<ControlReply> {
    if (!process.connected || !process.send)
      return Promise.reject(new PrimaryUnavailableError('not a cluster worker'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new PrimaryUnavailableError(`no answer within ${REPLY_TIMEOUT_MS} ms`));
      }, REPLY_TIMEOUT_MS);
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(reply);
      });
      process.send!({ type: MESSAGES.control, id, ...ask } satisfies ControlMessage);
    });
  }

  close(): void {
    process.off('message', this.#onMessage);
  }
}
