import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Bus, connect, defineGroup, type SignalMeta, z } from '@chorus/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDaemon, repoRoot, withDaemon } from './harness/daemon.js';

// The `chorus` command end to end: the built apps/chorus/dist/main.js in its own process, against
// a real daemon, with SDK clients on the other side (a service, a subscriber, an emitter). Checks
// what people and scripts rely on: the output (human and --json), the exit status, and the
// `chorus: CODE: message` line on stderr.

const cliMain = join(repoRoot, 'apps/chorus/dist/main.js');

interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running `chorus` (monitor, wait): its output so far, its end. */
interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the complete lines of stdout once there are at least `count`. */
  lines(count: number, timeoutMs?: number): Promise<string[]>;
  readonly exited: Promise<CliResult>;
}

const running = new Set<CliProcess>();

function start(daemon: RunningDaemon, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): CliProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, CHORUS_BUS_ADDRESS: daemon.address };
  delete env['CHORUS_TOKEN'];
  delete env['FORCE_COLOR'];
  Object.assign(env, extraEnv);
  const child = spawn(process.execPath, [cliMain, ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const waiter of waiters) waiter();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
  const complete = (): string[] => out.split('\n').slice(0, -1);
  const cli: CliProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    lines(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (complete().length < count) return;
          cleanup();
          resolve(complete());
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`expected ${count} lines within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        void exited.then(() => {
          if (waiters.has(check)) {
            cleanup();
            if (complete().length >= count) resolve(complete());
            else reject(new Error(`chorus exited before ${count} lines; stdout: ${out}; stderr: ${err}`));
          }
        });
        check();
      });
    },
  };
  running.add(cli);
  void exited.then(() => running.delete(cli));
  return cli;
}

/** Runs `chorus ARGS...` to its end. */
function chorus(daemon: RunningDaemon, ...args: string[]): Promise<CliResult> {
  return start(daemon, args).exited;
}

/** The one JSON document a --json command printed. */
function json(result: CliResult): unknown {
  expect(result.stdout.endsWith('\n')).toBe(true);
  expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
  return JSON.parse(result.stdout);
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

let daemon: RunningDaemon & { cleanup(): Promise<void> };
const buses: Bus[] = [];
beforeAll(async () => {
  daemon = await withDaemon();
});
afterEach(async () => {
  await Promise.all(
    [...running].map(async (cli) => {
      cli.child.kill('SIGKILL');
      await cli.exited;
    }),
  );
});
afterAll(async () => {
  await Promise.all(buses.map((bus) => bus.close()));
  await daemon?.cleanup();
});

async function open(): Promise<Bus> {
  const bus = await connect({ address: daemon.address });
  buses.push(bus);
  return bus;
}

let groups = 0;
function battery() {
  return defineGroup(`test.cli.Battery${++groups}`, {
    signals: {
      LevelChanged: z.object({
        percent: z.number().min(0).max(100),
        cells: z.array(z.object({ volts: z.number() })).optional(),
      }),
    },
    methods: {
      GetLevel: { input: z.object({}), output: z.object({ percent: z.number() }) },
    },
  });
}

describe('chorus status', () => {
  it('says the daemon is reachable, who we are, and the counters', async () => {
    await open();
    const human = await chorus(daemon, 'status');
    expect(human).toMatchObject({ code: 0, stderr: '' });
    expect(human.stdout).toMatch(/^Daemon\s+reachable at unix:path=/m);
    expect(human.stdout).toMatch(/^You are\s+:1\.\d+$/m);
    expect(human.stdout).toMatch(/^Uptime\s+\S+/m);
    expect(human.stdout).toMatch(/^Connections\s+\d+$/m);

    const result = await chorus(daemon, 'status', '--json');
    expect(result.code).toBe(0);
    const status = json(result) as Record<string, unknown>;
    expect(status).toEqual({
      address: daemon.address,
      name: expect.stringMatching(/^:1\.\d+$/),
      uptimeMs: expect.any(Number),
      connections: expect.any(Number),
      groups: expect.any(Number),
      names: expect.any(Number),
      messages: expect.any(Number),
      deliveries: expect.any(Number),
      bytes: expect.any(Number),
      evictions: expect.any(Number),
      errors: expect.any(Number),
    });
    // This command and the client opened above, at least; org.chorus.Bus is a group.
    expect(status['connections']).toBeGreaterThanOrEqual(2);
    expect(status['groups']).toBeGreaterThanOrEqual(1);
  });

  it('exits 3 with CONNECT_FAILED when nothing listens at the address', async () => {
    const result = await chorus(daemon, 'status', '--address', `unix:path=${join(daemon.dir, 'none.sock')}`);
    expect(result).toMatchObject({ code: 3, stdout: '' });
    expect(result.stderr).toMatch(/^chorus: CONNECT_FAILED: /);
  });
});

describe('chorus list', () => {
  it('lists groups, names and connections, as tables and as JSON', async () => {
    const Battery = battery();
    const service = await open();
    await service.requestName(Battery.name);
    await service.createGroup(Battery, { emitters: 'owner', retain: true });
    const member = await open();
    await member.join(Battery);

    const groupsTable = await chorus(daemon, 'list', 'groups');
    expect(groupsTable.code).toBe(0);
    expect(groupsTable.stdout).toMatch(/^GROUP\s+OWNER\s+MEMBERS\s+EMITTERS\s+OPTIONS\s+SEQ\s+SCHEMA$/m);
    expect(groupsTable.stdout).toMatch(
      new RegExp(`^${Battery.name.replaceAll('.', '\\.')}\\s+${service.name}\\s+1\\s+owner\\s+retain`, 'm'),
    );
    expect(groupsTable.stdout).toMatch(/^org\.chorus\.Bus\s+org\.chorus\.Bus\s/m);

    const groupsJson = json(await chorus(daemon, 'list', 'groups', '--json')) as Record<string, unknown>[];
    expect(groupsJson).toContainEqual(
      expect.objectContaining({
        name: Battery.name,
        owner: service.name,
        members: 1,
        options: expect.objectContaining({ emitters: 'owner', retain: true }),
        seq: expect.any(Number),
        schema: expect.objectContaining({ type: 'object' }),
      }),
    );

    const namesTable = await chorus(daemon, 'list', 'names');
    expect(namesTable.stdout).toMatch(/^NAME\s+OWNER\s+QUEUE$/m);
    expect(namesTable.stdout).toMatch(
      new RegExp(`^${Battery.name.replaceAll('.', '\\.')}\\s+${service.name}\\s+-$`, 'm'),
    );
    const namesJson = json(await chorus(daemon, 'list', 'names', '--json'));
    expect(namesJson).toContainEqual({ name: Battery.name, owner: service.name, queue: [] });

    const connectionsTable = await chorus(daemon, 'list', 'connections');
    expect(connectionsTable.stdout).toMatch(
      /^CONNECTION\s+TRANSPORT\s+IDENTITY\s+PID\s+COMMAND\s+MEMBER OF\s+OWNS\s+NAMES\s+QUEUED\s+NOTE$/m,
    );
    // The command's own connection: marked, with the name it declared shown as declared.
    expect(connectionsTable.stdout).toMatch(/\byou, says it is chorus-cli$/m);
    const connectionsJson = json(await chorus(daemon, 'list', 'connections', '--json'));
    expect(connectionsJson).toContainEqual(
      expect.objectContaining({
        name: service.name,
        transport: 'unix',
        owned: [Battery.name],
        names: [Battery.name],
      }),
    );
    expect(connectionsJson).toContainEqual(
      expect.objectContaining({ name: member.name, groups: [Battery.name] }),
    );
  });
});

describe('chorus introspect', () => {
  it("shows a group's signals and methods, with fields and types", async () => {
    const Battery = battery();
    const service = await open();
    await service.createGroup(Battery);

    const result = await chorus(daemon, 'introspect', Battery.name);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(Battery.name);
    expect(result.stdout).toMatch(new RegExp(`^  owner\\s+${service.name}$`, 'm'));
    expect(result.stdout).toContain('Signals (1)\n  LevelChanged\n');
    expect(result.stdout).toMatch(/^ {4}percent\s+number\s+≥ 0, ≤ 100$/m);
    expect(result.stdout).toMatch(/^ {4}cells\?\s+object\[\]$/m);
    expect(result.stdout).toMatch(/^ {4}cells\[\]\.volts\s+number$/m);
    expect(result.stdout).toContain('Methods (1)\n  GetLevel\n    input   {} (no fields)\n    output\n');
    expect(result.stdout).toMatch(/^ {6}percent\s+number$/m);

    const info = json(await chorus(daemon, 'introspect', Battery.name, '--json')) as {
      name: string;
      owner: string;
      schema: { properties: { signals: { properties: Record<string, unknown> } } };
    };
    expect(info).toMatchObject({ name: Battery.name, owner: service.name });
    expect(info.schema.properties.signals.properties['LevelChanged']).toMatchObject({
      type: 'object',
      required: ['percent'],
    });
  });

  it("reads the bus's own org.chorus.Bus", async () => {
    const result = await chorus(daemon, 'introspect', 'org.chorus.Bus');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^ {2}NameOwnerChanged\n {4}name\s+string\n {4}oldOwner\s+string \| null$/m,
    );
    expect(result.stdout).toMatch(/^ {2}RequestName$/m);
  });

  it('says when a group has no schema', async () => {
    const service = await open();
    await service.createGroup('test.cli.Untyped');
    const result = await chorus(daemon, 'introspect', 'test.cli.Untyped');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('No schema published');
    expect(json(await chorus(daemon, 'introspect', 'test.cli.Untyped', '--json'))).toMatchObject({
      name: 'test.cli.Untyped',
      schema: null,
    });
  });

  it('exits 1 with UNKNOWN_GROUP for a group that does not exist', async () => {
    const result = await chorus(daemon, 'introspect', 'test.cli.NoSuchGroup');
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/^chorus: UNKNOWN_GROUP: .*test\.cli\.NoSuchGroup/);
  });
});

describe('chorus emit', () => {
  it('emits into an existing group: an SDK subscriber receives the payload', async () => {
    const Battery = battery();
    const service = await open();
    await service.createGroup(Battery, { emitters: 'anyone' });
    const app = await open();
    const got: [unknown, SignalMeta][] = [];
    (await app.join(Battery)).on('LevelChanged', (payload, meta) => got.push([payload, meta]));

    const result = await chorus(daemon, 'emit', Battery.name, 'LevelChanged', '{"percent": 42}');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(
      new RegExp(
        `^Emitted ${Battery.name.replaceAll('.', '\\.')} LevelChanged: seq \\d+ \\(group seq 1\\), 1 recipient$`,
        'm',
      ),
    );
    expect(result.stdout).not.toContain('Created');

    const second = json(
      await chorus(daemon, 'emit', Battery.name, 'LevelChanged', '{"percent":7}', '--json'),
    );
    expect(second).toEqual({
      group: Battery.name,
      signal: 'LevelChanged',
      seq: expect.any(Number),
      groupSeq: 2,
      recipients: 1,
      created: false,
    });

    await app.ping(); // every signal queued for `app` before the pong has been delivered
    expect(got.map(([payload]) => payload)).toEqual([{ percent: 42 }, { percent: 7 }]);
    const [first] = got;
    expect(first?.[1].sender).toMatch(/^:1\.\d+$/);
    expect(first?.[1].sender).not.toBe(service.name);
  });

  it('creates a missing group for the emit; the group is gone when chorus exits', async () => {
    const probe = await open();
    const result = await chorus(daemon, 'emit', 'test.cli.Fresh', 'Hello', '"hi"', '--json');
    expect(result.code).toBe(0);
    expect(json(result)).toMatchObject({
      group: 'test.cli.Fresh',
      signal: 'Hello',
      groupSeq: 1,
      recipients: 0,
      created: true,
    });
    // The daemon closes it when it sees chorus's connection end, which may be just after the exit.
    await until(async () => {
      const groups = await probe.listGroups();
      return groups.some((group) => group.name === 'test.cli.Fresh') ? undefined : true;
    }, 'test.cli.Fresh to close');

    const human = await chorus(daemon, 'emit', 'test.cli.Fresh', 'Hello');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Created test.cli.Fresh for this emit');
  });

  it("exits 1 with NOT_PERMITTED for someone else's owner-only group", async () => {
    const Battery = battery();
    const service = await open();
    await service.createGroup(Battery, { emitters: 'owner' });
    const result = await chorus(daemon, 'emit', Battery.name, 'LevelChanged', '{"percent":1}');
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/^chorus: NOT_PERMITTED: /);
  });

  it('exits 2 with INVALID_JSON for a payload that is not JSON, before emitting', async () => {
    const result = await chorus(daemon, 'emit', 'test.cli.Bad', 'S', '{percent: 42}');
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(/^chorus: INVALID_JSON: /);
  });
});

describe('chorus call', () => {
  it("calls an SDK service's method and prints its output", async () => {
    const Battery = battery();
    const service = await open();
    service.serve(Battery, { GetLevel: async () => ({ percent: 42 }) });
    await service.requestName(Battery.name);

    const human = await chorus(daemon, 'call', Battery.name, 'GetLevel');
    expect(human).toMatchObject({ code: 0, stdout: '{\n  "percent": 42\n}\n', stderr: '' });
    const result = await chorus(daemon, 'call', Battery.name, 'GetLevel', '{}', '--json');
    expect(result.stdout).toBe('{"percent":42}\n');
  });

  it('passes the JSON input, and calls the bus itself', async () => {
    const service = await open();
    service.serve('test.cli.Echo', { Echo: async (input) => input });
    await service.requestName('test.cli.Echo');
    const echoed = await chorus(daemon, 'call', 'test.cli.Echo', 'Echo', '{"list":[1,"two",null]}', '--json');
    expect(json(echoed)).toEqual({ list: [1, 'two', null] });

    const owner = await chorus(
      daemon,
      'call',
      'org.chorus.Bus',
      'GetNameOwner',
      '{"name":"test.cli.Echo"}',
      '--json',
    );
    expect(json(owner)).toEqual({ owner: service.name });
  });

  it('exits 1 with the code of a failed call: SERVICE_UNKNOWN, UNKNOWN_METHOD, REMOTE_ERROR, TIMEOUT', async () => {
    const unknown = await chorus(daemon, 'call', 'test.cli.Nobody', 'GetLevel');
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toMatch(/^chorus: SERVICE_UNKNOWN: .*test\.cli\.Nobody/);

    const service = await open();
    service.serve('test.cli.Faulty', {
      Throw: async () => {
        throw new RangeError('out of charge');
      },
      Hang: (_input, ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
    });
    await service.requestName('test.cli.Faulty');

    const method = await chorus(daemon, 'call', 'test.cli.Faulty', 'Explode');
    expect(method.code).toBe(1);
    expect(method.stderr).toMatch(/^chorus: UNKNOWN_METHOD: /);

    const thrown = await chorus(daemon, 'call', 'test.cli.Faulty', 'Throw');
    expect(thrown.code).toBe(1);
    expect(thrown.stderr).toMatch(/^chorus: REMOTE_ERROR: RangeError: out of charge$/m);

    const late = await chorus(daemon, 'call', 'test.cli.Faulty', 'Hang', '--timeout', '200');
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/^chorus: TIMEOUT: /);
  });

  it('exits 2 with INVALID_JSON for an input that is not JSON', async () => {
    const result = await chorus(daemon, 'call', 'test.cli.Echo', 'Echo', "{'a':1}");
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(/^chorus: INVALID_JSON: /);
  });
});

describe('chorus wait', () => {
  it('prints the owner at once when the name has one', async () => {
    const service = await open();
    await service.requestName('test.cli.Present');
    expect(await chorus(daemon, 'wait', 'test.cli.Present')).toMatchObject({
      code: 0,
      stdout: `${service.name}\n`,
    });
    const result = await chorus(daemon, 'wait', 'test.cli.Present', '--json');
    expect(json(result)).toEqual({ name: 'test.cli.Present', owner: service.name });
  });

  it('exits 0 with the owner when the name appears mid-wait', async () => {
    const observer = await open();
    const before = new Set((await observer.listConnections()).map((connection) => connection.name));
    const waiting = start(daemon, ['wait', 'test.cli.Later', '--timeout', '20000']);
    // The wait is in place once chorus's connection has joined org.chorus.Bus (for NameOwnerChanged).
    await until(async () => {
      const connections = await observer.listConnections();
      return connections.find((c) => !before.has(c.name) && c.groups.includes('org.chorus.Bus'));
    }, 'chorus to start waiting');
    const service = await open();
    await service.requestName('test.cli.Later');
    expect(await waiting.exited).toMatchObject({ code: 0, stdout: `${service.name}\n`, stderr: '' });
  });

  it('exits 1 with TIMEOUT when no owner comes in time', async () => {
    const result = await chorus(daemon, 'wait', 'test.cli.Never', '--timeout', '300');
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/^chorus: TIMEOUT: /);
  });
});

describe('chorus monitor', () => {
  async function monitors(observer: Bus): Promise<number> {
    return (await observer.listConnections()).filter((connection) => connection.monitor).length;
  }

  it('prints a line per signal as they are emitted, until Ctrl-C', async () => {
    const observer = await open();
    const already = await monitors(observer);
    const Battery = battery();
    const service = await open();
    const group = await service.createGroup(Battery);
    const other = await service.createGroup('test.cli.Other');

    const all = start(daemon, ['monitor', '--json']);
    const one = start(daemon, ['monitor', Battery.name]);
    await until(async () => ((await monitors(observer)) >= already + 2 ? true : undefined), 'two monitors');

    const first = await group.emit('LevelChanged', { percent: 42 });
    await other.emit('Ping');
    const third = await group.emit('LevelChanged', { percent: 43, cells: [{ volts: 3.7 }] });

    const jsonLines = (await all.lines(3)).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(jsonLines).toEqual([
      {
        seq: first.seq,
        groupSeq: 1,
        group: Battery.name,
        signal: 'LevelChanged',
        sender: service.name,
        payload: { percent: 42 },
      },
      { seq: expect.any(Number), groupSeq: 1, group: 'test.cli.Other', signal: 'Ping', sender: service.name },
      {
        seq: third.seq,
        groupSeq: 2,
        group: Battery.name,
        signal: 'LevelChanged',
        sender: service.name,
        payload: { percent: 43, cells: [{ volts: 3.7 }] },
      },
    ]);

    // Only its group, as aligned text: seq, group, signal, sender, payload.
    const text = await one.lines(2);
    expect(text).toHaveLength(2);
    const columns = text.map((line) => line.trim().split(/\s{2,}/));
    expect(columns[0]).toEqual([
      String(first.seq),
      Battery.name,
      'LevelChanged',
      service.name,
      '{"percent":42}',
    ]);
    expect(columns[1]).toEqual([
      String(third.seq),
      Battery.name,
      'LevelChanged',
      service.name,
      '{"percent":43,"cells":[{"volts":3.7}]}',
    ]);

    all.child.kill('SIGINT');
    one.child.kill('SIGINT');
    expect(await all.exited).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(await one.exited).toMatchObject({ code: 0, signal: null, stderr: '' });
  });

  it('exits 1 when the daemon goes away', async () => {
    const own = await withDaemon();
    try {
      const observer = await connect({ address: own.address });
      const watching = start(own, ['monitor']);
      await until(async () => ((await monitors(observer)) >= 1 ? true : undefined), 'the monitor');
      await observer.close();
      await own.stop();
      const result = await watching.exited;
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^chorus: [A-Z_]+: /);
    } finally {
      await own.cleanup();
    }
  });
});

describe('over the WebSocket bridge', () => {
  it('connects to a ws:// address with --token or CHORUS_TOKEN, and exits 3 without a token', async () => {
    const url = daemon.wsUrl;
    if (url === undefined) throw new Error('the test daemon has no WebSocket listener');
    const token = await daemon.wsToken();

    const status = await chorus(daemon, 'status', '--address', url, '--token', token, '--json');
    expect(status.code).toBe(0);
    expect(json(status)).toMatchObject({ address: url, name: expect.stringMatching(/^:1\.\d+$/) });

    const listed = await start(daemon, ['list', 'connections', '--address', url, '--json'], {
      CHORUS_TOKEN: token,
    }).exited;
    expect(listed.code).toBe(0);
    expect(json(listed)).toContainEqual(expect.objectContaining({ transport: 'ws' }));

    const refused = await chorus(daemon, 'status', '--address', url);
    expect(refused).toMatchObject({ code: 3, stdout: '' });
    expect(refused.stderr).toMatch(/^chorus: CONNECT_FAILED: /);
    expect(refused.stderr).not.toContain(token);
  });
});
