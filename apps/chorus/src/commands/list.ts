import type { ConnectionInfo, GroupInfo, NameInfo } from '@chorus/client';
import type { Command } from '../command.js';
import type { Context } from '../context.js';
import { ExitCode, UsageError } from '../errors.js';
import { formatBytes, formatCount } from '../format.js';
import type { Style } from '../style.js';
import { renderTable } from '../table.js';

const kinds = ['groups', 'names', 'connections'] as const;
type Kind = (typeof kinds)[number];

/** `chorus list groups|names|connections`. */
export const list: Command = {
  name: 'list',
  args: [{ name: 'groups|names|connections' }],
  summary: 'List the groups, well-known names or connections on the bus',
  description: `groups       every group: owner, member count, who may emit, options, last sequence number
names        every well-known name: its primary owner and the queue waiting for it
connections  every connection: transport, identity, the process at the other end (pid and
             command, from the kernel; a WebSocket's remote address), memberships, owned
             groups and names, bytes queued towards it (this one is marked "you"; the name a
             client gave itself is shown as what it says, not verified)

--json prints the list as the bus gives it: a JSON array of objects (groups include their
published schema).`,
  options: {},
  optionHelp: [],
  async run(context, line) {
    const kind = line.positionals[0] as Kind;
    if (!kinds.includes(kind)) {
      throw new UsageError(`cannot list '${line.positionals[0]}': expected groups, names or connections`);
    }
    const bus = await context.connect();
    switch (kind) {
      case 'groups':
        show(context, await bus.listGroups(), groupTable);
        break;
      case 'names':
        show(context, await bus.listNames(), nameTable);
        break;
      case 'connections':
        show(context, await bus.listConnections(), (rows, style) => connectionTable(rows, style, bus.name));
        break;
    }
    return ExitCode.OK;
  },
};

function show<T extends { name: string }>(
  context: Context,
  items: T[],
  table: (items: T[], style: Style) => string[],
): void {
  if (context.json) {
    context.printJson(items);
    return;
  }
  const sorted = [...items].sort((a, b) => byName(a.name, b.name));
  for (const text of table(sorted, context.style)) context.print(text);
}

// Unique names (:1.10) in numeric order; everything else alphabetically.
function byName(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

const none = '-';

function joined(values: readonly string[]): string {
  return values.length === 0 ? none : values.join(', ');
}

/** The options a group was created with, as `retain, loopback, onFull=reject` (emitters has its column). */
export function groupOptionsText(options: GroupInfo['options']): string {
  const flags: string[] = [];
  if (options.retain === true) flags.push('retain');
  if (options.loopback === true) flags.push('loopback');
  if (options.sendToPeer === true) flags.push('sendToPeer');
  if (options.onFull !== undefined) flags.push(`onFull=${options.onFull}`);
  return joined(flags);
}

export function groupTable(groups: readonly GroupInfo[], style: Style): string[] {
  if (groups.length === 0) return [style.dim('(no groups)')];
  return renderTable(
    [
      { header: 'GROUP', colour: 'cyan' },
      { header: 'OWNER', colour: 'yellow' },
      { header: 'MEMBERS', align: 'right' },
      { header: 'EMITTERS' },
      { header: 'OPTIONS' },
      { header: 'SEQ', align: 'right' },
      { header: 'SCHEMA' },
    ],
    groups.map((group) => [
      group.name,
      group.owner,
      formatCount(group.members),
      group.options.emitters ?? none,
      groupOptionsText(group.options),
      formatCount(group.seq),
      group.schema === undefined || group.schema === null ? 'no' : 'yes',
    ]),
    style,
  );
}

export function nameTable(names: readonly NameInfo[], style: Style): string[] {
  if (names.length === 0) return [style.dim('(no well-known names)')];
  return renderTable(
    [{ header: 'NAME', colour: 'cyan' }, { header: 'OWNER', colour: 'yellow' }, { header: 'QUEUE' }],
    names.map((name) => [name.name, name.owner, joined(name.queue)]),
    style,
  );
}

export function connectionTable(
  connections: readonly ConnectionInfo[],
  style: Style,
  self: string,
): string[] {
  return renderTable(
    [
      { header: 'CONNECTION', colour: 'yellow' },
      { header: 'TRANSPORT' },
      { header: 'IDENTITY' },
      { header: 'PID', align: 'right' },
      { header: 'COMMAND' },
      { header: 'MEMBER OF', align: 'right' },
      { header: 'OWNS', colour: 'cyan' },
      { header: 'NAMES', colour: 'cyan' },
      { header: 'QUEUED', align: 'right' },
      { header: 'NOTE', colour: 'dim' },
    ],
    connections.map((connection) => {
      const identity = connection['identity'];
      const notes = [
        connection.monitor ? 'monitor' : '',
        connection.name === self ? 'you' : '',
        // What the client said about itself, not what the kernel says: shown as such.
        typeof connection.client === 'string' ? `says it is ${connection.client}` : '',
      ];
      return [
        connection.name,
        connection.transport,
        typeof identity === 'string' ? identity : none,
        typeof connection.pid === 'number' ? String(connection.pid) : none,
        typeof connection.command === 'string'
          ? shorten(connection.command, 48)
          : (connection.remote ?? none),
        formatCount(connection.groups.length),
        joined(connection.owned),
        joined(connection.names),
        formatBytes(connection.queuedBytes),
        notes.filter((note) => note !== '').join(', '),
      ];
    }),
    style,
  );
}

/** `text` cut to `max` characters, with an ellipsis when cut. */
function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
