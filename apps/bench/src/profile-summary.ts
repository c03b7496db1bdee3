/*
 * Summarises a V8 CPU profile (`node --cpu-prof`): the functions with the most self time, and the
 * same grouped by file. Usage: node dist/profile-summary.js FILE.cpuprofile [TOP]
 */

import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

function shortUrl(url: string): string {
  return url
    .replace(/^file:\/\/.*?\/(packages|apps)\//, '$1/')
    .replace(/^file:\/\/.*?\/node_modules\//, 'node_modules/')
    .replace(/^node:/, 'node:');
}

export function summarise(profile: Profile, top: number): string {
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the delta to the next sample.
  for (let k = 0; k < samples.length; k++) {
    const id = samples[k] as number;
    const dt = deltas[k + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url === '' ? `(${functionName || 'native'})` : shortUrl(url);
    const name = `${functionName || '(anonymous)'}  ${file}${url === '' ? '' : `:${lineNumber + 1}`}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const lines = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([name, us]) =>
          `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`,
      );
  return [
    `profile: ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s, ${(total / 1e6).toFixed(1)} s sampled`,
    '',
    'self time by function:',
    ...lines(byFunction),
    '',
    'self time by file:',
    ...lines(byFile),
    '',
  ].join('\n');
}

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: profile-summary FILE.cpuprofile [TOP]\n');
  process.exit(2);
}
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
process.stdout.write(summarise(profile, Number(process.argv[3] ?? 25)));
