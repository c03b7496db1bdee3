/**
 * systemd's socket activation protocol (sd_listen_fds(3)): a service manager that listens on
 * the bus socket itself starts the daemon at the first connection and hands it the listening
 * socket as fd 3, with `LISTEN_PID` (this process) and `LISTEN_FDS` (how many) in the
 * environment. `systemd-socket-activate` does the same without a running systemd.
 */

/** The first passed file descriptor: 0, 1 and 2 are stdio. */
export const SD_LISTEN_FDS_START = 3;

export interface InheritedSocket {
  readonly fd: number;
  /** `LISTEN_FDNAMES`' first name, when the manager gave one (FileDescriptorName=). */
  readonly name: string | undefined;
}

/**
 * The listening socket this process was given, or undefined when it was given none (or the
 * variables were meant for another process: `LISTEN_PID` must be ours). The variables are removed
 * from `env` either way, as sd_listen_fds(unset_environment=1) does, so children never see them.
 */
export function inheritedSocket(env: NodeJS.ProcessEnv, pid: number): InheritedSocket | undefined {
  const listenPid = env['LISTEN_PID'];
  const listenFds = env['LISTEN_FDS'];
  const names = env['LISTEN_FDNAMES'];
  delete env['LISTEN_PID'];
  delete env['LISTEN_FDS'];
  delete env['LISTEN_FDNAMES'];
  if (listenPid === undefined || listenFds === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(listenPid) || Number(listenPid) !== pid) return undefined;
  if (!/^[1-9][0-9]*$/.test(listenFds)) return undefined;
  if (Number(listenFds) > 1) {
    throw new Error(
      `the service manager passed ${listenFds} sockets; chorusd takes one (the bus socket): give its unit one ListenStream=`,
    );
  }
  const name = names?.split(':')[0];
  return { fd: SD_LISTEN_FDS_START, name: name === '' ? undefined : name };
}
