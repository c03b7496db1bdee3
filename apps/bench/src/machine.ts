import { cpus, loadavg, release, totalmem } from 'node:os';
import type { Machine } from './results.js';

export function machine(): Machine {
  const cores = cpus();
  return {
    cpu: cores[0]?.model.trim() ?? 'unknown CPU',
    cores: cores.length,
    memoryGiB: totalmem() / 2 ** 30,
    kernel: release(),
    node: process.version,
    load: loadavg(),
  };
}
