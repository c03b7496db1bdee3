/*
 * Why: the web monitor is a page, so it is tested as a person would use it: in a real browser
 * (Debian's Chromium, headless, driven by playwright-core) against the built daemon, whose page
 * comes from apps/chorusd/dist/web (npm run build). Assertions are on what the page shows.
 *
 * Without Chromium the file is skipped with a printed reason, except in CI (CI set), where it
 * fails: .ci/run installs it (apt-get install -y chromium).
 *
 * CHORUS_SCREENSHOT=/tmp/monitor.png saves a screenshot of the page under load.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Bus, connect, defineGroup, z } from '@chorus/client';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, reportSkip, runBrowserTests } from './harness/browser.js';
import { Fixtures } from './harness/child.js';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';

const { env } = process;
const SCREENSHOT = env['CHORUS_SCREENSHOT'];
reportSkip('web-monitor.test.ts');

type Daemon = RunningDaemon & { cleanup(): Promise<void> };

/** What a page reported: errors it threw and console messages (the browser's network errors included). */
interface Watched {
  readonly page: Page;
  readonly errors: string[];
  readonly console: string[];
}

describe.skipIf(!runBrowserTests)('the web monitor', () => {
  let daemon: Daemon;
  let token: string;
  let httpBase: string;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  const pages: Watched[] = [];
  const buses: Bus[] = [];
  const children = new Fixtures();

  beforeAll(async () => {
    daemon = await withDaemon();
    token = await daemon.wsToken();
    httpBase = (daemon.wsUrl as string).replace(/^ws:/, 'http:');
    browser = await launchBrowser();
  });

  afterEach(async () => {
    await children.killAll();
    for (const { page } of pages.splice(0)) await page.close();
    await Promise.all(buses.splice(0).map((bus) => bus.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.cleanup();
  });

  async function newPage(): Promise<Watched> {
    const page = await browser.context.newPage();
    const watched: Watched = { page, errors: [], console: [] };
    page.on('pageerror', (error) => watched.errors.push(String(error)));
    page.on('console', (message) => watched.console.push(message.text()));
    pages.push(watched);
    return watched;
  }

  /** Opens the monitor with the token in its URL, as chorusd logs it, and waits until it is connected. */
  async function openMonitor(base = httpBase, withToken = token): Promise<Watched> {
    const watched = await newPage();
    await watched.page.goto(`${base}/?token=${encodeURIComponent(withToken)}`);
    await watched.page.locator('#status[data-state="connected"]').waitFor({ timeout: 15_000 });
    return watched;
  }

  async function client(name: string, address = daemon.address): Promise<Bus> {
    const bus = await connect({ address, client: name });
    buses.push(bus);
    return bus;
  }

  /** The rows shown (hidden ones of the pool left out), one line each. */
  const streamText = async (page: Page) =>
    (await page.locator('#stream tbody tr:not([hidden])').allTextContents()).join('\n');
  const text = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? '';
  /** What the page shows changes in animation frames and periodic refreshes: wait for it, generously. */
  const eventually = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000, interval: 50 });

  it('connects with the token, shows a group created by a Node client, and its signals as they come', async () => {
    const { page, errors } = await openMonitor();
    expect(await text(page, '#status')).toMatch(/^connected as :1\.\d+, monitor :1\.\d+$/);

    const Weather = defineGroup('org.test.web.Weather', {
      signals: { Reading: z.object({ city: z.string(), celsius: z.number() }) },
    });
    const service = await client('weather-service');
    await service.requestName('org.test.web.Weather');
    const group = await service.createGroup(Weather, { retain: true });
    await client('weather-app').then((app) => app.join(Weather));

    const row = page.locator('#groups tr[data-group="org.test.web.Weather"]');
    await row.waitFor({ timeout: 10_000 });
    // Owner (with the well-known name it holds and its pid), member count, options and the schema's outline.
    const cellsOf = () => row.locator('td').allTextContents();
    await eventually(cellsOf).toEqual([
      'org.test.web.Weather',
      // The process behind the owner comes from the kernel: this test process.
      `${service.name} (org.test.web.Weather) · pid ${process.pid}`,
      expect.stringMatching(/^1: :1\.\d+$/),
      expect.stringContaining('retain'),
      expect.stringMatching(/^\d+$/),
      expect.stringMatching(/^\d+$/),
      'Reading(city, celsius)',
    ]);

    // The whole schema, fetched when asked for, in the detail pane.
    await row.locator('button.schema').click();
    await eventually(() => text(page, '#detail-title')).toBe('Schema of org.test.web.Weather');
    await eventually(() => text(page, '#detail-text')).toContain('"celsius": {');

    // Signals appear as they are emitted, newest first, payloads decoded.
    const first = await group.emit('Reading', { city: 'Lyon', celsius: 21.5 });
    await eventually(() => streamText(page)).toContain('{ "city": "Lyon", "celsius": 21.5 }');
    const top = page.locator('#stream tbody tr:not([hidden])').first();
    const cells = await top.locator('td').allTextContents();
    expect([cells[0], cells[2], cells[3], cells[4], cells[5]]).toEqual([
      String(first.seq),
      'org.test.web.Weather',
      'Reading',
      service.name,
      '{ "city": "Lyon", "celsius": 21.5 }',
    ]);
    for (const [city, celsius] of [
      ['Oslo', -3],
      ['Lima', 18.25],
    ] as const) {
      await group.emit('Reading', { city, celsius });
      await eventually(() => top.textContent()).toContain(`"city": "${city}"`);
    }

    // A row opens pretty-printed in the detail pane.
    await top.click();
    await eventually(() => text(page, '#detail-text')).toContain('{\n  "city": "Lima",\n');
    expect(await text(page, '#detail-title')).toMatch(/^Signal \d+$/);

    // The chart counted them.
    await eventually(() => text(page, '#legend')).toContain('org.test.web.Weather');
    expect(errors).toEqual([]);
  });

  it('shows a group whose contract has bytes, with its bytes fields (issue 14)', async () => {
    const { page, errors } = await openMonitor();
    const Camera = defineGroup('org.test.web.Camera', {
      signals: { Frame: z.object({ seq: z.number(), jpeg: z.instanceof(Uint8Array) }) },
    });
    await (await client('camera')).createGroup(Camera);
    const row = page.locator('#groups tr[data-group="org.test.web.Camera"]');
    await row.waitFor({ timeout: 10_000 });
    await eventually(async () => (await row.locator('td').allTextContents())[6]).toBe(
      'Frame(seq, jpeg: bytes)',
    );
    expect(errors).toEqual([]);
  });

  it('filters the stream by group, signal and sender, and pauses it', async () => {
    const { page, errors } = await openMonitor();
    const Ping = defineGroup('org.test.web.Ping', { signals: { Ping: z.object({ n: z.number() }) } });
    const Pong = defineGroup('org.test.web.Pong', { signals: { Pong: z.object({ n: z.number() }) } });
    const a = await client('pinger');
    const b = await client('ponger');
    const ping = await a.createGroup(Ping);
    const pong = await b.createGroup(Pong);
    await ping.emit('Ping', { n: 1 });
    await pong.emit('Pong', { n: 2 });
    await eventually(() => streamText(page)).toContain('org.test.web.Pong');
    expect(await streamText(page)).toContain('org.test.web.Ping');

    await page.fill('#filter-signal', 'pong');
    await eventually(() => streamText(page)).not.toContain('org.test.web.Ping');
    expect(await streamText(page)).toContain('org.test.web.Pong');

    await page.fill('#filter-signal', '');
    await page.fill('#filter-sender', a.name);
    await eventually(() => streamText(page)).not.toContain('org.test.web.Pong');
    expect(await streamText(page)).toContain('org.test.web.Ping');

    await page.fill('#filter-sender', '');
    await page.locator('#groups tr[data-group="org.test.web.Pong"] button.name').click(); // filter by group
    expect(await page.inputValue('#filter-group')).toBe('org.test.web.Pong');
    await eventually(() => streamText(page)).not.toContain('org.test.web.Ping');
    await page.fill('#filter-group', '');

    // Paused, the stream holds still and says how much it is not showing.
    await page.click('#pause');
    expect(await text(page, '#pause')).toBe('Resume');
    await ping.emit('Ping', { n: 99 });
    await eventually(() => text(page, '#stream-info')).toContain('paused: 1 new since');
    expect(await streamText(page)).not.toContain('"n": 99');
    await page.click('#pause');
    await eventually(() => streamText(page)).toContain('"n": 99');
    expect(errors).toEqual([]);
  });

  it('refuses a page from another origin (403) and a connection without the token (401)', async () => {
    const observer = await client('observer');
    const rejections = async () =>
      (await observer.getStats())['wsRejections'] as { token: number; origin: number };
    const before = await rejections();

    // Any other web page the user opens: it knows the token even, and still may not connect.
    const foreign: Server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(`<!doctype html><title>elsewhere</title><script>
        const ws = new WebSocket(${JSON.stringify(`${daemon.wsUrl}/?token=${token}`)});
        ws.onopen = () => { window.outcome = 'open'; };
        ws.onclose = (event) => { window.outcome = 'closed ' + event.code; };
      </script>`);
    });
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    try {
      const { page, console: logs } = await newPage();
      await page.goto(`http://127.0.0.1:${(foreign.address() as AddressInfo).port}/`);
      const outcome = () => (globalThis as { outcome?: string }).outcome;
      await page.waitForFunction(outcome);
      expect(await page.evaluate(outcome)).toBe('closed 1006');
      // The status is not visible to scripts; Chromium logs it.
      expect(logs.join('\n')).toMatch(/Unexpected response code: 403/);
    } finally {
      // The browser keeps its connection alive; close() alone would wait for it.
      foreign.closeAllConnections();
      await new Promise((resolve) => foreign.close(resolve));
    }
    await eventually(rejections).toEqual({ ...before, origin: before.origin + 1 });

    // The daemon's own page without the token: the page says what is missing, and a WebSocket
    // opened from it without a token (or with a wrong one) is refused.
    const { page, console: logs } = await newPage();
    await page.goto(`${httpBase}/`);
    await eventually(() => text(page, '#banner-text')).toContain('needs the bus token');
    const attempt = (url: string) =>
      page.evaluate(
        (target) =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(target);
            ws.onopen = () => resolve('open');
            ws.onclose = (event) => resolve(`closed ${event.code}`);
          }),
        url,
      );
    expect(await attempt(daemon.wsUrl as string)).toBe('closed 1006');
    expect(await attempt(`${daemon.wsUrl}/?token=not-the-token-at-all`)).toBe('closed 1006');
    // Chromium's words for a 401 to a WebSocket upgrade.
    expect(logs.join('\n')).toMatch(/HTTP Authentication failed/);
    await eventually(rejections).toEqual({ ...before, origin: before.origin + 1, token: before.token + 2 });
    // And the same page with the token does connect: only the token was missing.
    expect(await attempt(`${daemon.wsUrl}/?token=${encodeURIComponent(token)}`)).toBe('open');

    // The monitor opened with a wrong token says it cannot connect.
    const wrong = await newPage();
    await wrong.page.goto(`${httpBase}/?token=wrong-token-wrong-token`);
    await eventually(() => text(wrong.page, '#banner-text')).toContain('Cannot connect');
    expect(await wrong.page.locator('#status').getAttribute('data-state')).toBe('error');
  });

  it('keeps up with about 10,000 signals/s and stays responsive', async () => {
    const { page, errors } = await openMonitor();
    const seconds = 3;
    const emitter = children.spawn('paced-emitter.mjs', {
      address: daemon.address,
      group: 'org.test.web.Load',
      rate: 10_000,
      seconds,
    });
    await emitter.waitFor((e) => e.event === 'ready');
    // Meanwhile the page keeps answering: its main thread is never stuck for long.
    const start = Date.now();
    const answered: number[] = [];
    let shot = false;
    while (Date.now() - start < seconds * 1000) {
      const t = Date.now();
      await page.evaluate(() => 1);
      answered.push(Date.now() - t);
      if (!shot && SCREENSHOT !== undefined && Date.now() - start > (seconds * 1000) / 2) {
        shot = true;
        await page.screenshot({ path: SCREENSHOT });
      }
      await sleep(100);
    }
    const done = await emitter.waitFor((e) => e.event === 'done');
    expect(answered.length).toBeGreaterThan(0); // it answered while loaded (how fast is not asserted)
    // Every signal reached the page, which was not evicted: the newest row of the group is the
    // last one sent.
    await page.fill('#filter-group', 'org.test.web.Load');
    await expect
      .poll(() => page.locator('#stream tbody tr:not([hidden]) td.num').first().textContent(), {
        timeout: 20_000,
      })
      .toBe(String(done['lastSeq']));
    expect(await page.locator('#status').getAttribute('data-state')).toBe('connected');
    await eventually(() => text(page, '#legend')).toMatch(/org\.test\.web\.Load \d/);
    expect(errors).toEqual([]);
    if (SCREENSHOT !== undefined) {
      process.stderr.write(
        `web-monitor.test.ts: ${done['sent']} signals in ${done['elapsedMs']} ms; page round trips (ms): ${answered.join(' ')}\n`,
      );
    }
  });

  it('shows an eviction when it falls behind, and reconnects', async () => {
    // A daemon with a small queue, so a page that stops reading is evicted quickly.
    const small = await withDaemon({ config: { limits: { maxQueueBytes: 64 * 1024 } } });
    try {
      const base = (small.wsUrl as string).replace(/^ws:/, 'http:');
      const { page } = await openMonitor(base, await small.wsToken());
      const emitter = await client('flood', small.address);
      const flood = await emitter.createGroup('org.test.web.Flood');
      // The page's main thread is stuck for a while, so it reads nothing (Chromium's WebSocket
      // flow control then stops reading the socket too), while a flood fills its queue, until the
      // daemon has evicted it (bounded: 64 MiB at most).
      const stuck = page.evaluate(() => {
        const until = Date.now() + 3000;
        while (Date.now() < until) {
          // busy
        }
      });
      const blob = 'x'.repeat(4096);
      const monitors = async () => (await emitter.listConnections()).filter((c) => c.monitor).length;
      expect(await monitors()).toBe(1);
      for (let i = 0; i < 160 && (await monitors()) > 0; i++) {
        await Promise.all(Array.from({ length: 100 }, (_, j) => flood.emit('Blob', { i, j, blob })));
      }
      expect(await monitors()).toBe(0);
      await stuck;
      await expect.poll(() => text(page, '#banner-text'), { timeout: 15_000 }).toContain('SLOW_CONSUMER');
      expect(await page.locator('#status').getAttribute('data-state')).toBe('error');
      expect(await page.locator('#reconnect').isVisible()).toBe(true);
      await page.click('#reconnect');
      await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10_000 });
      expect(await page.locator('#banner').isVisible()).toBe(false);
    } finally {
      await small.cleanup();
    }
  });
});
