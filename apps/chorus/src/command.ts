/*
 * The shape of a subcommand: what it accepts (for the parser and its --help) and what it does.
 * Each lives in its own file under commands/.
 */

import type { ArgSpec, CommandLine, OptionSpecs } from './args.js';
import type { Context } from './context.js';
import type { ExitCode } from './errors.js';

export interface Command {
  readonly name: string;
  readonly args: readonly ArgSpec[];
  /** One line, for the command list of `chorus --help`. */
  readonly summary: string;
  /** The body of `chorus COMMAND --help`: what it does, what it prints, its exit statuses. */
  readonly description: string;
  /** The command's own options (the global ones are added by the parser). */
  readonly options: OptionSpecs;
  /** `[flag, explanation]` rows for --help, one per option in `options`. */
  readonly optionHelp: readonly (readonly [string, string])[];
  /**
   * Runs the command. Arguments are checked before anything connects, so a usage error is
   * reported as one (exit 2) whether or not a daemon is there. Throws to fail (see errors.ts).
   */
  run(context: Context, line: Extract<CommandLine, { kind: 'command' }>): Promise<ExitCode>;
}
