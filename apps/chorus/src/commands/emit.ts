import { type Bus, ErrorCode, isChorusError } from '@chorus/client';
import { parseJsonArgument } from '../args.js';
import type { Command } from '../command.js';
import { CliError, ExitCode } from '../errors.js';
import { formatCount } from '../format.js';

/** `chorus emit GROUP SIGNAL [JSON]`. */
export const emit: Command = {
  name: 'emit',
  args: [{ name: 'GROUP' }, { name: 'SIGNAL' }, { name: 'JSON', optional: true }],
  summary: 'Emit a signal into a group (creating the group for the emit if need be)',
  description: `Emits SIGNAL into GROUP with JSON as its payload (no payload without JSON). Nothing is
validated here: typed members reject a payload that does not fit their contract.

If GROUP does not exist and the policy lets this connection create it, chorus creates it
(emitters: owner) and emits into it. Such a group lives only while the command runs: it
closes as chorus exits, so only monitors (and members that joined in between) see the
signal. If GROUP exists, chorus emits into it, which its 'emitters' option and the policy
must allow (NOT_PERMITTED otherwise).

Prints the signal's bus sequence number, its sequence number in the group and how many
members it was queued for. --json prints {group, signal, seq, groupSeq, recipients, created}.

Put '--' before a JSON value that starts with '-':  chorus emit G S -- -1`,
  options: {},
  optionHelp: [],
  async run(context, line) {
    const [group = '', signal = '', text] = line.positionals;
    const payload = parseJsonArgument(text, 'the payload');
    const bus = await context.connect();
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
