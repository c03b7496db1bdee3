import type { Command } from '../command.js';
import { ExitCode } from '../errors.js';
import { formatBytes, formatCount, formatDuration } from '../format.js';
import { renderTable } from '../table.js';

/** `chorus status`: is the daemon there, and what is it doing. */
export const status: Command = {
  name: 'status',
  args: [],
  summary: 'Whether the daemon is reachable, with its counters',
  description: `Connects, then shows the bus address, this connection's unique name, how many
connections, groups and names the bus has (this connection and org.chorus.Bus included),
the messages and deliveries since the daemon started, and its uptime.

--json prints {address, name, uptimeMs, connections, groups, names, messages, deliveries,
bytes, evictions, errors}. Exit status 3 when the daemon cannot be reached.`,
  options: {},
  optionHelp: [],
  async run(context) {
    const bus = await context.connect();
    const [stats, groups, names] = await Promise.all([bus.getStats(), bus.listGroups(), bus.listNames()]);
    const summary = {
      address: context.address,
      name: bus.name,
      uptimeMs: stats.uptimeMs,
      connections: stats.connections,
      groups: groups.length,
      names: names.length,
      messages: stats.total.messages,
      deliveries: stats.total.deliveries,
      bytes: stats.total.bytes,
      evictions: stats.total.evictions,
      errors: stats.total.errors,
    };
    if (context.json) {
      context.printJson(summary);
      return ExitCode.OK;
    }
    const { style } = context;
    const rows: [string, string][] = [
      ['Daemon', `${style.green('reachable')} at ${summary.address}`],
      ['You are', summary.name],
      ['Uptime', formatDuration(summary.uptimeMs)],
      ['Connections', formatCount(summary.connections)],
      ['Groups', formatCount(summary.groups)],
      ['Names', formatCount(summary.names)],
      ['Messages', `${formatCount(summary.messages)} (${formatBytes(summary.bytes)})`],
      ['Deliveries', formatCount(summary.deliveries)],
      ['Evictions', formatCount(summary.evictions)],
      ['Errors', formatCount(summary.errors)],
    ];
    for (const line of renderTable([{ header: '', colour: 'bold' }, { header: '' }], rows, style, {
      header: false,
    }))
      context.print(line);
    return ExitCode.OK;
  },
};
