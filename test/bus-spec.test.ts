import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BusContract } from '@chorus/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { RawClient } from './harness/raw-client.js';

// The org.chorus.Bus section of the wire spec is generated from the contract's one definition
// (packages/protocol/scripts/bus-spec.mjs); it must be what the generator writes now, and the
// daemon must publish the same contract (its inputs and signals) as the one the spec shows.

const root = fileURLToPath(new URL('..', import.meta.url));

let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon({ args: ['--no-ws'] });
});
afterAll(async () => {
  await daemon?.cleanup();
});

it('the spec section is what the generator writes from the contract', () => {
  const run = spawnSync(process.execPath, ['packages/protocol/scripts/bus-spec.mjs', '--check'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
});

/** The part of a JSON Schema this test walks. */
interface Schema {
  properties: { signals: { properties: unknown }; methods: { properties: Record<string, Method> } };
}
interface Method {
  properties: { input: unknown };
}

it("the daemon publishes the contract's signals and method inputs", async () => {
  const peer = await RawClient.open(daemon.socketPath);
  const { schema } = await peer.bus<{ schema: Schema }>('GetGroupSchema', {
    group: 'org.chorus.Bus',
  });
  const contract = BusContract.jsonSchema() as unknown as Schema;
  expect(schema.properties.signals.properties).toEqual(contract.properties.signals.properties);
  const inputs = (methods: Record<string, Method>) =>
    Object.fromEntries(Object.entries(methods).map(([name, m]) => [name, m.properties.input]));
  // $schema and the daemon's `additionalProperties: false` (zod's output view; both sides strip
  // unknown keys rather than refuse them) are not part of the contract's shape.
  const strip = (value: unknown) =>
    JSON.parse(
      JSON.stringify(value, (k, v) =>
        k === '$schema' || (k === 'additionalProperties' && v === false) ? undefined : v,
      ),
    );
  expect(strip(inputs(schema.properties.methods.properties))).toEqual(
    strip(inputs(contract.properties.methods.properties)),
  );
  peer.close();
});
