/*
 * `chorus`: parse, dispatch to a command, report. Everything about the process comes in
 * through Io (see main.ts), so tests run the whole CLI with fakes.
 */

import { readFileSync } from 'node:fs';
import { type CommandLine, parseCommandLine, usageOf } from './args.js';
import type { Command } from './command.js';
import { call } from './commands/call.js';
import { check } from './commands/check.js';
import { emit } from './commands/emit.js';
import { introspect } from './commands/introspect.js';
import { list } from './commands/list.js';
import { monitor } from './commands/monitor.js';
import { status } from './commands/status.js';
import { wait } from './commands/wait.js';
import { type Context, createContext, type Io } from './context.js';
import { describeError, ExitCode, formatErrorReport, UsageError } from './errors.js';
import { createStyle } from './style.js';
import { renderTable } from './table.js';

/** The subcommands, in the order --help lists them. */
export const commands: readonly Command[] = [status, list, introspect, check, monitor, emit, call, wait];

const plain = createStyle(false);

const globalOptionHelp: readonly (readonly [string, string])[] = [
  ['--address ADDR', 'The bus: unix:path=PATH, or ws://HOST:PORT (WebSocket bridge)'],
  ['', 'default: $CHORUS_BUS_ADDRESS, else $XDG_RUNTIME_DIR/chorus/bus.sock,'],
  ['', 'else /tmp/chorus-<uid>/bus.sock'],
  ['--token TOKEN', 'Token to present (default for ws:// addresses: $CHORUS_TOKEN)'],
  ['--json', 'Output for scripts: one JSON document (JSON lines for monitor)'],
  ['-h, --help', 'Show help'],
];

const exitStatusHelp = `Exit status:
  0  success
  1  the operation failed (unknown group, a call's error, a wait that timed out, ...)
  2  usage error (unknown command or option, missing argument, invalid JSON or number)
  3  cannot connect to the bus

Errors go to stderr as 'chorus: CODE: message'. Colours only when stdout is a terminal
and NO_COLOR is not set.`;

function optionLines(rows: readonly (readonly [string, string])[]): string {
  return renderTable([{ header: '' }, { header: '' }], rows, plain, { header: false, indent: 2 }).join('\n');
}

/** `chorus --help`. */
export function topHelp(): string {
  const rows = commands.map(
    (command) => [`${command.name} ${usageOf(command.args)}`, command.summary] as const,
  );
  return `Usage: chorus [options] COMMAND [ARGS...]

Inspect, watch and drive a Chorus bus.

Commands:
${optionLines([...rows, ['help [COMMAND]', 'Show help for a command']])}

Options (every command):
${optionLines(globalOptionHelp)}
  --version       Print the version

${exitStatusHelp}

Run 'chorus COMMAND --help' for a command's options and output.
`;
}

/** `chorus COMMAND --help`. */
export function commandHelp(command: Command): string {
  const own = command.optionHelp.length > 0 ? `Options:\n${optionLines(command.optionHelp)}\n\n` : '';
  return `Usage: chorus ${command.name} [options] ${usageOf(command.args)}

${command.summary}.

${command.description}

${own}Options (every command):
${optionLines(globalOptionHelp)}

${exitStatusHelp}
`;
}

function version(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/**
 * Runs `chorus` with `argv` (without `node` and the script) and resolves with the exit status.
 * Never rejects: errors are reported on `io.stderr` as `chorus: CODE: message`.
 *
 * @example
 * ```ts
 * process.exitCode = await run(['list', 'groups', '--json'], io);
 * ```
 */
export async function run(argv: readonly string[], io: Io): Promise<ExitCode> {
  let line: CommandLine;
  try {
    line = parseCommandLine(argv, commands);
  } catch (error) {
    const command = error instanceof UsageError ? error.command : undefined;
    return report(io, error, `Run 'chorus ${command === undefined ? '' : `${command} `}--help' for usage.`);
  }
  switch (line.kind) {
    case 'version':
      io.stdout.write(`chorus ${version()}\n`);
      return ExitCode.OK;
    case 'help': {
      const command = commands.find((one) => one.name === line.command);
      io.stdout.write(command === undefined ? topHelp() : commandHelp(command));
      return ExitCode.OK;
    }
    case 'command':
      break;
  }
  const command = commands.find((one) => one.name === line.command) as Command;
  let context: Context | undefined;
  try {
    context = createContext(io, line.values);
    return await command.run(context, line);
  } catch (error) {
    const hint =
      describeError(error).exitCode === ExitCode.USAGE
        ? `Run 'chorus ${command.name} --help' for usage.`
        : undefined;
    return report(io, error, hint);
  } finally {
    await context?.close();
  }
}

function report(io: Io, error: unknown, hint?: string): ExitCode {
  const described = describeError(error);
  io.stderr.write(formatErrorReport(described));
  if (hint !== undefined) io.stderr.write(`${hint}\n`);
  return described.exitCode;
}
