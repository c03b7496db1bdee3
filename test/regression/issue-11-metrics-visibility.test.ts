import type { Bus } from '@chorus/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  Battery,
  type ExampleDaemon,
  PANEL_TOKEN,
  READER_TOKEN,
  Secrets,
  withExamplePolicyDaemon,
} from '../harness/example-policy.js';

// Issue 11, item 5: /metrics told any token, one with no rights at all included, the name, members
// and traffic of every group, denied ones too. Now its per-group samples cover only the groups the
// token's identity may `monitor` over the WebSocket; the totals stay.

let daemon: ExampleDaemon;
let service: Bus;
beforeAll(async () => {
  ({ daemon } = await withExamplePolicyDaemon());
  service = await daemon.unix();
  await service.requestName(Battery.name);
  await service.requestName(Secrets.name);
  const battery = await service.createGroup(Battery);
  const secrets = await service.createGroup(Secrets);
  await battery.emit('LevelChanged', { percent: 1 });
  await secrets.emit('Rotated', { n: 1 });
});
afterAll(async () => {
  await service.close();
  await daemon.cleanup();
});

async function metrics(token: string): Promise<string> {
  const url = new URL('/metrics', (daemon.wsUrl as string).replace(/^ws/, 'http'));
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return res.text();
}

const groupsIn = (text: string): string[] =>
  [...new Set([...text.matchAll(/group="([^"]+)"/g)].map((m) => m[1] as string))].sort();

it('panel, which may monitor nothing, sees no group; the totals are still there', async () => {
  const text = await metrics(PANEL_TOKEN);
  expect(groupsIn(text)).toEqual([]);
  expect(text).toMatch(/^chorus_groups 2$/m);
  expect(text).toMatch(/^chorus_connections \d+$/m);
});

it.each([
  ['reader', () => READER_TOKEN],
  ['ws', () => daemon.defaultToken],
])(
  '%s sees every group but org.example.Secrets, which it may not monitor over the WebSocket',
  async (_who, token) => {
    const text = await metrics(token());
    expect(groupsIn(text)).toEqual(['org.chorus.Bus', Battery.name]);
    expect(text).toMatch(/^chorus_messages_total\{group="org\.example\.Battery"\} 1$/m);
    expect(text).not.toContain(Secrets.name);
  },
);
