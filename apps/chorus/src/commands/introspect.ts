import type { Command } from '../command.js';
import { ExitCode } from '../errors.js';
import { formatCount, prettyJson } from '../format.js';
import { describeContract, renderContract } from '../schema.js';
import { renderTable } from '../table.js';
import { groupOptionsText } from './list.js';

/** `chorus introspect GROUP`: a group's owner, options and contract. */
export const introspect: Command = {
  name: 'introspect',
  args: [{ name: 'GROUP' }],
  summary: "Show a group's owner, options, signals and methods",
  description: `Shows the group's owner, members and options, then the contract its creator published:
each signal with the fields of its payload, each method with the fields of its input and
output, with their types and constraints (from the JSON Schema). A field marked '?' is
optional; nested fields read as 'cells[].volts'.

--json prints the group as 'chorus list groups --json' does, published JSON Schema included
({name, owner, members, options, seq, schema}). Exit status 1 (UNKNOWN_GROUP) when there is
no such group.`,
  options: {},
  optionHelp: [],
  async run(context, line) {
    const name = line.positionals[0] as string;
    const bus = await context.connect();
    // GetGroupSchema answers UNKNOWN_GROUP for us; ListGroups adds owner, members and options.
    const [schema, groups] = await Promise.all([bus.getGroupSchema(name), bus.listGroups()]);
    const info = groups.find((group) => group.name === name);
    if (context.json) {
      context.printJson({ ...info, name, schema: schema ?? null });
      return ExitCode.OK;
    }
    const { style } = context;
    context.print(style.bold(name));
    if (info !== undefined) {
      const rows = [
        ['owner', info.owner],
        ['members', formatCount(info.members)],
        ['emitters', info.options.emitters ?? '-'],
        ['options', groupOptionsText(info.options)],
        ['seq', formatCount(info.seq)],
      ];
      const table = renderTable([{ header: '', colour: 'dim' }, { header: '' }], rows, style, {
        header: false,
        indent: 2,
      });
      for (const text of table) context.print(text);
    }
    context.print();
    if (schema === undefined || schema === null) {
      context.print(style.dim('No schema published: the group was created without a contract (untyped).'));
      return ExitCode.OK;
    }
    const contract = describeContract(schema);
    if (contract === undefined) {
      context.print(style.dim('The published schema is not in the shape of a Chorus contract:'));
      context.print(prettyJson(schema));
      return ExitCode.OK;
    }
    for (const text of renderContract(contract, style)) context.print(text);
    return ExitCode.OK;
  },
};
