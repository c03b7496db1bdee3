// The Chorus web monitor: plain modern JS, no framework. Served by chorusd at http://HOST:PORT/
// with the bus token in the URL (?token=...), it connects twice with the SDK's browser bundle:
// a control connection (listGroups, listNames, listConnections, getGroupSchema, NameOwnerChanged)
// and a monitor connection (a copy of every signal, in bus order).
//
// [why] It must stay responsive at 10,000 signals/s, and never slow the bus down. So receiving
// only records: each signal goes into a bounded ring and a per-second counter, with no DOM work.
// Drawing happens in animation frames: at most every `streamRenderMs` for the stream (less often
// when the bus is busy: nobody reads 10,000 rows a second), on a fixed pool of single-line rows
// (cheap to lay out), and once a second for the chart; the detail pane pretty-prints one signal
// or schema. The monitor is a consumer like any other: if the page cannot keep up, the daemon
// evicts it (or the SDK gives up, having held too much unread); the page says so and offers to
// reconnect. It never asks the daemon to wait for it.

import { BusContract, connect } from './chorus-client.js';

const settings = {
  /** Recent signals kept for the stream and its filters (count). */
  maxSignals: 10_000,
  /** Rows drawn in the stream, newest first (count). */
  maxRows: 60,
  /** The stream is redrawn at most this often, inside an animation frame (ms)... */
  streamRenderMs: 100,
  /** ...and at most this often while more than `busyRate` signals arrive per second (ms). */
  busyStreamRenderMs: 300,
  busyRate: 2000,
  /** Seconds the chart spans. */
  chartSeconds: 60,
  /** Groups drawn as lines in the chart, the busiest first (count). */
  maxChartGroups: 8,
  /** The groups table is refreshed this often, and on NameOwnerChanged (ms). */
  groupsRefreshMs: 2000,
  /** Longest payload text drawn in a row (characters); the detail pane shows it all. */
  maxPayloadChars: 300,
};

