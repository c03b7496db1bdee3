/*
 * A JetStream cluster of `nats-server` processes on loopback ports, for the federation workload:
 * each node with its own store dir under the bench's temporary directory.
 */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '../clock.js';
import { canConnect, freePort, type Spawned, spawnProcess, waitUntil, which } from '../processes.js';

/** Stream replicas, for Chorus's federation and plain JetStream alike: a quorum write per message, as in production. */
export const REPLICAS = 3;

export interface JetStreamCluster {
  /** `nats://127.0.0.1:PORT`, one per node. */
  readonly urls: readonly string[];
  readonly pids: readonly (number | undefined)[];
  stop(): Promise<void>;
}

export async function natsServerPath(): Promise<string | undefined> {
  return which('nats-server');
}

/** Starts `size` routed JetStream nodes and waits until they elected a JetStream meta leader. */
export async function startJetStreamCluster(dir: string, size = 3): Promise<JetStreamCluster> {
  const bin = await natsServerPath();
  if (bin === undefined) throw new Error('nats-server is not installed');
  const ports = await Promise.all(Array.from({ length: size * 3 }, () => freePort()));
  const nodes = Array.from({ length: size }, (_, i) => ({
    name: `n${i + 1}`,
    client: ports[i * 3] as number,
    cluster: ports[i * 3 + 1] as number,
    monitor: ports[i * 3 + 2] as number,
  }));
  const spawned: Spawned[] = [];
  try {
    for (const node of nodes) {
      const routes = nodes.filter((o) => o !== node).map((o) => `nats-route://127.0.0.1:${o.cluster}`);
      const conf = join(dir, `${node.name}.conf`);
      await writeFile(
        conf,
        [
          `server_name: ${node.name}`,
          `listen: 127.0.0.1:${node.client}`,
          `http: 127.0.0.1:${node.monitor}`,
          // Generous slow-consumer bounds, as the plain NATS system has: the bench bounds the emitter.
          'max_pending: 268435456',
          'write_deadline: "60s"',
          `jetstream { store_dir: "${join(dir, node.name)}" }`,
          `cluster { name: bench, listen: 127.0.0.1:${node.cluster}, routes: [${routes.join(', ')}] }`,
        ].join('\n'),
      );
      spawned.push(spawnProcess(bin, ['-c', conf]));
    }
    await Promise.all(
      nodes.map((node, i) =>
        waitUntil(spawned[i] as Spawned, `nats-server ${node.name}`, () =>
          canConnect({ host: '127.0.0.1', port: node.client }),
        ),
      ),
    );
    const deadline = Date.now() + 30_000;
    while (!(await metaLeader(nodes[0]?.monitor ?? 0))) {
      if (Date.now() > deadline) throw new Error('the JetStream cluster elected no meta leader in 30 s');
      await sleep(100);
    }
  } catch (error) {
    await Promise.all(spawned.map((s) => s.stop('SIGKILL')));
    throw error;
  }
  return {
    urls: nodes.map((n) => `nats://127.0.0.1:${n.client}`),
    pids: spawned.map((s) => s.child.pid),
    stop: async () => {
      await Promise.all(spawned.map((s) => s.stop('SIGTERM')));
    },
  };
}

async function metaLeader(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/jsz`, { signal: AbortSignal.timeout(2000) });
    const jsz = (await response.json()) as { meta_cluster?: { leader?: string } };
    return (jsz.meta_cluster?.leader ?? '') !== '';
  } catch {
    return false;
  }
}
