import { Buffer } from 'node:buffer';
import type { Link } from './link.js';

/** One stream message read back for a rejoining subscriber. */
export interface ReplayedMessage {
  readonly seq: number;
  readonly data: Uint8Array;
  readonly headers: { get(key: string): string } | undefined;
}

export interface ReplayBatch {
  /** The group's messages after `after`, in stream order, up to `until`. */
  readonly messages: ReplayedMessage[];
  /** Every message after `after` was still in the stream and fitted in `max`: nothing was lost. */
  readonly complete: boolean;
  /** The stream sequence the batch covers up to (the applier's position when it was read). */
  readonly until: number;
}

/**
 * Reads a group's messages after stream sequence `after` back from the stream, up to what the
 * applier has applied (`applied()`, read again until the batch reaches it), so that the caller,
 * joining the subscriber right after in the same tick, gets the rest live: no gap, no repeat.
 * At most `max` messages; a stream that no longer holds `after + 1` makes the batch incomplete.
 */
export async function replayGroup(
  link: Link,
  stream: string,
  subject: string,
  after: number,
  applied: () => number,
  options: { max: number },
): Promise<ReplayBatch> {
  const messages: ReplayedMessage[] = [];
  const info = await link.jsm.streams.info(stream);
  let complete = info.state.first_seq <= after + 1;
  let next = after + 1;
  let until = after;
  for (;;) {
    const target = applied();
    if (until >= target) return { messages, complete, until };
    while (next <= target) {
      const stored = await nextBySubject(link, stream, subject, next);
      if (stored === undefined || stored.seq > target) break;
      if (messages.length >= options.max) {
        complete = false;
        return { messages, complete, until: stored.seq - 1 };
      }
      messages.push(stored);
      next = stored.seq + 1;
    }
    until = target;
    next = Math.max(next, target + 1);
  }
}

/**
 * The first message on `subject` at or after `seq`: JetStream's STREAM.MSG.GET with
 * `next_by_subj` (nats-server 2.9), which nats.js 2.29's getMessage does not expose.
 */
async function nextBySubject(
  link: Link,
  stream: string,
  subject: string,
  seq: number,
): Promise<ReplayedMessage | undefined> {
  const request = new TextEncoder().encode(JSON.stringify({ seq, next_by_subj: subject }));
  const reply = await link.nc.request(`$JS.API.STREAM.MSG.GET.${stream}`, request, { timeout: 2_000 });
  const answer = JSON.parse(new TextDecoder().decode(reply.data)) as {
    message?: { seq: number; data?: string; hdrs?: string };
    error?: { code: number; description?: string };
  };
  if (answer.error !== undefined) {
    if (answer.error.code === 404) return undefined;
    throw new Error(`replay: ${answer.error.description ?? answer.error.code}`);
  }
  const message = answer.message;
  if (message === undefined) return undefined;
  return {
    seq: message.seq,
    data: new Uint8Array(Buffer.from(message.data ?? '', 'base64')),
    headers: message.hdrs === undefined ? undefined : parseHeaders(Buffer.from(message.hdrs, 'base64').toString()),
  };
}

/** `NATS/1.0\r\nKey: value\r\n…`, as a lookup. */
function parseHeaders(text: string): { get(key: string): string } {
  const map = new Map<string, string>();
  for (const line of text.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) map.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { get: (key) => map.get(key.toLowerCase()) ?? '' };
}
