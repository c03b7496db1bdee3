/*
 * The federation workload's systems: Chorus with federated groups (three daemons, each attached to
 * its own node of a 3-node JetStream cluster) and plain JetStream on the same kind of cluster (a
 * publisher and ordered push consumers). Opt-in: only the federation workload runs them.
 */

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../processes.js';
import { chorusServer, startDaemon } from './chorus-daemon.js';
import { libraryVersion } from './nats.js';
import { natsServerPath, REPLICAS, startJetStreamCluster } from './nats-cluster.js';
import type { Broker, SystemServer } from './system.js';

async function unavailable(): Promise<string | undefined> {
  if ((await natsServerPath()) === undefined)
    return 'nats-server is not installed (Debian: apt-get install nats-server)';
  if (libraryVersion('nats') === 'missing') return 'the nats package is not installed';
  return undefined;
}

async function natsVersions(): Promise<Record<string, string>> {
  const out = await run((await natsServerPath()) ?? 'nats-server', ['--version']);
  return { 'nats-server': out.trim().replace(/^nats-server:\s*/, ''), 'nats (npm)': libraryVersion('nats') };
}

export const chorusFederatedServer: SystemServer = {
  id: 'chorus-federated',
  label: 'Chorus federated, 3 daemons',
  peer: false,
  optIn: true,
  topics: true,
  async unavailable() {
    return (await unavailable()) ?? (await chorusServer.unavailable());
  },
  async versions() {
    return { ...(await chorusServer.versions()), ...(await natsVersions()) };
  },
  async start(options): Promise<Broker> {
    const cluster = await startJetStreamCluster(options.dir, 3);
    const daemons: Broker[] = [];
    try {
      for (const [i] of cluster.urls.entries()) {
        const dir = join(options.dir, `chorusd-${i}`);
        await mkdir(dir, { recursive: true });
        // Each daemon on its own node first, the others to fail over to.
        const servers = [...cluster.urls.slice(i), ...cluster.urls.slice(0, i)];
        daemons.push(
          await startDaemon({
            dir,
            ...(i === 0 && options.nodeFlags !== undefined ? { nodeFlags: options.nodeFlags } : {}),
            config: { federation: { servers, replicas: REPLICAS, daemonId: `bench${i}` } },
          }),
        );
      }
    } catch (error) {
      await Promise.all(daemons.map((d) => d.stop()));
      await cluster.stop();
      throw error;
    }
    const first = daemons[0] as Broker;
    return {
      address: first.address,
      pid: first.pid,
      subscriberAddress: daemons.map((d) => d.address).join('|'),
      async stop() {
        await Promise.all(daemons.map((d) => d.stop()));
        await cluster.stop();
      },
    };
  },
};

export const jetStreamServer: SystemServer = {
  id: 'jetstream',
  label: 'JetStream',
  peer: false,
  optIn: true,
  topics: true,
  unavailable,
  versions: natsVersions,
  async start(options): Promise<Broker> {
    const cluster = await startJetStreamCluster(options.dir, 3);
    return {
      address: cluster.urls.join(','),
      pid: cluster.pids[0],
      // Each subscriber on one node, in turn, as the federated recipients are on one daemon each.
      subscriberAddress: cluster.urls.join('|'),
      stop: () => cluster.stop(),
    };
  },
};
