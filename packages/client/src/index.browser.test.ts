/*
 * Why: a browser bundle must never load a Node built-in (the unix transport imports node:net).
 * package.json sends bundlers to index.browser.ts under the `browser` condition; this walks every
 * module that entry loads at runtime (type-only imports are erased) and looks for Node.
 */

import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
// Workspace packages are bundled from their sources too, so they are walked as well.
const workspace: Record<string, string> = {
  '@chorus/core': resolve(here, '../../core/src/index.ts'),
  '@chorus/protocol': resolve(here, '../../protocol/src/index.ts'),
};
const builtins = new Set(builtinModules);
// Globals a browser lacks (imports are checked separately).
const MUST_NOT_APPEAR = [/\bprocess\./, /\bBuffer\./, /\brequire\(/, /\b__dirname\b/];

/** Runtime imports of a module: `import x from`, `export { x } from`, side-effect imports; not `import type`. */
function runtimeSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specifiers: string[] = [];
  const statement =
    /(?:^|;|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;
  for (const match of code.matchAll(statement)) {
    if (match[5] !== undefined) specifiers.push(match[5]);
    else if (match[2] === undefined && match[4] !== undefined) specifiers.push(match[4]);
  }
  for (const match of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g))
    specifiers.push(match[1] as string);
  return specifiers;
}

function walk(entry: string): { files: string[]; external: Set<string> } {
  const files: string[] = [];
  const external = new Set<string>();
  const queue = [entry];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    files.push(file);
    for (const specifier of runtimeSpecifiers(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else if (workspace[specifier] !== undefined) queue.push(workspace[specifier]);
      else external.add(specifier);
    }
  }
  return { files, external };
}

describe('the browser entry', () => {
  const { files, external } = walk(join(here, 'index.browser.ts'));

  it('is what package.json exports under the browser condition', () => {
    const pkg = JSON.parse(readFileSync(join(here, '../package.json'), 'utf8'));
    expect(pkg.exports['.'].browser['@chorus/source']).toBe('./src/index.browser.ts');
    expect(Object.keys(pkg.exports['.'])[0]).toBe('browser');
  });

  it('loads no Node built-in, directly or through its imports', () => {
    const node = [...external].filter(
      (s) => s.startsWith('node:') || builtins.has(s.split('/')[0] as string),
    );
    expect(node).toEqual([]);
    expect([...external].sort()).toEqual(['@msgpack/msgpack', 'zod']);
    expect(files.map((f) => relative(here, f))).not.toContain(join('transports', 'unix.ts'));
  });

  it('uses no Node-only global', () => {
    for (const file of files) {
      const code = readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      for (const pattern of MUST_NOT_APPEAR)
        expect([relative(here, file), pattern.test(code)]).toEqual([relative(here, file), false]);
    }
  });

  it('exports the same names as the node entry, minus the unix transport', async () => {
    const browser = Object.keys(await import('./index.browser.js')).sort();
    const node = Object.keys(await import('./index.js')).sort();
    expect(node.filter((name) => !['connectUnix', 'socketTransport'].includes(name))).toEqual(browser);
  });

  it('is checked by a walker that does see a node import', () => {
    // Guard the guard: the node entry must be caught.
    const { external: nodeExternal } = walk(join(here, 'index.ts'));
    expect([...nodeExternal]).toContain('node:net');
    expect([...nodeExternal]).toContain('ws'); // Node's WebSocket; the browser entry uses the global one
  });
});
