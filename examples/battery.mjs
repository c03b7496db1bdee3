// The contract both examples share: one group, one typed signal.
import { defineGroup, z } from '@chorus/client';

export const Battery = defineGroup('org.example.Battery', {
  signals: { LevelChanged: z.object({ percent: z.number().min(0).max(100) }) },
});
