/** A scalar a payload field can be compared with. */
export type FieldValue = string | number | boolean | null;

/**
 * A membership filter. Every condition given must hold; a membership with several filters
 * receives a message when any of them matches (as D-Bus match rules).
 */
export interface Filter {
  /** Only this signal. */
  readonly signal?: string;
  /** Only from this connection. */
  readonly sender?: number;
  /** Equality on top-level fields of the decoded payload. */
  readonly fields?: Readonly<Record<string, FieldValue>>;
}

/** Lazily decoded top-level payload fields: called at most once per message, only if a filter needs it. */
export type FieldsReader = () => unknown;

/**
 * Decodes the payload once, on first use, for every filter of one message. `read` is called with
 * `payload`, so a driver can pass one decoder for all messages instead of a closure per message.
 */
export class LazyFields {
  readonly #read: ((payload: unknown) => unknown) | undefined;
  readonly #payload: unknown;
  #value: Readonly<Record<string, unknown>> | undefined;
  #done = false;

  constructor(read: ((payload: unknown) => unknown) | undefined, payload?: unknown) {
    this.#read = read;
    this.#payload = payload;
  }

  get(): Readonly<Record<string, unknown>> | undefined {
    if (!this.#done) {
      this.#done = true;
      let value: unknown;
      try {
        value = this.#read?.(this.#payload);
      } catch {
        value = undefined; // an undecodable payload matches no field filter
      }
      this.#value =
        typeof value === 'object' && value !== null && !Array.isArray(value)
          ? (value as Record<string, unknown>)
          : undefined;
    }
    return this.#value;
  }
}

export function filterMatches(filter: Filter, signal: string, sender: number, fields: LazyFields): boolean {
  if (filter.signal !== undefined && filter.signal !== signal) return false;
  if (filter.sender !== undefined && filter.sender !== sender) return false;
  if (filter.fields !== undefined) {
    const payload = fields.get();
    if (payload === undefined) return false;
    for (const key in filter.fields) {
      if (!Object.hasOwn(payload, key) || payload[key] !== filter.fields[key]) return false;
    }
  }
  return true;
}

export function anyFilterMatches(
  filters: readonly Filter[],
  signal: string,
  sender: number,
  fields: LazyFields,
): boolean {
  for (const filter of filters) if (filterMatches(filter, signal, sender, fields)) return true;
  return false;
}
