/*
 * For clients whose send is fire-and-forget (NATS publish, D-Bus signals): a round trip every
 * `every` messages, with at most two in flight, bounds what is unacknowledged without stalling the
 * pipe (the next batch goes out while the previous round trip is on its way).
 */
export class RoundTripWindow {
  readonly #every: number;
  readonly #roundTrip: () => Promise<unknown>;
  #sent = 0;
  #previous: Promise<unknown> | undefined;

  constructor(every: number, roundTrip: () => Promise<unknown>) {
    this.#every = every;
    this.#roundTrip = roundTrip;
  }

  /** Call after each send; returns a promise to wait on when two round trips are outstanding. */
  sent(): Promise<void> | undefined {
    if (++this.#sent % this.#every !== 0) return undefined;
    const previous = this.#previous;
    this.#previous = this.#roundTrip();
    return previous?.then(() => undefined);
  }

  async drain(): Promise<void> {
    await this.#previous;
    await this.#roundTrip();
  }
}
