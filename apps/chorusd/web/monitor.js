// The Chorus web monitor: plain modern JS, no framework. Served by chorusd at http://HOST:PORT/
// with the bus token in the URL (?token=...), it connects twice with the SDK's browser bundle
// (connection.js): a control connection for the groups table (groups.js) and a monitor connection
// (a copy of every signal, in bus order) for the stream (stream.js) and the chart (chart.js).
//
// [why] It must stay responsive at 10,000 signals/s, and never slow the bus down. So receiving
// only records: each signal goes into a bounded ring (recent.js) and a per-second counter
// (rates.js), with no DOM work. Drawing happens in animation frames: at most every
// `streamRenderMs` for the stream (less often when the bus is busy: nobody reads 10,000 rows a
// second), on a fixed pool of single-line rows (cheap to lay out), and once a second for the
// chart; the detail pane pretty-prints one signal or schema. The monitor is a consumer like any
// other: if the page cannot keep up, the daemon evicts it (or the SDK gives up, having held too
// much unread); the page says so and offers to reconnect. It never asks the daemon to wait for it.
//
// This file wires the parts together: what receiving does, what a frame does, the page's events.

import { chartDue, drawChart, invalidateChart } from './chart.js';
import { listen, start } from './connection.js';
import { formatRate } from './format.js';
import { onFrame, requestFrame } from './frames.js';
import { groups } from './groups.js';
import { setText, ui } from './page.js';
import { rates } from './rates.js';
import { recent } from './recent.js';
import { settings } from './settings.js';
import { onFilter, renderStream, stream, togglePause } from './stream.js';

/** Receiving: records the signal, and at most asks for a frame. */
function record(message) {
  const { meta } = message;
  /** @type {import('./recent.js').Entry} */
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
  recent.add(entry);
  rates.count(entry.group, entry.time);
  if (!groups.known.has(entry.group)) groups.refreshSoon();
  stream.dirty = true;
  requestFrame();
}

/** Drawing: the chart when a second completed, the stream when it changed and its time came. */
function frame(now) {
  if (chartDue() && drawChart()) {
    groups.updateRates();
    updateCounters();
  }
  if (stream.dirty) {
    const busy = rates.total() > settings.busyRate;
    if (now - stream.lastRender >= (busy ? settings.busyStreamRenderMs : settings.streamRenderMs)) {
      stream.lastRender = now;
      renderStream();
      updateCounters();
    } else {
      requestFrame(); // not yet: look again next frame
    }
  }
}

function updateCounters() {
  setText(ui.counters, `${formatRate(rates.total())} signals/s · ${recent.received.toLocaleString()} seen`);
}

listen({
  signal: record,
  namesChanged: () => groups.refreshSoon(),
  connected: () => void groups.refresh(),
});
onFrame(frame);
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
  invalidateChart();
  requestFrame();
});

void start();
