// The contract both examples share: one group, one typed signal, one method.
import { defineGroup, z } from '@chorus/client';

export const Battery = defineGroup('org.example.Battery', {
  signals: { LevelChanged: z.object({ percent: z.number().min(0).max(100) }) },
  methods: { GetLevel: { input: z.object({}), output: z.object({ percent: z.number().min(0).max(100) }) } },
});