const palette = ['#4e9af1', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#edc948', '#76b7b2', '#ff9da7'];

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const ui = {
  status: $('status'),
  counters: $('counters'),
  banner: $('banner'),
  bannerText: $('banner-text'),
  reconnect: $('reconnect'),
  groupsInfo: $('groups-info'),
  groupsBody: /** @type {HTMLTableSectionElement} */ ($('groups').querySelector('tbody')),
  chart: /** @type {HTMLCanvasElement} */ ($('chart')),
  legend: $('legend'),
  filterGroup: /** @type {HTMLInputElement} */ ($('filter-group')),
  filterSignal: /** @type {HTMLInputElement} */ ($('filter-signal')),
  filterSender: /** @type {HTMLInputElement} */ ($('filter-sender')),
  pause: $('pause'),
  streamInfo: $('stream-info'),
  streamBody: /** @type {HTMLTableSectionElement} */ ($('stream').querySelector('tbody')),
  detailTitle: $('detail-title'),
  detailText: $('detail-text'),
};

// ---------------------------------------------------------------------------------------------
// The ring of recent signals.
//
//   ring:  [ r5 r6 r7 r2 r3 r4 ]      capacity = settings.maxSignals
//                     ^ next          the slot written next; the newest is just before it
//   size:  how many slots hold a signal (grows to capacity, then the oldest is overwritten)
// ---------------------------------------------------------------------------------------------

/**
 * @typedef {{ seq: number, groupSeq: number, time: number, group: string, signal: string,
 *   sender: string, retained: boolean, payload: unknown, text: string | undefined }} Entry
 */

/** @type {(Entry | undefined)[]} */
const ring = new Array(settings.maxSignals);
let next = 0;
let size = 0;
let received = 0;

function record(message) {
  const { meta } = message;
  /** @type {Entry} */
  const entry = {
    seq: meta.seq,
    groupSeq: meta.groupSeq,
    time: Date.now(),
    group: message.group,
    signal: message.signal,
    sender: meta.sender,
    retained: meta.retained,
    payload: message.payload,
    text: undefined,
  };
  ring[next] = entry;
  next = (next + 1) % ring.length;
  if (size < ring.length) size++;
  received++;
  rates.count(entry.group, entry.time);
  if (!groups.known.has(entry.group)) groups.refreshSoon();
  streamDirty = true;
  requestFrame();
}

/** Newest first: the entry `back` places before the newest. */
function nthNewest(back) {
  return ring[(next - 1 - back + ring.length * 2) % ring.length];
}

// ---------------------------------------------------------------------------------------------
// Signals per second, per group: one counter per second and group over the last chartSeconds.
// ---------------------------------------------------------------------------------------------

const rates = {
  /** @type {Map<string, Float64Array>} group → counts, indexed by second % chartSeconds */
  perGroup: new Map(),
  /** The second (Date.now() / 1000, floored) the newest counters are for. */
  second: Math.floor(Date.now() / 1000),

  count(group, time) {
    const second = Math.floor(time / 1000);
    if (second !== this.second) this.advance(second);
    let counts = this.perGroup.get(group);
    if (counts === undefined) {
      counts = new Float64Array(settings.chartSeconds);
      this.perGroup.set(group, counts);
    }
    counts[second % settings.chartSeconds]++;
  },

  /** Moves to `second`, zeroing the slots of the seconds in between; forgets silent groups. */
  advance(second) {
    if (second <= this.second) return;
    const steps = Math.min(second - this.second, settings.chartSeconds);
    for (const [group, counts] of this.perGroup) {
      for (let i = 1; i <= steps; i++) counts[(this.second + i) % settings.chartSeconds] = 0;
      if (counts.every((c) => c === 0)) this.perGroup.delete(group);
    }
    this.second = second;
  },

  /** The last complete second's count of a group. */
  lastSecond(group) {
    const counts = this.perGroup.get(group);
    return counts === undefined
      ? 0
      : counts[(this.second - 1 + settings.chartSeconds) % settings.chartSeconds];
  },

  total() {
    let sum = 0;
    for (const group of this.perGroup.keys()) sum += this.lastSecond(group);
    return sum;
  },
};

// ---------------------------------------------------------------------------------------------
// Connections.
// ---------------------------------------------------------------------------------------------

const token = new URL(location.href).searchParams.get('token') ?? undefined;
const address = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
/** The current attempt; a reconnect starts a new one and the old one's callbacks stand down. */
let session = 0;
/** @type {import('./chorus-client.js').Bus | undefined} */
let control;
/** @type {import('./chorus-client.js').Bus | undefined} */
let watcher;

async function start() {
  const mine = ++session;
  await stop();
  showBanner(undefined);
  setStatus('connecting', 'connecting…');
  if (token === undefined) {
    setStatus('error', 'no token');
    showBanner('This page needs the bus token in its URL: open the address chorusd logged (…/?token=…).');
    ui.reconnect.hidden = true;
    return;
  }
  // No automatic reconnect: a monitor that was evicted or lost says so, and the person decides
  // (the Reconnect button); both connections then start over together.
  const attempts = await Promise.allSettled([
    connect({ address, token, client: 'web-monitor', reconnect: false }),
    connect({ address, token, client: 'web-monitor (stream)', monitor: true, reconnect: false }),
  ]);
  const failed = attempts.find((a) => a.status === 'rejected');
  if (mine !== session || failed !== undefined) {
    for (const a of attempts) if (a.status === 'fulfilled') void a.value.close();
    if (mine !== session) return;
    setStatus('error', 'not connected');
    showBanner(
      `Cannot connect to ${address}: ${describe(failed.reason)}. Is chorusd running, and is the token right?`,
    );
    return;
  }
  control = attempts[0].value;
  watcher = attempts[1].value;
  setStatus('connected', `connected as ${control.name}, monitor ${watcher.name}`);
  void control.closed.then((error) => lost(mine, 'control connection', error));
  void watcher.closed.then((error) => lost(mine, 'monitor', error));
  void consume(mine, watcher);
  void watchNames(mine, control);
  void groups.refresh();
}

async function stop() {
  const buses = [control, watcher];
  control = undefined;
  watcher = undefined;
  await Promise.all(buses.map((bus) => bus?.close().catch(() => undefined)));
}

async function consume(mine, bus) {
  const monitor = bus.monitor;
  if (monitor === undefined) return;
  try {
    for await (const message of monitor) {
      if (mine !== session) break;
      record(message);
    }
  } catch {
    // The end is reported through bus.closed.
  }
}

async function watchNames(mine, bus) {
  try {
    const names = await bus.join(BusContract, { filter: { signal: 'NameOwnerChanged' } });
    names.on('NameOwnerChanged', () => {
      if (mine === session) groups.refreshSoon();
    });
  } catch {
    // Without it the periodic refresh still shows name changes, a little later.
  }
}

function lost(mine, which, error) {
  if (mine !== session) return;
  // A closed bus is expected only from stop(); anything else is the daemon's doing. This attempt
  // is over: the other connection's end (closed by stop() below) is not news.
  session++;
  const code = error?.code;
  let text;
  if (code === 'SLOW_CONSUMER') {
    text = `The daemon evicted this ${which}: it fell behind (SLOW_CONSUMER). The bus was never slowed down for it.`;
  } else if (/fell behind/.test(`${error?.message} ${error?.cause?.message}`)) {
    text = `This page fell behind the bus and gave up its ${which} (${describe(error)}).`;
  } else {
    text = `The ${which} was closed: ${error === undefined ? 'by the daemon' : describe(error)}.`;
  }
  setStatus('error', code === 'SLOW_CONSUMER' ? 'evicted' : 'disconnected');
  showBanner(text);
  void stop();
}

function describe(error) {
  if (error === undefined || error === null) return 'unknown error';
  const code = error.code === undefined ? '' : `${error.code}: `;
  const cause = error.cause?.message === undefined ? '' : ` (${error.cause.message})`;
  return `${code}${error.message ?? String(error)}${cause}`;
}

function setStatus(state, text) {
  ui.status.dataset.state = state;
  ui.status.textContent = text;
}

function showBanner(text) {
  ui.banner.hidden = text === undefined;
  ui.bannerText.textContent = text ?? '';
}

// ---------------------------------------------------------------------------------------------
// Groups: listGroups + listNames + listConnections, refreshed periodically and on changes.
// ---------------------------------------------------------------------------------------------

const groups = {
  /** @type {Set<string>} */
  known: new Set(),
  refreshing: false,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  soon: undefined,
  /** @type {Map<string, HTMLTableRowElement>} */
  rows: new Map(),

  refreshSoon() {
    if (this.soon !== undefined) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.refresh();
    }, 150);
  },

  async refresh() {
    const bus = control;
    if (bus === undefined || this.refreshing) return;
    this.refreshing = true;
    try {
      const [list, names, connections] = await Promise.all([
        bus.listGroups(),
        bus.listNames(),
        bus.listConnections(),
      ]);
      if (bus !== control) return;
      this.render(list, names, connections);
    } catch {
      // The connection's end is reported through bus.closed; a failed refresh is retried.
    } finally {
      this.refreshing = false;
    }
  },

  render(list, names, connections) {
    rates.advance(Math.floor(Date.now() / 1000));
    /** @type {Map<string, string[]>} unique name → well-known names it owns */
    const owned = new Map();
    for (const { name, owner } of names) owned.set(owner, [...(owned.get(owner) ?? []), name]);
    /** @type {Map<string, string[]>} group → members' unique names */
    const members = new Map();
    /** @type {Map<string, string>} unique name → the process behind it (kernel) and what it says */
    const who = new Map();
    for (const connection of connections) {
      for (const group of connection.groups)
        members.set(group, [...(members.get(group) ?? []), connection.name]);
      who.set(connection.name, describeWho(connection));
    }
    list.sort((a, b) => a.name.localeCompare(b.name));
    this.known = new Set(list.map((g) => g.name));
    for (const [name, row] of this.rows) {
      if (!this.known.has(name)) {
        row.remove();
        this.rows.delete(name);
      }
    }
    let before = null;
    for (let i = list.length - 1; i >= 0; i--) {
      const group = list[i];
      let row = this.rows.get(group.name);
      if (row === undefined) {
        row = makeGroupRow(group.name);
        this.rows.set(group.name, row);
      }
      fillGroupRow(row, group, owned.get(group.owner) ?? [], members.get(group.name) ?? [], who);
      if (row.nextSibling !== before || row.parentNode !== ui.groupsBody)
        ui.groupsBody.insertBefore(row, before);
      before = row;
    }
    ui.groupsInfo.textContent = `${list.length} on the bus · updated ${new Date().toLocaleTimeString()}`;
  },

  /** Fills the rate column from the counters (once a second, with the chart). */
  updateRates() {
    for (const [name, row] of this.rows) setText(row.cells[5], formatRate(rates.lastSecond(name)));
  },
};

