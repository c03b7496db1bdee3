/*
 * The command line: `chorus [global options] COMMAND [options] [ARGS...]`, with node:util
 * parseArgs. Global options may come before or after the command. Pure: argv in, a CommandLine
 * or a UsageError out.
 */

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { CliErrorCode, UsageError } from './errors.js';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Option values by long name, as parseArgs gives them. */
export type OptionValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

/** A positional argument of a command, for arity checks and the usage line. */
export interface ArgSpec {
  readonly name: string;
  readonly optional?: boolean;
  /** Takes every remaining argument (zero or more). */
  readonly variadic?: boolean;
}

/** What the parser needs to know about a command. */
export interface CommandSpec {
  readonly name: string;
  readonly args: readonly ArgSpec[];
  readonly options: OptionSpecs;
}

/** Options every command takes. */
export const globalOptions = {
  address: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

/** Options only valid without a command. */
const topOptions = { ...globalOptions, version: { type: 'boolean' } } as const satisfies OptionSpecs;

export type CommandLine =
  /** `chorus --help`, `chorus help [COMMAND]`, `chorus COMMAND --help`. */
  | { readonly kind: 'help'; readonly command: string | undefined }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'command';
      readonly command: string;
      readonly positionals: readonly string[];
      readonly values: OptionValues;
    };

/** Parses argv (without `node` and the script). Throws UsageError. */
export function parseCommandLine(argv: readonly string[], commands: readonly CommandSpec[]): CommandLine {
  // First pass, lenient, only to find the command: every known option is declared so that the
  // value of `--address X` or `--timeout 5` placed before the command is not taken for it.
  const known: OptionSpecs = { ...topOptions };
  for (const command of commands) Object.assign(known, command.options);
  const { tokens } = parseArgs({
    args: [...argv],
    options: known,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const first = tokens.find((token) => token.kind === 'positional');
  if (first === undefined) {
    const { values } = strictParse(argv, topOptions);
    if (values['version'] === true) return { kind: 'version' };
    if (values['help'] === true) return { kind: 'help', command: undefined };
    throw new UsageError('missing command');
  }

  const name = first.value;
  const rest = argv.filter((_, index) => index !== first.index);
  if (name === 'help') {
    const { positionals } = strictParse(rest, globalOptions);
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
    const target = positionals[0];
    if (target !== undefined) findCommand(commands, target);
    return { kind: 'help', command: target };
  }
  const spec = findCommand(commands, name);
  try {
    const { values, positionals } = strictParse(rest, { ...globalOptions, ...spec.options });
    if (values['help'] === true) return { kind: 'help', command: name };
    checkArity(spec, positionals);
    return { kind: 'command', command: name, positionals, values };
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(error.message, error.code, name);
    throw error;
  }
}

function findCommand(commands: readonly CommandSpec[], name: string): CommandSpec {
  const spec = commands.find((command) => command.name === name);
  if (spec === undefined) throw new UsageError(`unknown command '${name}'`);
  return spec;
}

function strictParse(
  args: readonly string[],
  options: OptionSpecs,
): { values: OptionValues; positionals: string[] } {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(usageMessage(code, (error as Error).message));
    }
    throw error;
  }
}

/**
 * parseArgs' own words, in ours: its unknown-option message ends with an unbalanced quote
 * (`as in '-- "--bogus"`) and speaks of "positional arguments".
 */
function usageMessage(code: string, message: string): string {
  const option = /'(-[^']*)'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) {
    return `unknown option '${option}'. A value that starts with '-' goes after '--', as in: -- ${JSON.stringify(option)}`;
  }
  return message;
}

function checkArity(spec: CommandSpec, positionals: readonly string[]): void {
  const required = spec.args.filter((arg) => arg.optional !== true && arg.variadic !== true).length;
  if (positionals.length < required) {
    throw new UsageError(`missing ${spec.args[positionals.length]?.name ?? 'argument'}`);
  }
  const variadic = spec.args.some((arg) => arg.variadic === true);
  if (!variadic && positionals.length > spec.args.length) {
    throw new UsageError(`unexpected argument '${positionals[spec.args.length]}'`);
  }
}

/** `GROUP SIGNAL [JSON]`, `[GROUP...]`. */
export function usageOf(args: readonly ArgSpec[]): string {
  return args
    .map((arg) => {
      const name = arg.variadic === true ? `${arg.name}...` : arg.name;
      return arg.optional === true || arg.variadic === true ? `[${name}]` : name;
    })
    .join(' ');
}

// setTimeout's largest delay; past it Node fires after 1 ms instead.
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * A duration option in whole milliseconds (`--timeout 500`); undefined when absent. 0 is allowed
 * (what 0 means is the command's to say). Throws UsageError INVALID_ARGUMENT.
 */
export function parseMilliseconds(value: OptionValues[string], option: string): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  const ms = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms > MAX_TIMEOUT_MS) {
    throw new UsageError(
      `--${option} expects whole milliseconds (0 to ${MAX_TIMEOUT_MS}), got '${text}'`,
      CliErrorCode.INVALID_ARGUMENT,
    );
  }
  return ms;
}

/** A JSON argument (payload, method input); undefined when absent. Throws UsageError INVALID_JSON. */
export function parseJsonArgument(text: string | undefined, what: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${what} is not valid JSON (${(error as Error).message}); quote it for the shell, e.g. '{"percent": 42}' or '"text"'`,
      CliErrorCode.INVALID_JSON,
    );
  }
}

/** A string option's value (parseArgs already checked its type). */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}
