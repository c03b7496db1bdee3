/*
 * The results as a markdown table: one column per system, then Chorus as a ratio to the raw
 * broker and to the best peer, then the issue's target where there is one.
 */

import type { Row, RunReport, Target } from './results.js';
import { servers } from './systems/index.js';
import type { SystemId } from './systems/system.js';

export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '—';
  if (unit === '/s' || unit === 'ops/s') {
    if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
    if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
    return value.toFixed(0);
  }
  if (unit === 'ms') return value >= 10 ? value.toFixed(1) : value.toFixed(3);
  if (unit === 'µs' || unit === 'KiB') return value >= 100 ? value.toFixed(0) : value.toFixed(2);
  return value.toPrecision(3);
}

/** The best peer's figure in a row (peers only; failed verifications are not figures). */
export function bestPeer(row: Row): { id: SystemId; value: number } | undefined {
  let best: { id: SystemId; value: number } | undefined;
  for (const server of servers) {
    if (!server.peer) continue;
    const value = row.values[server.id];
    if (value === undefined) continue;
    if (best === undefined || (row.better === 'higher' ? value > best.value : value < best.value)) {
      best = { id: server.id, value };
    }
  }
  return best;
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0) return '—';
  return `${(a / b).toFixed(2)}×`;
}

/** Sets the issue's targets on the rows they apply to. */
export function applyTargets(rows: Row[]): void {
  for (const row of rows) {
    const chorus = row.values.chorus;
    if (chorus === undefined) continue;
    const raw = row.values.raw;
    const peer = bestPeer(row);
    if (row.workload === 'fan-out' && /^N=(10|50), (64 B|1 KiB)$/.test(row.case)) {
      const parts: string[] = [];
      let met = true;
      if (raw !== undefined) {
        met &&= chorus >= 0.5 * raw;
        parts.push(`${(chorus / raw).toFixed(2)}× raw (goal ≥ 0.5×)`);
      }
      if (peer !== undefined) {
        met &&= chorus >= peer.value;
        parts.push(`${(chorus / peer.value).toFixed(2)}× best peer (goal ≥ 1×)`);
      } else {
        parts.push('peers not run');
      }
      row.target = { goal: '≥ best peer, ≥ 0.5× raw', met, detail: parts.join(', ') };
    } else if (row.workload === 'latency' && row.metric === 'p50' && raw !== undefined) {
      row.target = {
        goal: '≤ 1.5× raw',
        met: chorus <= 1.5 * raw,
        detail: `${(chorus / raw).toFixed(2)}× raw`,
      };
    } else if (row.workload === 'latency' && row.metric === 'p99' && peer !== undefined) {
      // Without --peers there is nothing to compare with: no verdict rather than a false one.
      row.target = {
        goal: '≤ best peer',
        met: chorus <= peer.value,
        detail: `${(chorus / peer.value).toFixed(2)}× best peer`,
      };
    } else if (row.workload === 'method calls') {
      // Issue 17: at least NATS request/reply, at least twice D-Bus method calls.
      const nats = row.values.nats;
      const dbus = row.values.dbus;
      if (nats === undefined && dbus === undefined) continue;
      const parts: string[] = [];
      let met = true;
      if (nats !== undefined) {
        met &&= chorus >= nats;
        parts.push(`${(chorus / nats).toFixed(2)}× NATS (goal ≥ 1×)`);
      }
      if (dbus !== undefined) {
        met &&= chorus >= 2 * dbus;
        parts.push(`${(chorus / dbus).toFixed(2)}× D-Bus (goal ≥ 2×)`);
      }
      row.target = { goal: '≥ NATS, ≥ 2× D-Bus', met, detail: parts.join(', ') };
    }
  }
}

function targetCell(target: Target | undefined): string {
  if (target === undefined) return '';
  return `${target.met ? '✅' : '❌'} ${target.goal}: ${target.detail}`;
}

export function markdownTable(report: RunReport): string {
  const shown = servers.filter((s) =>
    report.rows.some((r) => r.values[s.id] !== undefined || r.notes[s.id] !== undefined),
  );
  const header = [
    'workload',
    'case',
    'figure',
    ...shown.map((s) => s.label),
    'Chorus ÷ raw',
    'Chorus ÷ best peer',
    'target',
  ];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i < 3 ? '---' : i < 3 + shown.length + 2 ? '---:' : '---')).join(' | ')} |`,
  ];
  const footnotes: string[] = [];
  for (const row of report.rows) {
    const cells = shown.map((s) => {
      const value = row.values[s.id];
      const note = row.notes[s.id];
      if (value === undefined) {
        if (note === undefined) return '';
        footnotes.push(`${s.label}, ${row.workload} ${row.case} ${row.metric}: ${note}`);
        return note.startsWith('skipped') ? 'skipped' : `✗[${footnotes.length}]`;
      }
      let text = formatValue(value, row.unit);
      const extra = row.extra?.values[s.id];
      if (extra !== undefined) text += ` (${extra.toFixed(extra >= 100 ? 0 : 1)} ${row.extra?.unit ?? ''})`;
      const spread = row.spread[s.id];
      if (spread !== undefined && spread > 0) text += ` ±${((spread / 2) * 100).toFixed(0)}%`;
      if (note !== undefined) {
        footnotes.push(`${s.label}, ${row.workload} ${row.case} ${row.metric}: ${note}`);
        text += ` [${footnotes.length}]`;
      }
      return text;
    });
    const peer = bestPeer(row);
    const figure = `${row.metric}${row.unit === '/s' || row.unit === '' ? '' : ` (${row.unit})`}`;
    lines.push(
      `| ${[
        row.workload,
        row.case,
        figure,
        ...cells,
        ratio(row.values.chorus, row.values.raw),
        peer === undefined
          ? '—'
          : `${ratio(row.values.chorus, peer.value)} (${servers.find((s) => s.id === peer.id)?.label ?? peer.id})`,
        targetCell(row.target),
      ].join(' | ')} |`,
    );
  }
  const notes = footnotes.map((note, index) => `${index + 1}. ${note}`);
  return [...lines, ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}

export function markdownReport(report: RunReport): string {
  const m = report.machine;
  const versions = Object.entries(report.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  const skipped = Object.entries(report.skipped).map(([name, why]) => `- ${name}: ${why}`);
  return [
    `## Chorus bench, ${report.mode} run, ${report.startedAt} (${report.seconds.toFixed(0)} s)`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB.toFixed(0)} GiB, Linux ${m.kernel}, Node ${m.node}, load average at start ${m.load.map((l) => l.toFixed(2)).join(' ')}.`,
    '',
    `Versions: ${versions}.`,
    '',
    'Throughput is the median of the repeats (± half the spread between the fastest and slowest); ratios are Chorus ÷ the other figure, so above 1 is better for throughput and below 1 is better for latency, memory and cost.',
    '',
    markdownTable(report),
    ...(skipped.length > 0 ? ['', 'Not run:', ...skipped] : []),
    ...(report.notes.length > 0 ? ['', ...report.notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}
