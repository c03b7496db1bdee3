import { join } from 'node:path';

/**
 * The default bus socket: `$XDG_RUNTIME_DIR/chorus/bus.sock`, else `/tmp/chorus-<uid>/bus.sock`.
 * The SDK computes the same path (packages/client) so that `connect()` finds `chorusd`.
 */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env['XDG_RUNTIME_DIR'];
  if (runtime !== undefined && runtime !== '') return join(runtime, 'chorus', 'bus.sock');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join('/tmp', `chorus-${uid}`, 'bus.sock');
}
