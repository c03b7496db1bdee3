/*
 * The systems under test, by id. Client sides are loaded on demand, so a subscriber process only
 * loads the library of the system it serves.
 */

import { chorusEmitServer, chorusNoValidateServer, chorusServer } from './chorus-daemon.js';
import { dbusServer } from './dbus.js';
import { chorusFederatedServer, jetStreamServer } from './federation.js';
import { mqttServer } from './mqtt.js';
import { natsServer } from './nats.js';
import { rawServer } from './raw.js';
import { redisServer } from './redis.js';
import type { SystemClient, SystemId, SystemServer } from './system.js';

/** In table order: Chorus, the raw limit, then the peers. */
export const servers: readonly SystemServer[] = [
  chorusServer,
  chorusEmitServer,
  chorusNoValidateServer,
  chorusFederatedServer,
  jetStreamServer,
  rawServer,
  natsServer,
  redisServer,
  mqttServer,
  dbusServer,
];

export function serverOf(id: SystemId): SystemServer {
  const server = servers.find((s) => s.id === id);
  if (server === undefined) throw new Error(`unknown system ${id}`);
  return server;
}

export async function clientOf(id: SystemId): Promise<SystemClient> {
  switch (id) {
    case 'chorus':
      return (await import('./chorus.js')).chorusClient;
    case 'chorus-emit':
      return (await import('./chorus.js')).chorusEmitClient;
    case 'chorus-novalidate':
      return (await import('./chorus.js')).chorusNoValidateClient;
    case 'chorus-federated':
      return (await import('./chorus.js')).chorusFederatedClient;
    case 'jetstream':
      return (await import('./jetstream.js')).jetStreamClient;
    case 'raw':
      return (await import('./raw.js')).rawClient;
    case 'nats':
      return (await import('./nats.js')).natsClient;
    case 'redis':
      return (await import('./redis.js')).redisClient;
    case 'mqtt':
      return (await import('./mqtt.js')).mqttClient;
    case 'dbus':
      return (await import('./dbus.js')).dbusClient;
  }
}
