/*
 * The JSON Schema a group publishes for its contract (`create`'s `schema`, answered by
 * GetGroupSchema and ListGroups), computed one way for every group: the SDK's `createGroup` and the
 * daemon's own `org.chorus.Bus` both call this function, so tools read them alike.
 */

import { z } from 'zod';

/**
 * JSON Schema of a contract: an object with `signals` (one property per signal: its payload) and
 * `methods` (one property per method: an object with `input` and `output`), input side (what
 * travels on the wire: what emit and call accept, what services return; receivers run the
 * transforms). Undefined when a schema has no JSON Schema form (dates, `undefined`, ...).
 *
 * @example
 * ```ts
 * const schema = contractJsonSchema(
 *   { LevelChanged: z.object({ percent: z.number() }) },
 *   { GetLevel: { input: z.object({}), output: z.object({ percent: z.number() }) } },
 * );
 * ```
 */
export function contractJsonSchema(
  signals: Readonly<Record<string, z.ZodType>>,
  methods: Readonly<Record<string, { readonly input: z.ZodType; readonly output: z.ZodType }>>,
): Record<string, unknown> | undefined {
  try {
    const methodSchemas: Record<string, z.ZodType> = {};
    for (const [method, { input, output }] of Object.entries(methods))
      methodSchemas[method] = z.object({ input, output });
    const contract = z.object({ signals: z.object(signals), methods: z.object(methodSchemas) });
    return z.toJSONSchema(contract, { io: 'input' }) as Record<string, unknown>;
  } catch {
    // Not every schema has a JSON form; the schema is only informative for tools.
    return undefined;
  }
}
