// The stream: a fixed pool of single-line rows (cheap to lay out), refilled from the ring of
// recent signals in animation frames, newest first, through the filters; Pause freezes it.

import { formatTime, inline, pretty, truncate } from './format.js';
import { requestFrame } from './frames.js';
import { showDetail, ui } from './page.js';
import { recent } from './recent.js';
import { settings } from './settings.js';

/** @typedef {import('./recent.js').Entry} Entry */

export const stream = {
  /** Something to draw: a new signal, a filter, Pause. */
  dirty: false,
  /** When it was last drawn (the frame's time, ms). */
  lastRender: 0,
};
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

export function renderStream() {
  stream.dirty = false;
  const available = frozen === undefined ? recent.size : frozen.length;
  let shown = 0;
  let scanned = 0;
  for (; scanned < available && shown < pool.length; scanned++) {
    const entry = frozen === undefined ? recent.nthNewest(scanned) : frozen[scanned];
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
  const paused = frozen === undefined ? '' : ` · paused: ${recent.received - receivedAtPause} new since`;
  ui.streamInfo.textContent = `${what}${paused}`;
}

/** Shows one signal in the detail pane, its row marked. */
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

/** The detail pane shows something else now: no row is marked. */
export function deselect() {
  selected = undefined;
  for (const slot of pool) slot.row.classList.remove('selected');
}

export function togglePause() {
  if (frozen === undefined) {
    frozen = [];
    for (let i = 0; i < recent.size; i++) frozen.push(/** @type {Entry} */ (recent.nthNewest(i)));
    receivedAtPause = recent.received;
  } else {
    frozen = undefined;
  }
  ui.pause.textContent = frozen === undefined ? 'Pause' : 'Resume';
  ui.pause.setAttribute('aria-pressed', String(frozen !== undefined));
  stream.dirty = true;
  requestFrame();
}

/** Reads the filter inputs. */
export function onFilter() {
  filter.group = ui.filterGroup.value.trim().toLowerCase();
  filter.signal = ui.filterSignal.value.trim().toLowerCase();
  filter.sender = ui.filterSender.value.trim().toLowerCase();
  stream.dirty = true;
  stream.lastRender = 0; // a filter change is drawn at once
  requestFrame();
}