function makeGroupRow(name) {
  const row = document.createElement('tr');
  row.dataset.group = name;
  for (let i = 0; i < 7; i++) row.insertCell();
  row.cells[4].className = 'num';
  row.cells[5].className = 'num';
  const link = document.createElement('button');
  link.type = 'button';
  link.className = 'link name';
  link.title = 'Show only this group in the stream';
  link.textContent = name;
  link.addEventListener('click', () => {
    ui.filterGroup.value = ui.filterGroup.value === name ? '' : name;
    onFilter();
  });
  row.cells[0].append(link);
  const schema = document.createElement('button');
  schema.type = 'button';
  schema.className = 'link schema';
  schema.addEventListener('click', () => void showSchema(name));
  row.cells[6].append(schema);
  return row;
}

/** The whole schema of a group, in the detail pane: fetched when asked for (the table shows its outline). */
async function showSchema(name) {
  const bus = control;
  if (bus === undefined) return;
  selected = undefined;
  for (const slot of pool) slot.row.classList.remove('selected');
  showDetail(`Schema of ${name}`, 'loading…');
  try {
    const schema = await bus.getGroupSchema(name);
    showDetail(
      `Schema of ${name}`,
      schema === null || schema === undefined ? 'no schema published' : pretty(schema),
    );
  } catch (error) {
    showDetail(`Schema of ${name}`, describe(error));
  }
}

