// The page's two connections to the bus, made with the SDK's browser bundle: a control connection
// (listGroups, listNames, listConnections, getGroupSchema, NameOwnerChanged) and a monitor
// connection (a copy of every signal, in bus order). No automatic reconnect: a monitor that was
// evicted or lost says so, and the person decides (the Reconnect button).

import { BusContract, connect } from './chorus-client.js';
import { describe } from './format.js';
import { setStatus, showBanner, ui } from './page.js';

const token = new URL(location.href).searchParams.get('token') ?? undefined;
const address = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
/** The current attempt; a reconnect starts a new one and the old one's callbacks stand down. */
let session = 0;
/** @type {import('./chorus-client.js').Bus | undefined} */
let control;
/** @type {import('./chorus-client.js').Bus | undefined} */
let watcher;

/** What the rest of the page hears from the connections; set once, by the page's entry. */
const listeners = {
  /** A signal from the monitor connection. @type {(message: any) => void} */
  signal: () => undefined,
  /** A well-known name changed owner. @type {() => void} */
  namesChanged: () => undefined,
  /** Both connections are up. @type {() => void} */
  connected: () => undefined,
};

/** @param {Partial<typeof listeners>} callbacks */
export function listen(callbacks) {
  Object.assign(listeners, callbacks);
}

/** The control connection, if connected. */
export function controlBus() {
  return control;
}

/** Connects both connections, closing any previous ones first. */
export async function start() {
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
  // Both connections start over together.
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
  listeners.connected();
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
      listeners.signal(message);
    }
  } catch {
    // The end is reported through bus.closed.
  }
}

async function watchNames(mine, bus) {
  try {
    const names = await bus.join(BusContract, { filter: { signal: 'NameOwnerChanged' } });
    names.on('NameOwnerChanged', () => {
      if (mine === session) listeners.namesChanged();
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
