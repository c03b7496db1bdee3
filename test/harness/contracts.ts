import { defineGroup, z } from '@chorus/client';

/**
 * The contract of the call tests (test/calls.test.ts, test/introspection.test.ts). Its service
 * runs in another process, test/fixtures/peer.mjs, which is plain JS and so keeps its own copy:
 * change both together.
 */
export const Calc = defineGroup('test.calls.Calc', {
  signals: { Step: z.object({ i: z.number().int() }) },
  methods: {
    Add: { input: z.object({ a: z.number(), b: z.number() }), output: z.object({ sum: z.number() }) },
    Fail: { input: z.object({ name: z.string(), message: z.string() }), output: z.object({}) },
    BadReply: { input: z.object({}), output: z.object({ ok: z.boolean() }) },
    Wait: { input: z.object({}), output: z.object({}) },
    StepThenReply: { input: z.object({ i: z.number().int() }), output: z.object({ i: z.number().int() }) },
  },
});
