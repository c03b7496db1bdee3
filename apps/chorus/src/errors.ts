/*
 * Every error the CLI raises itself, and the one place that turns any error into what the user
 * sees: `chorus: CODE: message` on stderr and an exit status.
 */

import { isChorusError } from '@chorus/client';

/**
 * The exit statuses of `chorus`.
 *
 * @example
 * ```ts
 * process.exitCode = ExitCode.UNREACHABLE;
 * ```
 */
export const ExitCode = {
  /** The command did what it was asked. */
  OK: 0,
  /** The operation failed: unknown group, a call's error, a wait that timed out, a lost connection, ... */
  FAILED: 1,
  /** Usage error: unknown command or option, missing or extra argument, invalid JSON or number. */
  USAGE: 2,
  /** Could not connect to the bus (no daemon, refused, handshake rejected, timed out connecting). */
  UNREACHABLE: 3,
} as const;

/** One of the values of {@link ExitCode}. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Codes of the errors the CLI raises itself (errors from the SDK keep their own codes).
 *
 * @example
 * ```ts
 * if (report.code === CliErrorCode.INVALID_JSON) console.error('quote the JSON for the shell');
 * ```
 */
export const CliErrorCode = {
  /** Unknown command or option, missing or extra argument. */
  USAGE: 'USAGE',
  /** A JSON argument does not parse. */
  INVALID_JSON: 'INVALID_JSON',
  /** An option's value is malformed (e.g. `--timeout soon`). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** `--example` for a group that publishes no contract. */
  NO_CONTRACT: 'NO_CONTRACT',
  /** `chorus check`: the module cannot be loaded, exports no contract, or not the one asked for. */
  BAD_MODULE: 'BAD_MODULE',
  /** A monitor ended without the user stopping it and without an error from the SDK. */
  CONNECTION_CLOSED: 'CONNECTION_CLOSED',
  /** Not a ChorusError nor a CliError: a bug. */
  INTERNAL: 'INTERNAL',
} as const;

/** An error of the CLI: a stable `code` and the exit status it leads to. */
export class CliError extends Error {
  override name = 'CliError';
  readonly code: string;
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, exitCode: ExitCode = ExitCode.FAILED, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** The command line is wrong; exit status 2. */
export class UsageError extends CliError {
  override name = 'UsageError';
  /** The command whose usage was wrong, when known (its --help is the one to read). */
  readonly command: string | undefined;

  constructor(message: string, code: string = CliErrorCode.USAGE, command?: string) {
    super(code, message, ExitCode.USAGE);
    this.command = command;
  }
}

/** `connect()` failed; exit status 3. Keeps the SDK's code (`CONNECT_FAILED`, `TIMEOUT`, ...). */
export class UnreachableError extends CliError {
  override name = 'UnreachableError';

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, ExitCode.UNREACHABLE, options);
  }
}

/** What to tell the user about an error. */
export interface ErrorReport {
  readonly code: string;
  readonly message: string;
  /** Further lines (validation issues), printed indented under the message. */
  readonly details: readonly string[];
  readonly exitCode: ExitCode;
}

/** Normalizes anything thrown into a report; SDK errors keep their code and fail with status 1. */
export function describeError(error: unknown): ErrorReport {
  if (error instanceof CliError) {
    return { code: error.code, message: error.message, details: [], exitCode: error.exitCode };
  }
  if (isChorusError(error)) {
    const remoteName = (error as { remoteName?: unknown }).remoteName;
    const message =
      typeof remoteName === 'string' && remoteName !== '' ? `${remoteName}: ${error.message}` : error.message;
    // A malformed address is a mistake on the command line (or in CHORUS_BUS_ADDRESS).
    const exitCode = error.code === 'BAD_ADDRESS' ? ExitCode.USAGE : ExitCode.FAILED;
    return { code: error.code, message, details: issueLines(error), exitCode };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: CliErrorCode.INTERNAL, message, details: [], exitCode: ExitCode.FAILED };
}

/** The report as printed on stderr. */
export function formatErrorReport(report: ErrorReport): string {
  const lines = [`chorus: ${report.code}: ${report.message}`, ...report.details.map((line) => `  ${line}`)];
  return `${lines.join('\n')}\n`;
}

function issueLines(error: object): string[] {
  const issues = (error as { issues?: unknown }).issues;
  if (!Array.isArray(issues)) return [];
  return issues.map((issue: { path?: unknown; message?: unknown; reason?: unknown; code?: unknown }) => {
    // Validation issues have a path array and a message; contract issues a dotted path and a reason.
    const path =
      Array.isArray(issue.path) && issue.path.length > 0
        ? issue.path.join('.')
        : typeof issue.path === 'string' && issue.path !== ''
          ? issue.path
          : '(value)';
    const code = typeof issue.code === 'string' ? ` (${issue.code})` : '';
    return `${path}: ${String(issue.message ?? issue.reason)}${code}`;
  });
}
