import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/** The web monitor's files (built into dist/web), read once at start: `/` is index.html. */
export function webRoutes(): Map<string, { type: string; body: () => Buffer | string }> {
  const dir = fileURLToPath(new URL('./web/', import.meta.url));
  const routes = new Map<string, { type: string; body: () => Buffer | string }>();
  if (!existsSync(dir)) {
    routes.set('/', {
      type: 'text/plain; charset=utf-8',
      body: () => 'The web monitor is not built: run npm run build.\n',
    });
    return routes;
  }
  for (const name of readdirSync(dir)) {
    const type = types[extname(name)];
    if (type === undefined) continue;
    const content = readFileSync(join(dir, name));
    routes.set(`/${name}`, { type, body: () => content });
    if (name === 'index.html') routes.set('/', { type, body: () => content });
  }
  return routes;
}
