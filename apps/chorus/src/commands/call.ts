import { parseJsonArgument, parseMilliseconds } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode } from '../errors.js';
import { prettyJson } from '../format.js';

/** `chorus call NAME METHOD [JSON] [--timeout MS]`. */
export const call: Command = {
  name: 'call',
  args: [{ name: 'NAME' }, { name: 'METHOD' }, { name: 'JSON', optional: true }],
  summary: 'Call a method of the service that owns NAME, print its output',
  description: `Calls METHOD on the primary owner of NAME (a well-known name, a unique name :1.N, or
org.chorus.Bus for the bus's own methods) with JSON as its input ({} without JSON), and
prints the output as indented JSON (--json: on one line).

Exit status 1 when the call fails, with the error's code on stderr: SERVICE_UNKNOWN (nobody
owns NAME), UNKNOWN_METHOD, INVALID_ARGS, INVALID_REPLY, TIMEOUT, NO_REPLY (the service went
away), REMOTE_ERROR (the handler threw), NOT_PERMITTED.

Put '--' before a JSON value that starts with '-'.`,
  options: { timeout: { type: 'string' } },
  optionHelp: [['--timeout MS', 'Give up after MS milliseconds (TIMEOUT); 0 = never (default: 25000)']],
  async run(context, line) {
    const [name = '', method = '', text] = line.positionals;
    const input = text === undefined ? {} : parseJsonArgument(text, 'the input');
    const timeoutMs = parseMilliseconds(line.values['timeout'], 'timeout');
    const bus = await context.connect();
    const output = await bus.call(name, method, input, timeoutMs === undefined ? {} : { timeoutMs });
    if (context.json) context.printJson(output);
    else if (output !== undefined) context.print(prettyJson(output));
    return ExitCode.OK;
  },
};
