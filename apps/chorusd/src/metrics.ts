import type { Daemon } from './daemon.js';

/** Escapes a Prometheus label value. */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * The stats of `GetStats` in the Prometheus text exposition format, for /metrics, as `identity`
 * (the token's) may see them. Counters are totals since the daemon started.
 */
export function renderMetrics(daemon: Daemon, identity: string): string {
  const stats = daemon.engine.stats();
  const lines: string[] = [];
  const metric = (
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    samples: [string, number][],
  ): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  // [GUARANTEE: access] a group's name, members and traffic only to a token that may monitor it
  // (over ws, where /metrics is served); the totals below name no group.
  const viewer = { identity, transport: 'ws' } as const;
  const perGroup = [...daemon.engine.groups()].filter((g) => daemon.access.allows(viewer, 'monitor', g.name));
  const byGroup = (pick: (g: (typeof perGroup)[number]) => number): [string, number][] =>
    perGroup.map((g) => [`{group="${label(g.name)}"}`, pick(g)]);
  metric(
    'chorus_messages_total',
    'counter',
    'Messages accepted, per group.',
    byGroup((g) => g.stats.messages),
  );
  metric(
    'chorus_deliveries_total',
    'counter',
    'Message deliveries queued, per group.',
    byGroup((g) => g.stats.deliveries),
  );
  metric(
    'chorus_delivered_bytes_total',
    'counter',
    'Bytes queued for delivery, per group.',
    byGroup((g) => g.stats.bytes),
  );
  metric(
    'chorus_group_members',
    'gauge',
    'Members of each group.',
    byGroup((g) => g.members),
  );
  metric('chorus_connections', 'gauge', 'Open connections.', [['', stats.connections]]);
  metric('chorus_groups', 'gauge', 'Groups (without the bus group).', [['', stats.groups]]);
  metric('chorus_names', 'gauge', 'Well-known names with an owner.', [['', stats.names]]);
  metric('chorus_monitors', 'gauge', 'Monitor connections.', [['', stats.monitors]]);
  metric('chorus_blocked_emits', 'gauge', 'Emits waiting for room.', [['', stats.pending]]);
  metric('chorus_pending_calls', 'gauge', 'Method calls waiting for a reply.', [['', daemon.calls.size]]);
  metric('chorus_evictions_total', 'counter', 'Slow consumers evicted.', [['', stats.evictions]]);
  metric('chorus_sequence', 'counter', 'Last bus sequence number assigned.', [['', stats.seq]]);
  const counted = daemon.counters.stats();
  metric('chorus_errors_total', 'counter', 'Errors answered to clients, by kind.', [
    ['{kind="protocol"}', counted.protocolErrors],
    ['{kind="request"}', counted.requestErrors],
    ['{kind="fatal"}', counted.fatalErrors],
  ]);
  metric(
    'chorus_invalid_payloads_total',
    'counter',
    "Emits refused: the payload did not fit the group's contract.",
    [['', counted.invalidPayloads]],
  );
  metric('chorus_connections_total', 'counter', 'Connections accepted and refused.', [
    ['{outcome="accepted"}', counted.accepted],
    ['{outcome="refused"}', counted.refused],
  ]);
  const rejections = daemon.counters.wsRejections();
  metric(
    'chorus_websocket_rejections_total',
    'counter',
    'WebSocket upgrades and /metrics requests refused.',
    [
      ['{reason="token"}', rejections.token],
      ['{reason="origin"}', rejections.origin],
      ['{reason="limit"}', rejections.limit],
    ],
  );
  metric('chorus_uptime_seconds', 'gauge', 'Seconds since the daemon started.', [
    ['', Math.round((Date.now() - daemon.startedAt) / 1000)],
  ]);
  return `${lines.join('\n')}\n`;
}
