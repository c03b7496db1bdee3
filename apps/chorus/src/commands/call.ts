import { parseJsonArgument, parseMilliseconds } from '../args.js';
import type { Command } from '../command.js';
import { contractForExample, exampleOf, publishedContract, refuseIssue } from '../contract-input.js';
import { CliError, CliErrorCode, ExitCode } from '../errors.js';
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

When a group named NAME publishes a contract that declares METHOD (as an SDK service's group
does, and org.chorus.Bus), the input is checked against it first: one that does not fit is not
sent, and chorus prints 'chorus: INVALID_PAYLOAD: PATH: REASON' and exits 1.

--example prints an input that fits METHOD's schema (required fields, defaults, first choices)
instead of calling: a skeleton to fill in.

Put '--' before a JSON value that starts with '-'.`,
  options: { timeout: { type: 'string' }, example: { type: 'boolean' } },
  optionHelp: [
    ['--timeout MS', 'Give up after MS milliseconds (TIMEOUT); 0 = never (default: 25000)'],
    ['--example', "Print an input that fits METHOD's schema; call nothing"],
  ],
  async run(context, line) {
    const [name = '', method = '', text] = line.positionals;
    const input = text === undefined ? {} : parseJsonArgument(text, 'the input');
    const timeoutMs = parseMilliseconds(line.values['timeout'], 'timeout');
    const bus = await context.connect();
    if (line.values['example'] === true) {
      const { schema, contract } = await contractForExample(bus, name);
      if (!contract.methods.includes(method)) {
        throw new CliError(CliErrorCode.NO_CONTRACT, `${name}'s contract has no method '${method}'`);
      }
      const example = exampleOf(contract.inputSchema(method), schema) ?? {};
      if (context.json) context.printJson(example);
      else context.print(prettyJson(example));
      return ExitCode.OK;
    }
    // A method the group's contract does not declare may still be served: the service decides.
    const published = await publishedContract(bus, name);
    if (published?.contract.methods.includes(method) === true) {
      refuseIssue(published.contract.checkInput(method, input), '(input)');
    }
    const output = await bus.call(name, method, input, timeoutMs === undefined ? {} : { timeoutMs });
    if (context.json) context.printJson(output);
    else if (output !== undefined) context.print(prettyJson(output));
    return ExitCode.OK;
  },
};
