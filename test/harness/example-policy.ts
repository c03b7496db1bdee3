import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bus, connect, defineGroup, z } from '@chorus/client';
import { type RunningDaemon, type StartOptions, withDaemon } from './daemon.js';

/*
 * The access policy of README.md's "config file" example, copied literally: the promises the
 * README makes must hold for its own example. Only what the test chooses differs: the token values
 * (the `panel` token's file is written here), and where the daemon listens (the harness's
 * `--socket` and `--ws 127.0.0.1:0` instead of the example's `socket` and `ws.listen`).
 */

export const PANEL_TOKEN = 'panel-token-for-the-example-policy';
export const READER_TOKEN = 'reader-token-for-the-example-policy';

/** The README example's `tokens` and `policy`, as written there. */
export function examplePolicyConfig(panelTokenFile: string) {
  return {
    logLevel: 'info',
    limits: { maxQueueBytes: 8388608 },
    ws: { allowedOrigins: ['http://localhost:5173'] },
    tokens: { panel: { file: panelTokenFile }, reader: { value: READER_TOKEN } },
    policy: {
      groupsRequireName: true,
      rules: [
        { effect: 'allow', actions: ['join', 'monitor', 'call'], identity: 'reader' },
        { effect: 'allow', actions: ['join', 'emit', 'call'], identity: 'panel', name: 'org.example.**' },
        { effect: 'deny', actions: '*', transport: 'ws', name: 'org.example.Secrets' },
      ],
    },
  };
}

export type ExampleDaemon = RunningDaemon & {
  cleanup(): Promise<void>;
  /** The daemon's default WebSocket token (identity `ws`). */
  readonly defaultToken: string;
  /** Rewrites the config file (as a user would) and sends SIGHUP. */
  reload(config: object): Promise<void>;
  /** An SDK client over the WebSocket as `token`'s identity (the default token: `ws`). */
  ws(token: string, options?: Parameters<typeof connect>[0]): Promise<Bus>;
  /** An SDK client over the Unix socket; with a token, as its identity, else `owner`. */
  unix(token?: string, options?: Parameters<typeof connect>[0]): Promise<Bus>;
};

/** Starts chorusd with the README's example policy. */
export async function withExamplePolicyDaemon(options: Omit<StartOptions, 'config' | 'dir'> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-policy-'));
  const panelTokenFile = join(dir, 'panel-token');
  await writeFile(panelTokenFile, `${PANEL_TOKEN}\n`, { mode: 0o600 });
  const config = examplePolicyConfig(panelTokenFile);
  const daemon = await withDaemon({ ...options, dir, config });
  const wsToken = await daemon.wsToken();
  const example: ExampleDaemon = Object.assign(daemon, {
    defaultToken: wsToken,
    async reload(next: object) {
      await writeFile(join(dir, 'config.json'), JSON.stringify(next));
      daemon.process.kill('SIGHUP');
    },
    ws: (token: string, extra: Parameters<typeof connect>[0] = {}) =>
      connect({ reconnect: false, ...extra, address: daemon.wsUrl as string, token }),
    unix: (token?: string, extra: Parameters<typeof connect>[0] = {}) =>
      connect({
        reconnect: false,
        ...extra,
        address: daemon.address,
        ...(token === undefined ? {} : { token }),
      }),
  });
  return { daemon: example, config, panelTokenFile };
}

/** The README's groups: what the example policy is about. */
export const Battery = defineGroup('org.example.Battery', {
  signals: { LevelChanged: z.object({ percent: z.number() }) },
  methods: { GetLevel: { input: z.object({}), output: z.object({ percent: z.number() }) } },
});

export const Secrets = defineGroup('org.example.Secrets', {
  signals: { Rotated: z.object({ n: z.number() }) },
  methods: { GetSecret: { input: z.object({}), output: z.object({ secret: z.string() }) } },
});

export const SECRET = 'the-secret-value';
