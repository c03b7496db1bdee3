// The groups table: listGroups + listNames + listConnections, refreshed periodically and on
// changes (a new group's first signal, NameOwnerChanged); a group's schema on demand.

import { controlBus } from './connection.js';
import { describe, formatRate, pretty } from './format.js';
import { setText, showDetail, ui } from './page.js';
import { rates } from './rates.js';
import { deselect, onFilter } from './stream.js';

export const groups = {
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
    const bus = controlBus();
    if (bus === undefined || this.refreshing) return;
    this.refreshing = true;
    try {
      const [list, names, connections] = await Promise.all([
        bus.listGroups(),
        bus.listNames(),
        bus.listConnections(),
      ]);
      if (bus !== controlBus()) return;
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
  const bus = controlBus();
  if (bus === undefined) return;
  deselect();
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
  // `validate` is on by default: only its absence is news.
  const { validate, ...flags } = group.options ?? {};
  const options = Object.entries(flags)
    .filter(([, value]) => value !== false && value !== undefined)
    .map(([key, value]) => (value === true ? key : `${key}=${value}`))
    .concat(validate === false ? ['validate=off'] : [])
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
