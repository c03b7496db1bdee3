/*
 * A JetStream cluster of real `nats-server` processes on loopback ports, for the federation tests.
 * Each node has its own store dir in one temp dir; ports are picked free. A node can be killed
 * (SIGKILL), frozen (SIGSTOP/SIGCONT) and started again with the same store, as in production.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian installs it in /usr/sbin. */
export const natsServerBin =
  ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((path) => existsSync(path)) ?? 'nats-server';

export interface NatsNode {
  readonly name: string;
  /** `nats://127.0.0.1:PORT`, for clients. */
  readonly url: string;
  readonly monitorPort: number;
  process: ChildProcess | undefined;
  /** Everything the node logged so far (all its runs). */
  log(): string;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  readonly dir: string;
  /** Every node's URL, comma-separated, as `--federation` takes them. */
  readonly urls: string;
  kill(node: NatsNode): Promise<void>;
  start(node: NatsNode): Promise<void>;
  freeze(node: NatsNode): void;
  thaw(node: NatsNode): void;
  /** The node that leads the stream's Raft group now (from the monitoring endpoint). */
  streamLeader(stream: string): Promise<NatsNode | undefined>;
  stop(): Promise<void>;
}

/** A free TCP port on loopback (the OS picks; the tiny window before the server binds is accepted). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Starts `size` JetStream nodes routed to each other and waits until JetStream has a meta leader. */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-nats-'));
  const ports = await Promise.all(Array.from({ length: size * 3 }, () => freePort()));
  const specs = Array.from({ length: size }, (_, i) => ({
    name: `n${i + 1}`,
    client: ports[i * 3] as number,
    cluster: ports[i * 3 + 1] as number,
    monitor: ports[i * 3 + 2] as number,
  }));
  const nodes: (NatsNode & { conf: string; logs: string[] })[] = [];
  for (const spec of specs) {
    const routes = specs
      .filter((other) => other !== spec)
      .map((other) => `nats-route://127.0.0.1:${other.cluster}`);
    const conf = join(dir, `${spec.name}.conf`);
    await writeFile(
      conf,
      [
        `server_name: ${spec.name}`,
        `listen: 127.0.0.1:${spec.client}`,
        `http: 127.0.0.1:${spec.monitor}`,
        `jetstream { store_dir: "${join(dir, spec.name)}" }`,
        // One node is a plain JetStream server, as the README's example runs it.
        size === 1
          ? ''
          : `cluster { name: chorus, listen: 127.0.0.1:${spec.cluster}, routes: [${routes.join(', ')}] }`,
      ].join('\n'),
    );
    const logs: string[] = [];
    nodes.push({
      name: spec.name,
      url: `nats://127.0.0.1:${spec.client}`,
      monitorPort: spec.monitor,
      process: undefined,
      conf,
      logs,
      log: () => logs.join(''),
    });
  }
  const start = async (node: NatsNode): Promise<void> => {
    const n = node as (typeof nodes)[number];
    const child = spawn(natsServerBin, ['-c', n.conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => n.logs.push(d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => n.logs.push(d));
    n.process = child;
    await waitUntil(
      async () => (await monitor(n.monitorPort, '/healthz')) !== undefined,
      15_000,
      () => `${n.name} did not start: ${n.log()}`,
    );
  };
  const stopOne = async (node: NatsNode, signal: NodeJS.Signals): Promise<void> => {
    const child = node.process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill(signal);
    await exited;
  };
  await Promise.all(nodes.map(start));
  // JetStream is usable once the nodes elected a meta leader; /jsz shows it on every node.
  if (size > 1)
    await waitUntil(
      async () => {
        const jsz = (await monitor(nodes[0]?.monitorPort ?? 0, '/jsz')) as
          | { meta_cluster?: { leader?: string } }
          | undefined;
        return jsz?.meta_cluster?.leader !== undefined && jsz.meta_cluster.leader !== '';
      },
      30_000,
      () => 'no JetStream meta leader',
    );
  return {
    nodes,
    dir,
    urls: nodes.map((n) => n.url).join(','),
    kill: (node) => stopOne(node, 'SIGKILL'),
    start,
    freeze: (node) => node.process?.kill('SIGSTOP'),
    thaw: (node) => node.process?.kill('SIGCONT'),
    async streamLeader(stream) {
      for (const node of nodes) {
        if (node.process === undefined || node.process.exitCode !== null || node.process.signalCode !== null)
          continue;
        const jsz = (await monitor(node.monitorPort, '/jsz?streams=true')) as
          | { account_details?: { stream_detail?: { name: string; cluster?: { leader?: string } }[] }[] }
          | undefined;
        for (const account of jsz?.account_details ?? []) {
          for (const detail of account.stream_detail ?? []) {
            const leader = detail.name === stream ? detail.cluster?.leader : undefined;
            if (leader !== undefined) return nodes.find((n) => n.name === leader);
          }
        }
      }
      return undefined;
    },
    async stop() {
      await Promise.all(nodes.map((n) => stopOne(n, 'SIGKILL')));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function monitor(port: number, path: string): Promise<unknown> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return undefined;
    return await response.json();
  } catch {
    return undefined;
  }
}

/** Polls `check` until it returns true; throws `message()` after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  message: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
