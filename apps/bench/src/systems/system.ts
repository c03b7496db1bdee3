/*
 * One adapter per system under test. The server side (start a broker) runs in the bench process;
 * the client side runs in the bench process (emitters) and in subscriber processes (receivers).
 */

/** What a subscriber learns of one message; `seq`/`groupSeq` only where the system numbers them. */
export type OnMessage = (i: number, t: number, seq: number, groupSeq: number) => void;

/** A running broker, started for the bench in a temporary directory and stopped after. */
export interface Broker {
  /** How clients reach it (a socket path, `host:port`, a bus address). */
  readonly address: string;
  /** The broker process, for RSS and profiles; undefined when it runs in-process. */
  readonly pid: number | undefined;
  /**
   * Where the subscribers connect when it is not `address` (several brokers of one system, e.g.
   * federated daemons): addresses separated by `|`, each subscriber process's connections spread
   * over them in turn.
   */
  readonly subscriberAddress?: string;
  stop(): Promise<void>;
}

export interface BrokerOptions {
  /** A fresh temporary directory for sockets and config files. */
  readonly dir: string;
  /** Extra node flags for a Node broker (e.g. `--cpu-prof`). */
  readonly nodeFlags?: readonly string[];
}

/** Sends the messages of one topic. */
export interface Publisher {
  /**
   * Sends message `i` stamped `t`. Returns a promise when the caller must wait before sending more
   * (the in-flight window is full, or the socket pushes back); otherwise undefined.
   */
  send(i: number, t: number): Promise<void> | undefined;
  /** Resolves once everything sent was accepted by the broker (or at least written out). */
  drain(): Promise<void>;
}

/** One client connection. */
export interface Client {
  subscribe(topic: string, onMessage: OnMessage): Promise<void>;
  publisher(topic: string, payloadSize: number): Promise<Publisher>;
  close(): Promise<void>;
}

export interface SystemInfo {
  /** Short id used on the command line and in JSON (`chorus`, `raw`, `nats`, ...). */
  readonly id: SystemId;
  /** Name in tables and charts. */
  readonly label: string;
  /** The raw broker and Chorus always run; peers only with `--peers`. */
  readonly peer: boolean;
  /** Runs only when `--systems` names it (a variant of Chorus, for a side-by-side measure). */
  readonly optIn?: boolean;
  /** Whether the system routes several topics (the raw broker only fans out one stream). */
  readonly topics: boolean;
}

export interface SystemServer extends SystemInfo {
  /** Undefined when the system can run here, else why not (printed as a note). */
  unavailable(): Promise<string | undefined>;
  /** Server and client library versions, for the report. */
  versions(): Promise<Record<string, string>>;
  start(options: BrokerOptions): Promise<Broker>;
}

export type SystemId =
  | 'chorus'
  | 'chorus-emit'
  | 'chorus-novalidate'
  | 'chorus-federated'
  | 'jetstream'
  | 'raw'
  | 'nats'
  | 'redis'
  | 'mqtt'
  | 'dbus';

export interface SystemClient {
  connect(address: string): Promise<Client>;
}
