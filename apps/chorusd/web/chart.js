// The chart: signals per second of the busiest groups over the last chartSeconds, one line per
// group, redrawn when a second completes.

import { formatRate } from './format.js';
import { ui } from './page.js';
import { rates } from './rates.js';
import { settings } from './settings.js';

const palette = ['#4e9af1', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#edc948', '#76b7b2', '#ff9da7'];

let chartSecond = 0;
/** @type {Map<string, string>} group → colour, kept while the group is drawn */
const colours = new Map();

/** Whether a second completed since the chart was drawn. */
export function chartDue() {
  return Math.floor(Date.now() / 1000) !== chartSecond;
}

/** Draws the chart at the next frame even if no second completed (the canvas was resized). */
export function invalidateChart() {
  chartSecond = 0;
}

/** Draws the last chartSeconds and the legend; false if the canvas cannot be drawn on (hidden). */
export function drawChart() {
  rates.advance(Math.floor(Date.now() / 1000));
  chartSecond = rates.second;
  const canvas = ui.chart;
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d');
  if (ctx === null || width === 0) return false;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);

  // Complete seconds only, oldest first: the current one is still counting.
  const n = settings.chartSeconds - 1;
  const series = [];
  for (const [group, counts] of rates.perGroup) {
    const values = new Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const v = counts[(rates.second - n + i + settings.chartSeconds) % settings.chartSeconds];
      values[i] = v;
      sum += v;
    }
    if (sum > 0) series.push({ group, values, sum });
  }
  series.sort((a, b) => b.sum - a.sum);
  const drawn = series.slice(0, settings.maxChartGroups);
  for (const group of colours.keys()) if (!drawn.some((s) => s.group === group)) colours.delete(group);
  for (const s of drawn) {
    if (!colours.has(s.group)) {
      const used = new Set(colours.values());
      colours.set(s.group, palette.find((c) => !used.has(c)) ?? palette[0]);
    }
  }

  const left = 52;
  const bottom = 20;
  const top = 8;
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  let max = 0;
  for (const s of drawn) for (const v of s.values) max = Math.max(max, v);
  const scale = niceMax(max);
  const style = getComputedStyle(document.body);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = style.getPropertyValue('--muted').trim() || '#888';
  ctx.strokeStyle = style.getPropertyValue('--grid').trim() || '#333';
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y) + 0.5);
    ctx.lineTo(left + plotW, Math.round(y) + 0.5);
    ctx.stroke();
    ctx.fillText(formatRate((scale * i) / 4), left - 6, y);
  }
  ctx.textBaseline = 'top';
  for (const ago of [60, 45, 30, 15, 0]) {
    const x = left + plotW - (plotW * ago) / settings.chartSeconds;
    ctx.textAlign = ago === 0 ? 'right' : ago === 60 ? 'left' : 'center';
    ctx.fillText(ago === 0 ? 'now' : `-${ago}s`, x, top + plotH + 5);
  }
  ctx.lineWidth = 1.75;
  ctx.lineJoin = 'round';
  for (const s of drawn) {
    ctx.strokeStyle = colours.get(s.group) ?? palette[0];
    ctx.beginPath();
    s.values.forEach((v, i) => {
      const x = left + plotW - (plotW * (n - i)) / settings.chartSeconds;
      const y = top + plotH - (plotH * v) / scale;
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }

  const items = drawn.map((s) => {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = colours.get(s.group) ?? palette[0];
    item.append(swatch, `${s.group} `);
    const rate = document.createElement('b');
    rate.textContent = `${formatRate(s.values[n - 1])}/s`;
    item.append(rate);
    return item;
  });
  if (series.length > drawn.length) {
    const item = document.createElement('li');
    item.textContent = `+${series.length - drawn.length} quieter groups`;
    items.push(item);
  }
  if (items.length === 0) {
    const item = document.createElement('li');
    item.textContent = 'no signals in the last minute';
    items.push(item);
  }
  ui.legend.replaceChildren(...items);
  return true;
}

/** The top of the y axis: four gridline steps of 1, 2, 2.5 or 5 × 10^n that reach `value`. */
function niceMax(value) {
  if (value <= 4) return 4;
  const quarter = value / 4;
  const magnitude = 10 ** Math.floor(Math.log10(quarter));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= quarter) ?? 10 * magnitude;
  return 4 * step;
}
