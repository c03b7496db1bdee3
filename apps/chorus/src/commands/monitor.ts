import type { ChorusError, MonitoredSignal } from '@chorus/client';
import type { Command } from '../command.js';
import { CliError, CliErrorCode, ExitCode } from '../errors.js';
import { compactJson, toJson } from '../format.js';
import type { Style } from '../style.js';
import { displayWidth } from '../table.js';

/** `chorus monitor [GROUP...]`: every signal, live, one line each. */
export const monitor: Command = {
  name: 'monitor',
  args: [{ name: 'GROUP', variadic: true }],
  summary: 'Print every signal (of the groups given) as it is emitted, until Ctrl-C',
  description: `Turns this connection into a bus monitor and prints one line per signal, in bus order:
the bus sequence number, the group, the signal, the sender's unique name and the payload
(as JSON). Without GROUP it watches every group, org.chorus.Bus included; groups that do not
exist yet are watched from when they appear. Runs until Ctrl-C (exit status 0).

--json prints JSON lines: {seq, groupSeq, group, signal, sender, payload} (payload absent when
the signal has none; bytes as {"$bytes": base64}).

A monitor that cannot keep up is evicted by the daemon (SLOW_CONSUMER, exit status 1), so
keep what reads its output quick. Exit status 1 as well when the connection is lost.`,
  options: {},
  optionHelp: [],
  async run(context, line) {
    const { io } = context;
    const groups = line.positionals.length > 0 ? line.positionals : undefined;
    const bus = await context.connect();
    const watcher = await bus.becomeMonitor(groups);

    let failure: ChorusError | undefined;
    watcher.on('closed', (_reason, error) => {
      failure = error;
    });
    watcher.on('invalid', (error, meta) => {
      io.stderr.write(`chorus: ${error.code}: seq ${meta.seq}: ${error.message} (skipped)\n`);
    });
    let stopped = false;
    let onStop: () => void = () => undefined;
    const stopping = new Promise<void>((resolve) => {
      onStop = resolve;
    });
    const removeInterrupt = io.onInterrupt(() => {
      stopped = true;
      onStop();
      void bus.close();
    });
    if (!context.json && io.stderr.isTTY === true) {
      const what = groups === undefined ? 'every group' : groups.join(', ');
      io.stderr.write(`${context.style.dim(`Monitoring ${what} on ${context.address} (Ctrl-C to stop)`)}\n`);
    }

    const printer = new SignalPrinter(context.style);
    try {
      for await (const message of watcher) {
        if (stopped) break;
        const text = context.json ? signalJson(message) : printer.format(message);
        // Backpressure: while stdout is full we stop pulling, the SDK stops reading, and the
        // daemon's queue for us fills (and it evicts us if we stay that slow).
        if (!io.stdout.write(`${text}\n`)) {
          await Promise.race([new Promise<void>((resolve) => io.stdout.once('drain', resolve)), stopping]);
        }
      }
    } finally {
      removeInterrupt();
    }
    if (stopped) return ExitCode.OK;
    throw failure ?? new CliError(CliErrorCode.CONNECTION_CLOSED, 'the monitor ended: the connection closed');
  },
};

/** One JSON line per signal. */
export function signalJson(message: MonitoredSignal): string {
  const { meta } = message;
  const record: Record<string, unknown> = {
    seq: meta.seq,
    groupSeq: meta.groupSeq,
    group: message.group,
    signal: message.signal,
    sender: meta.sender,
  };
  if (message.payload !== undefined) record['payload'] = toJson(message.payload);
  return JSON.stringify(record);
}

/**
 * Human lines: `seq  group  signal  sender  payload`. Columns cannot be measured ahead on a live
 * stream, so each grows to the widest value seen so far (early lines may sit a little left).
 */
export class SignalPrinter {
  readonly #style: Style;
  readonly #widths = [0, 0, 0, 0];

  constructor(style: Style) {
    this.#style = style;
  }

  format(message: MonitoredSignal): string {
    const style = this.#style;
    const cells = [String(message.meta.seq), message.group, message.signal, message.meta.sender];
    cells.forEach((cell, index) => {
      this.#widths[index] = Math.max(this.#widths[index] ?? 0, displayWidth(cell));
    });
    const pad = (index: number): string =>
      ' '.repeat((this.#widths[index] ?? 0) - displayWidth(cells[index] ?? ''));
    const payload = message.payload === undefined ? style.dim('-') : compactJson(message.payload);
    return [
      pad(0) + style.dim(cells[0] ?? ''),
      style.cyan(cells[1] ?? '') + pad(1),
      style.bold(cells[2] ?? '') + pad(2),
      style.yellow(cells[3] ?? '') + pad(3),
      payload,
    ].join('  ');
  }
}
