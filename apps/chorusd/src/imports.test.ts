// Why: issue 12. The daemon's files used to import each other in a loop (bus-interface → daemon →
// listeners/ws → session → bus-interface, type-only in part), the symptom of a session reaching
// through the whole daemon. Each part now depends on narrow interfaces below it; this keeps it so,
// `import type` included.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const src = dirname(fileURLToPath(import.meta.url));

/** Every non-test source file under src/, as a path relative to it. */
function sources(dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [relative(src, path)] : [];
  });
}

/** The files of src/ that `file` imports, `import type` and `export … from` included. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), 'utf8');
  const specifiers = [...text.matchAll(/\bfrom\s+'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] as string);
  return specifiers.map((s) => relative(src, resolve(src, dirname(file), s.replace(/\.js$/, '.ts'))));
}

it('has no import cycle among the daemon’s source files, type-only imports included', () => {
  const graph = new Map(sources().map((file) => [file, importsOf(file)]));
  const cycles: string[] = [];
  const done = new Set<string>();
  const visit = (file: string, path: string[]): void => {
    if (path.includes(file)) {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      return;
    }
    if (done.has(file)) return;
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    done.add(file);
  };
  for (const file of graph.keys()) visit(file, []);
  expect(graph.size).toBeGreaterThan(10);
  expect(cycles).toEqual([]);
});
