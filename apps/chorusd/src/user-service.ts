import { mkdir, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The systemd user units that start the bus with the user's session: `chorusd.socket` listens
 * on the default socket (`%t` is `$XDG_RUNTIME_DIR`) and starts `chorusd.service` at the first
 * connection, handing it the listening socket (socket activation, see socket-activation.ts).
 */
export interface UnitOptions {
  /** Absolute path of the node binary. */
  readonly node: string;
  /** Absolute path of chorusd's main.js. */
  readonly main: string;
  /** A config file to pass with --config. */
  readonly config?: string;
}

export const UNIT_NAMES = ['chorusd.socket', 'chorusd.service'] as const;

/** The user unit directory: `$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`. */
export function userUnitDir(env: NodeJS.ProcessEnv = process.env): string {
  const config = env['XDG_CONFIG_HOME'];
  return join(config !== undefined && config !== '' ? config : join(homedir(), '.config'), 'systemd', 'user');
}

export function renderUnits(options: UnitOptions): Record<(typeof UNIT_NAMES)[number], string> {
  const config = options.config === undefined ? '' : ` --config ${quote(options.config)}`;
  return {
    'chorusd.socket': `[Unit]
Description=Chorus message bus socket

[Socket]
ListenStream=%t/chorus/bus.sock
SocketMode=0600
DirectoryMode=0700
RemoveOnStop=yes

[Install]
WantedBy=sockets.target
`,
    'chorusd.service': `[Unit]
Description=Chorus message bus
Requires=chorusd.socket
After=chorusd.socket

[Service]
ExecStart=${quote(options.node)} ${quote(options.main)} --socket %t/chorus/bus.sock${config}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure

[Install]
Also=chorusd.socket
`,
  };
}

/** Writes both units into `dir`; returns their paths. */
export async function installUnits(dir: string, options: UnitOptions): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const units = renderUnits(options);
  const paths: string[] = [];
  for (const name of UNIT_NAMES) {
    const path = join(dir, name);
    await writeFile(path, units[name]);
    paths.push(path);
  }
  return paths;
}

export async function uninstallUnits(dir: string): Promise<string[]> {
  const paths = UNIT_NAMES.map((name) => join(dir, name));
  for (const path of paths) await rm(path, { force: true });
  return paths;
}

/** systemd's quoting for ExecStart= words: double quotes when needed, `%` doubled (specifiers). */
function quote(word: string): string {
  const escaped = word.replace(/%/g, '%%');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? escaped : `"${escaped.replace(/(["\\])/g, '\\$1')}"`;
}

const SUBCOMMAND_USAGE = `Usage:
  chorusd install-user-service [--config FILE] [--dir DIR]
  chorusd uninstall-user-service [--dir DIR]

Writes (or removes) the systemd user units chorusd.socket and chorusd.service, in DIR
(default: $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user). The service runs this
chorusd with this node; --config passes a config file to it.
`;

/**
 * `chorusd install-user-service` / `uninstall-user-service`; undefined when `argv` is neither.
 * Resolves with the exit code.
 */
export async function runUserServiceCommand(
  argv: readonly string[],
  main: string,
  out: (text: string) => void,
): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command !== 'install-user-service' && command !== 'uninstall-user-service') return undefined;
  const { parseArgs } = await import('node:util');
  let values: { config?: string; dir?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options: { config: { type: 'string' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    out(`chorusd: ${(error as Error).message}\n\n${SUBCOMMAND_USAGE}`);
    return 2;
  }
  if (values.help) {
    out(SUBCOMMAND_USAGE);
    return 0;
  }
  const { resolve } = await import('node:path');
  const dir = resolve(values.dir ?? userUnitDir());
  if (command === 'uninstall-user-service') {
    const paths = await uninstallUnits(dir);
    out(
      `Removed ${paths.join(' and ')}.\nIf they were enabled, first run: systemctl --user disable --now chorusd.socket chorusd.service\n`,
    );
    return 0;
  }
  const config = values.config === undefined ? undefined : resolve(values.config);
  const paths = await installUnits(dir, { node: process.execPath, main, ...(config ? { config } : {}) });
  out(
    `Wrote ${paths.join(' and ')}.\nNow run: systemctl --user daemon-reload && systemctl --user enable --now chorusd.socket\n` +
      'The first client then starts the bus on $XDG_RUNTIME_DIR/chorus/bus.sock.\n',
  );
  return 0;
}