function showDetail(title, text) {
  ui.detailTitle.textContent = title;
  ui.detailText.textContent = text;
}

function fillGroupRow(row, group, ownerNames, memberNames, who) {
  const owner = ownerNames.length === 0 ? group.owner : `${group.owner} (${ownerNames.join(', ')})`;
  const ownerWho = who.get(group.owner);
  setText(row.cells[1], ownerWho === undefined ? owner : `${owner} · ${ownerWho.split(' · ')[0]}`);
  row.cells[1].title = ownerWho === undefined ? owner : `${owner}\n${ownerWho}`;
  const shown = memberNames.slice(0, 3).join(', ');
  const more = memberNames.length > 3 ? ` +${memberNames.length - 3}` : '';
  setText(row.cells[2], group.members === 0 ? '0' : `${group.members}: ${shown}${more}`);
  row.cells[2].title = memberNames.map((name) => `${name} ${who.get(name) ?? ''}`.trim()).join('\n');
  // Flags that are off say nothing: `emitters=anyone retain` reads better than every default.
  const options = Object.entries(group.options ?? {})
    .filter(([, value]) => value !== false && value !== undefined)
    .map(([key, value]) => (value === true ? key : `${key}=${value}`))
    .join(' ');
  setText(row.cells[3], options);
  row.cells[3].title = options;
  setText(row.cells[4], String(group.seq));
  setText(row.cells[5], formatRate(rates.lastSecond(group.name)));
  const schema = /** @type {HTMLElement} */ (row.cells[6].firstChild);
  setText(schema, outline(group.schema));
  schema.title = `${schema.textContent}\n(click: the whole schema)`;
}

/**
 * Who a connection is: `pid 123 · node app.mjs` from the kernel (Unix socket), a WebSocket's remote
 * address, and the name it gave itself, marked as what it says (not verified).
 */
function describeWho(connection) {
  const parts = [];
  if (typeof connection.pid === 'number') parts.push(`pid ${connection.pid}`);
  if (typeof connection.command === 'string') parts.push(connection.command);
  else if (typeof connection.remote === 'string') parts.push(connection.remote);
  if (typeof connection.client === 'string') parts.push(`says it is ${connection.client}`);
  return parts.length === 0 ? undefined : parts.join(' · ');
}

