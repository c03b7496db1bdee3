/* JSON lines on stderr, as chorusd logs: one object per event, never a stack unless debugging. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

export type Log = (
  level: Exclude<LogLevel, 'silent'>,
  event: string,
  fields?: Record<string, unknown>,
) => void;

export function isLogLevel(value: string): value is LogLevel {
  return (ORDER as readonly string[]).includes(value);
}

export function createLog(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Log {
  const min = ORDER.indexOf(level);
  return (at, event, fields = {}) => {
    if (ORDER.indexOf(at) < min) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: at, event, ...fields })}\n`);
  };
}
