/**
 * Minimal leveled logger shared by the packages. Writes to stderr in Node (stdout stays free for JSON output) and to
 * the console in browsers. `MULTICHEXNET_LOG=debug|info|warn|error|silent` sets the level.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function envLevel(): LogLevel {
  const v = typeof process !== 'undefined' ? process.env?.MULTICHEXNET_LOG : undefined;
  return v !== undefined && v in ORDER ? (v as LogLevel) : 'info';
}

let level: LogLevel = envLevel();
let sink: ((level: LogLevel, message: string) => void) | null = null;

/** Sets the log level for the whole process. */
export function setLogLevel(l: LogLevel): void {
  level = l;
}

/** Redirects log lines (tests, CLIs with progress bars); `null` restores the default. */
export function setLogSink(fn: ((level: LogLevel, message: string) => void) | null): void {
  sink = fn;
}

function emit(l: LogLevel, message: string): void {
  if (ORDER[l] < ORDER[level]) return;
  if (sink !== null) return sink(l, message);
  if (typeof process !== 'undefined' && process.stderr?.write !== undefined) {
    process.stderr.write(`[multichexnet] ${message}\n`);
  } else {
    (l === 'error' ? console.error : l === 'warn' ? console.warn : console.log)(`[multichexnet] ${message}`);
  }
}

/** The project's logger. */
export const log = {
  debug: (m: string) => emit('debug', m),
  info: (m: string) => emit('info', m),
  warn: (m: string) => emit('warn', m),
  error: (m: string) => emit('error', m),
};