/** A schema's outline: `Signal(field, data: bytes) · Method()`. */
function outline(schema) {
  const properties = schema?.properties;
  // Bytes fields are marked by the SDK (`x-chorus-bytes`, see packages/protocol/README.md §13).
  const field = ([name, s]) => (s?.['x-chorus-bytes'] === true ? `${name}: bytes` : name);
  const fields = (payload) =>
    Object.entries(payload?.properties ?? {})
      .map(field)
      .join(', ');
  const signals = Object.entries(properties?.signals?.properties ?? {}).map(
    ([name, s]) => `${name}(${fields(s)})`,
  );
  const methods = Object.keys(properties?.methods?.properties ?? {}).map((name) => `${name}()`);
  const all = [...signals, ...methods];
  return all.length === 0 ? (schema === null || schema === undefined ? 'none' : 'schema') : all.join(' · ');
}

// ---------------------------------------------------------------------------------------------
// The stream: a fixed pool of rows, refilled from the ring in animation frames.
// ---------------------------------------------------------------------------------------------

let streamDirty = false;
let lastStreamRender = 0;
/** @type {Entry[] | undefined} the signals frozen by Pause, newest first */
let frozen;
let receivedAtPause = 0;
/** @type {Entry | undefined} */
let selected;
const filter = { group: '', signal: '', sender: '' };

/** @type {{ row: HTMLTableRowElement, entry: Entry | undefined }[]} */
const pool = [];
for (let i = 0; i < settings.maxRows; i++) {
  const row = ui.streamBody.insertRow();
  for (let c = 0; c < 6; c++) row.insertCell();
  row.cells[0].className = 'num';
  row.cells[5].className = 'payload';
  row.hidden = true;
  const slot = { row, entry: /** @type {Entry | undefined} */ (undefined) };
  row.addEventListener('click', () => select(slot.entry));
  pool.push(slot);
}

function matches(entry) {
  return (
    (filter.group === '' || entry.group.toLowerCase().includes(filter.group)) &&
    (filter.signal === '' || entry.signal.toLowerCase().includes(filter.signal)) &&
    (filter.sender === '' || entry.sender.toLowerCase().includes(filter.sender))
  );
}

function renderStream() {
  streamDirty = false;
  const available = frozen === undefined ? size : frozen.length;
  let shown = 0;
  let scanned = 0;
  for (; scanned < available && shown < pool.length; scanned++) {
    const entry = frozen === undefined ? nthNewest(scanned) : frozen[scanned];
    if (entry === undefined || !matches(entry)) continue;
    const slot = pool[shown++];
    if (slot.entry === entry) continue;
    slot.entry = entry;
    const { cells } = slot.row;
    cells[0].textContent = String(entry.seq);
    cells[1].textContent = formatTime(entry.time);
    cells[2].textContent = entry.group;
    cells[3].textContent = entry.retained ? `${entry.signal} (retained)` : entry.signal;
    cells[4].textContent = entry.sender;
    entry.text ??= truncate(inline(entry.payload), settings.maxPayloadChars);
    cells[5].textContent = entry.text;
    slot.row.classList.toggle('selected', entry === selected);
    slot.row.hidden = false;
  }
  for (let i = shown; i < pool.length; i++) {
    if (pool[i].entry === undefined) continue;
    pool[i].entry = undefined;
    pool[i].row.hidden = true;
  }
  const filtered = filter.group !== '' || filter.signal !== '' || filter.sender !== '';
  const what = filtered
    ? `${shown} matching of the last ${available} kept`
    : `newest ${shown} of ${available} kept`;
  const paused = frozen === undefined ? '' : ` · paused: ${received - receivedAtPause} new since`;
  ui.streamInfo.textContent = `${what}${paused}`;
  updateCounters();
}

function select(entry) {
  if (entry === undefined) return;
  selected = entry;
  for (const slot of pool) slot.row.classList.toggle('selected', slot.entry === entry);
  showDetail(
    `Signal ${entry.seq}`,
    [
      `seq ${entry.seq} (group seq ${entry.groupSeq})${entry.retained ? ', retained' : ''}`,
      `${entry.group} ${entry.signal}`,
      `from ${entry.sender} at ${formatTime(entry.time)}`,
      '',
      pretty(entry.payload),
    ].join('\n'),
  );
}

