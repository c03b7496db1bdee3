import { ErrorCode } from '@chorus/protocol';
import { headers as natsHeaders, type PubAck } from 'nats';
import { RequestError } from '../request-error.js';
import { type Link, sleep } from './link.js';

/** The headers of a stream message that Chorus reads back when it applies it. */
export const Header = {
  /** The daemon that published it (its `daemonId`). */
  daemon: 'Chorus-Daemon',
  /** That daemon's run (a new id each start): connection numbers are per run. */
  boot: 'Chorus-Boot',
  /** The publishing connection's number on that daemon (`:1.N`'s N). */
  conn: 'Chorus-Conn',
  /** The signal's name. */
  signal: 'Chorus-Sig',
} as const;

export interface Publication {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Record<string, string>;
  /** JetStream's `Nats-Msg-Id`: the same on every retry, so a retry after a lost ack is not a second message. */
  readonly msgId: string;
}

/**
 * Puts messages on the stream. One Chorus emit is one stream message: a publish whose ack was
 * lost (timeout, 503 while the stream elects a leader, a node dying) is sent again with the same
 * message id until JetStream acks it or `timeoutMs` passes; within the stream's de-duplication
 * window the retry cannot be a second message.
 */
export class StreamPublisher {
  readonly #link: Link;
  readonly #timeoutMs: number;

  constructor(link: Link, timeoutMs: number) {
    this.#link = link;
    this.#timeoutMs = timeoutMs;
  }

  /** Resolves with JetStream's ack; rejects with FEDERATION_UNAVAILABLE once `timeoutMs` passed. */
  async publish(publication: Publication): Promise<PubAck> {
    // [GUARANTEE: federation] one emit = one stream message: retried with the same msgID only.
    const deadline = Date.now() + this.#timeoutMs;
    const headers = natsHeaders();
    for (const [key, value] of Object.entries(publication.headers)) headers.set(key, value);
    let last: unknown;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        return await this.#link.js.publish(publication.subject, publication.data, {
          msgID: publication.msgId,
          headers,
          timeout: Math.max(250, Math.min(2_000, left)),
        });
      } catch (error) {
        last = error;
        await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
      }
    }
    throw new RequestError(
      ErrorCode.FEDERATION_UNAVAILABLE,
      `JetStream did not take the message within ${this.#timeoutMs} ms (${String(last)}); it may or may not have been delivered, try again`,
    );
  }
}
