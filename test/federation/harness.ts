/*
 * Daemons attached to one JetStream cluster, for the federation tests: each one on its own node
 * (its `servers` list starts with that node, then the others, so it fails over like a real one).
 */
import { type Bus, connect } from '@chorus/client';
import { afterEach } from 'vitest';
import { type RunningDaemon, startDaemon } from '../harness/daemon.js';
import type { NatsCluster } from '../harness/nats.js';

export interface FederatedDaemon {
  daemon: RunningDaemon;
  readonly id: string;
  readonly servers: string[];
  readonly dir: string;
  /** More of the config's `federation` key (kept across restarts). */
  readonly extra?: Record<string, unknown>;
}

export const STREAM = 'CHORUS';

/** The config file of a federated daemon `id`, attached first to `cluster.nodes[node]`. */
export function federationConfig(
  cluster: NatsCluster,
  node: number,
  id: string,
  replicas = 3,
  extra: Record<string, unknown> = {},
): object {
  const urls = cluster.nodes.map((n) => n.url);
  const servers = [...urls.slice(node), ...urls.slice(0, node)];
  return { federation: { servers, replicas, daemonId: id, stream: STREAM, stallMs: 2000, ...extra } };
}

export async function startFederated(
  cluster: NatsCluster,
  node: number,
  id: string,
  dir?: string,
  extra?: Record<string, unknown>,
): Promise<FederatedDaemon> {
  const daemon = await startDaemon({
    config: federationConfig(cluster, node, id, 3, extra),
    args: ['--no-ws'],
    ...(dir === undefined ? {} : { dir }),
  });
  return { daemon, id, servers: [], dir: daemon.dir, ...(extra === undefined ? {} : { extra }) };
}

/** Restarts a daemon in its directory (same socket, same id), after it was killed. */
export async function restartFederated(
  cluster: NatsCluster,
  node: number,
  fed: FederatedDaemon,
): Promise<void> {
  fed.daemon = await startDaemon({
    config: federationConfig(cluster, node, fed.id, 3, fed.extra),
    args: ['--no-ws'],
    dir: fed.dir,
  });
}

export function client(daemon: RunningDaemon, options: Parameters<typeof connect>[0] = {}): Promise<Bus> {
  return connect({ address: daemon.address, ...options });
}

/**
 * What a federation test starts, stopped after each test of its file: first the closers and the
 * buses (errors ignored: some were closed by the test, or their daemon is gone), then the daemons,
 * then the NATS cluster.
 */
export interface FederationScene<D> {
  nats: NatsCluster | undefined;
  daemons: D[];
  buses: Bus[];
  readonly closers: (() => unknown)[];
}

/** A scene for the tests of this file; `kill` stops one of its daemons. */
export function federationScene<D = FederatedDaemon>(
  kill: (daemon: D) => Promise<unknown> = (d) => (d as FederatedDaemon).daemon.kill(),
): FederationScene<D> {
  const scene: FederationScene<D> = { nats: undefined, daemons: [], buses: [], closers: [] };
  afterEach(async () => {
    const closing = [...scene.closers.splice(0), ...scene.buses.map((b) => () => b.close())];
    await Promise.all(
      closing.map((close) =>
        Promise.resolve()
          .then(close)
          .catch(() => {}),
      ),
    );
    await Promise.all(scene.daemons.map(kill));
    await scene.nats?.stop();
    scene.nats = undefined;
    scene.daemons = [];
    scene.buses = [];
  });
  return scene;
}