function togglePause() {
  if (frozen === undefined) {
    frozen = [];
    for (let i = 0; i < size; i++) frozen.push(/** @type {Entry} */ (nthNewest(i)));
    receivedAtPause = received;
  } else {
    frozen = undefined;
  }
  ui.pause.textContent = frozen === undefined ? 'Pause' : 'Resume';
  ui.pause.setAttribute('aria-pressed', String(frozen !== undefined));
  streamDirty = true;
  requestFrame();
}

function onFilter() {
  filter.group = ui.filterGroup.value.trim().toLowerCase();
  filter.signal = ui.filterSignal.value.trim().toLowerCase();
  filter.sender = ui.filterSender.value.trim().toLowerCase();
  streamDirty = true;
  lastStreamRender = 0; // a filter change is drawn at once
  requestFrame();
}

// ---------------------------------------------------------------------------------------------
// The chart: one line per busy group, redrawn when a second completes.
// ---------------------------------------------------------------------------------------------

let chartSecond = 0;
/** @type {Map<string, string>} group → colour, kept while the group is drawn */
const colours = new Map();

function drawChart() {
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
  if (ctx === null || width === 0) return;
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
  groups.updateRates();
  updateCounters();
}

function updateCounters() {
  setText(ui.counters, `${formatRate(rates.total())} signals/s · ${received.toLocaleString()} seen`);
}

/** The top of the y axis: four gridline steps of 1, 2, 2.5 or 5 × 10^n that reach `value`. */
function niceMax(value) {
  if (value <= 4) return 4;
  const quarter = value / 4;
  const magnitude = 10 ** Math.floor(Math.log10(quarter));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= quarter) ?? 10 * magnitude;
  return 4 * step;
}

// ---------------------------------------------------------------------------------------------
// Frames.
// ---------------------------------------------------------------------------------------------

let frameRequested = false;

function requestFrame() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(frame);
}

function frame(now) {
  frameRequested = false;
  if (Math.floor(Date.now() / 1000) !== chartSecond) drawChart();
  if (streamDirty) {
    const busy = rates.total() > settings.busyRate;
    if (now - lastStreamRender >= (busy ? settings.busyStreamRenderMs : settings.streamRenderMs)) {
      lastStreamRender = now;
      renderStream();
    } else {
      requestFrame(); // not yet: look again next frame
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting.
// ---------------------------------------------------------------------------------------------

/** JSON with 2-space indentation; MessagePack's extra types shown readably. */
function pretty(value) {
  try {
    return JSON.stringify(value, readable, 2) ?? String(value);
  } catch (error) {
    return `<cannot show: ${error}>`;
  }
}

/** The same on one line, spaced as people write it: `{ "city": "Lyon", "tags": [1, 2] }`. */
function inline(value) {
  try {
    const text = JSON.stringify(value, readable, 1);
    if (text === undefined) return String(value);
    // Indented, then each line break and its indentation folded into one space: a JSON string
    // cannot contain a raw line break, so only the layout is touched.
    return text.replace(/\n */g, ' ');
  } catch (error) {
    return `<cannot show: ${error}>`;
  }
}

function readable(_key, v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `<${v.byteLength} bytes: ${hex(v)}>`;
  if (v instanceof Map) return Object.fromEntries(v);
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

function hex(bytes) {
  const shown = Array.from(bytes.subarray(0, 24), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.byteLength > 24 ? `${shown} …` : shown;
}

function truncate(text, max) {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function formatTime(time) {
  const date = new Date(time);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function formatRate(value) {
  if (value >= 10_000) return `${(value / 1000).toFixed(0)}k`;
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k`;
  return String(Math.round(value));
}

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

// ---------------------------------------------------------------------------------------------

ui.pause.addEventListener('click', togglePause);
ui.reconnect.addEventListener('click', () => void start());
for (const input of [ui.filterGroup, ui.filterSignal, ui.filterSender])
  input.addEventListener('input', onFilter);
document.addEventListener('keydown', (event) => {
  if (event.key === ' ' && event.target === document.body) {
    event.preventDefault();
    togglePause();
  }
});
// The chart scrolls and the groups refresh even when no signal arrives.
setInterval(requestFrame, 1000);
setInterval(() => void groups.refresh(), settings.groupsRefreshMs);
window.addEventListener('resize', () => {
  chartSecond = 0;
  requestFrame();
});

void start();
