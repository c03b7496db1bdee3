/*
 * The SVG chart of fan-out deliveries/s against N, one panel per payload size, one line per
 * system, on a log scale (the systems differ by orders of magnitude). Written as text.
 */

import type { Row } from './results.js';
import { servers } from './systems/index.js';

const COLORS: Record<string, string> = {
  chorus: '#d62728',
  raw: '#555555',
  nats: '#1f77b4',
  redis: '#ff7f0e',
  mqtt: '#2ca02c',
  dbus: '#9467bd',
};

const PANEL_W = 360;
const PANEL_H = 260;
const MARGIN = { left: 78, right: 16, top: 40, bottom: 44 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function label(value: number): string {
  if (value >= 1e6) return `${value / 1e6}M`;
  if (value >= 1e3) return `${value / 1e3}k`;
  return String(value);
}

export function fanOutChart(rows: readonly Row[], title: string): string | undefined {
  const fanOut = rows.filter((r) => r.workload === 'fan-out');
  const parsed = fanOut.map((row) => {
    const match = /^N=(\d+), (.+)$/.exec(row.case);
    return { row, n: Number(match?.[1]), size: match?.[2] ?? '' };
  });
  const sizes = [...new Set(parsed.map((p) => p.size))].filter((size) => {
    const ns = new Set(parsed.filter((p) => p.size === size).map((p) => p.n));
    return ns.size >= 2;
  });
  if (sizes.length === 0) return undefined;
  const all = fanOut.flatMap((r) => Object.values(r.values)).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const width = sizes.length * (PANEL_W + MARGIN.left + MARGIN.right);
  const legendH = 28;
  const height = PANEL_H + MARGIN.top + MARGIN.bottom + legendH + 24;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  const systems = servers.filter((s) => fanOut.some((r) => r.values[s.id] !== undefined));
  sizes.forEach((size, panel) => {
    const x0 = panel * (PANEL_W + MARGIN.left + MARGIN.right) + MARGIN.left;
    const y0 = MARGIN.top + 12;
    const points = parsed.filter((p) => p.size === size).sort((a, b) => a.n - b.n);
    const ns = points.map((p) => p.n);
    const x = (index: number): number =>
      x0 + (ns.length === 1 ? PANEL_W / 2 : (index * PANEL_W) / (ns.length - 1));
    const y = (value: number): number =>
      y0 + PANEL_H - ((Math.log10(value) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * PANEL_H;
    out.push(
      `<text x="${x0 + PANEL_W / 2}" y="${y0 - 8}" text-anchor="middle" font-weight="bold">${escapeXml(size)} payloads</text>`,
    );
    for (let tick = lo; tick <= hi; tick *= 10) {
      for (const m of [1, 2, 5]) {
        const v = tick * m;
        if (v > hi) break;
        const ty = y(v);
        out.push(
          `<line x1="${x0}" y1="${ty}" x2="${x0 + PANEL_W}" y2="${ty}" stroke="${m === 1 ? '#bbb' : '#eee'}"/>`,
        );
        if (m !== 5)
          out.push(`<text x="${x0 - 6}" y="${ty + 4}" text-anchor="end" fill="#333">${label(v)}</text>`);
      }
    }
    out.push(`<rect x="${x0}" y="${y0}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#333"/>`);
    ns.forEach((n, index) => {
      out.push(`<text x="${x(index)}" y="${y0 + PANEL_H + 18}" text-anchor="middle">N=${n}</text>`);
    });
    out.push(
      `<text x="${x0 + PANEL_W / 2}" y="${y0 + PANEL_H + 36}" text-anchor="middle" fill="#333">subscribers (N)</text>`,
      `<text transform="translate(${x0 - 60} ${y0 + PANEL_H / 2}) rotate(-90)" text-anchor="middle" fill="#333">deliveries/s</text>`,
    );
    for (const system of systems) {
      const coords = points
        .map((p, index) => ({ index, value: p.row.values[system.id] }))
        .filter((p): p is { index: number; value: number } => p.value !== undefined && p.value > 0)
        .map((p) => `${x(p.index).toFixed(1)},${y(p.value).toFixed(1)}`);
      if (coords.length === 0) continue;
      const color = COLORS[system.id] ?? '#000';
      const dash = system.id === 'raw' ? ' stroke-dasharray="5 3"' : '';
      out.push(
        `<polyline points="${coords.join(' ')}" fill="none" stroke="${color}" stroke-width="${system.id === 'chorus' ? 3 : 2}"${dash}/>`,
      );
      for (const c of coords) {
        const [cx, cy] = c.split(',');
        out.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${color}"/>`);
      }
    }
  });
  const legendY = height - 16;
  let lx = MARGIN.left;
  for (const system of systems) {
    const color = COLORS[system.id] ?? '#000';
    out.push(
      `<line x1="${lx}" y1="${legendY - 4}" x2="${lx + 22}" y2="${legendY - 4}" stroke="${color}" stroke-width="3"${system.id === 'raw' ? ' stroke-dasharray="5 3"' : ''}/>`,
      `<text x="${lx + 28}" y="${legendY}">${escapeXml(system.label)}</text>`,
    );
    lx += 40 + system.label.length * 7 + 20;
  }
  out.push('</svg>', '');
  return out.join('\n');
}
