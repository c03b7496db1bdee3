/*
 * @chorus/cli: the `chorus` command (bin: dist/main.js). The library entry exports the runner,
 * for tools that embed the CLI or drive it with their own Io.
 */

export { run } from './cli.js';
export type { Io, OutputStream } from './context.js';
export { CliErrorCode, ExitCode } from './errors.js';
