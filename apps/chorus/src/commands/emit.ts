import { type Bus, ErrorCode, isChorusError } from '@chorus/client';
import { parseJsonArgument } from '../args.js';
import type { Command } from '../command.js';
import { contractForExample, exampleOf, publishedContract, refuseIssue } from '../contract-input.js';
import { CliError, ExitCode } from '../errors.js';
import { formatCount, prettyJson } from '../format.js';

/** `chorus emit GROUP SIGNAL [JSON]`. */
export const emit: Command = {
  name: 'emit',
  args: [{ name: 'GROUP' }, { name: 'SIGNAL' }, { name: 'JSON', optional: true }],
  summary: 'Emit a signal into a group (creating the group for the emit if need be)',
  description: `Emits SIGNAL into GROUP with JSON as its payload (no payload without JSON). When GROUP
publishes a contract, the payload is checked against it first: one that does not fit (or an
unknown SIGNAL, or no JSON where a payload is required) is not sent, and chorus prints
'chorus: INVALID_PAYLOAD: PATH: REASON' and exits 1. The daemon checks the same (unless the
group's owner turned validation off).

--example prints a payload that fits SIGNAL's schema (required fields, defaults, first choices)
instead of emitting: a skeleton to fill in.

If GROUP does not exist and the policy lets this connection create it, chorus creates it
(emitters: owner) and emits into it. Such a group lives only while the command runs: it
closes as chorus exits, so only monitors (and members that joined in between) see the
signal. If GROUP exists, chorus emits into it, which its 'emitters' option and the policy
must allow (NOT_PERMITTED otherwise).

Prints the signal's bus sequence number, its sequence number in the group and how many
members it was queued for. --json prints {group, signal, seq, groupSeq, recipients, created}.

Put '--' before a JSON value that starts with '-':  chorus emit G S -- -1`,
  options: { example: { type: 'boolean' } },
  optionHelp: [['--example', "Print a payload that fits SIGNAL's schema; emit nothing"]],
  async run(context, line) {
    const [group = '', signal = '', text] = line.positionals;
    const payload = parseJsonArgument(text, 'the payload');
    const bus = await context.connect();
    if (line.values['example'] === true) {
      const { schema, contract } = await contractForExample(bus, group);
      if (!contract.signals.includes(signal)) refuseIssue(contract.checkSignal(signal, {}), '(payload)');
      const example = exampleOf(contract.signalSchema(signal), schema);
      if (context.json) context.printJson(example ?? null);
      else context.print(example === undefined ? '(no payload)' : prettyJson(example));
      return ExitCode.OK;
    }
    const published = await publishedContract(bus, group);
    if (published !== undefined) refuseIssue(published.contract.checkSignal(signal, payload), '(payload)');
    const created = await createIfMissing(bus, group);
    let result: Awaited<ReturnType<Bus['emit']>>;
    try {
      result = await bus.emit(group, signal, payload);
    } catch (error) {
      if (created.refused !== undefined && isChorusError(error, ErrorCode.UNKNOWN_GROUP)) {
        throw new CliError(
          error.code,
          `${error.message}, and creating it was refused (${created.refused.code}: ${created.refused.message})`,
        );
      }
      throw error;
    }
    if (context.json) {
      context.printJson({ group, signal, ...result, created: created.created });
      return ExitCode.OK;
    }
    const { style } = context;
    const recipients = `${formatCount(result.recipients)} recipient${result.recipients === 1 ? '' : 's'}`;
    context.print(
      `Emitted ${style.cyan(group)} ${style.bold(signal)}: seq ${result.seq} (group seq ${result.groupSeq}), ${recipients}`,
    );
    if (created.created) {
      context.print(
        style.dim(`Created ${group} for this emit (emitters: owner); it closes as chorus exits.`),
      );
    }
    return ExitCode.OK;
  },
};

/**
 * Creates the group unless it exists. A refusal by the policy is not final: the group may exist
 * (the daemon checks the policy before existence) and let us emit; the emit will tell.
 */
async function createIfMissing(
  bus: Bus,
  group: string,
): Promise<{ created: boolean; refused?: { code: string; message: string } }> {
  try {
    await bus.createGroup(group, { emitters: 'owner' });
    return { created: true };
  } catch (error) {
    if (isChorusError(error, ErrorCode.GROUP_EXISTS)) return { created: false };
    if (isChorusError(error, ErrorCode.NOT_PERMITTED)) {
      return { created: false, refused: { code: error.code, message: error.message } };
    }
    throw error;
  }
}
