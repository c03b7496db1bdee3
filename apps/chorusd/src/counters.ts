/** The daemon's own counters since start, as `GetStats` reports them under `daemon`. */
export interface DaemonStats {
  accepted: number;
  refused: number;
  protocolErrors: number;
  requestErrors: number;
  fatalErrors: number;
  policyDenials: number;
  /** Emits refused because their payload did not fit the group's contract (INVALID_PAYLOAD). */
  invalidPayloads: number;
}

/** WebSocket upgrades (and /metrics requests) refused, by reason. */
export interface WsRejections {
  token: number;
  origin: number;
  /** The identity was at maxConnectionsPerIdentity or maxHelloPending. */
  limit: number;
}

/**
 * What the daemon counts, for `GetStats` and /metrics. Only totals that only grow: each part
 * counts its own events here, and readers get copies.
 */
export class Counters {
  readonly #stats: DaemonStats = {
    accepted: 0,
    refused: 0,
    protocolErrors: 0,
    requestErrors: 0,
    fatalErrors: 0,
    policyDenials: 0,
    invalidPayloads: 0,
  };
  readonly #wsRejections: WsRejections = { token: 0, origin: 0, limit: 0 };

  count(what: keyof DaemonStats): void {
    this.#stats[what]++;
  }

  wsRejected(reason: keyof WsRejections): void {
    this.#wsRejections[reason]++;
  }

  /** Errors answered to clients, of every kind. */
  get errors(): number {
    const stats = this.#stats;
    return stats.protocolErrors + stats.requestErrors + stats.fatalErrors;
  }

  stats(): DaemonStats {
    return { ...this.#stats };
  }

  wsRejections(): WsRejections {
    return { ...this.#wsRejections };
  }
}
