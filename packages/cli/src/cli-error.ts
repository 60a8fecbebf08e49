/*
 * Errors are recognised by name, not instanceof: the CLI must start without loading @multichexnet/core (tfjs)
 * for `--help`, `--version` and usage errors.
 */
interface ConfigErrorLike extends Error {
  name: 'ConfigError';
  what: string;
  issues: { path: string; rule: string; received: string }[];
}
const isConfigError = (e: unknown): e is ConfigErrorLike =>
  e instanceof Error && e.name === 'ConfigError' && Array.isArray((e as ConfigErrorLike).issues);
const isDataError = (e: unknown): e is Error => e instanceof Error && e.name === 'DataError';

/** Exit codes scripts can rely on. */
export const EXIT_CODES = {
  /** The command did what it was asked. */
  ok: 0,
  /** It started but failed: bad data, a failed training step, a model that does not load. */
  failure: 1,
  /** It could not start: unknown verb or flag, a missing argument, a path that does not exist, an invalid config. */
  usage: 2,
} as const;

/** One of {@link EXIT_CODES}. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/**
 * A command line the CLI cannot act on (a missing file, an option value out of range, two options that exclude
 * each other). Exit code 2, like commander's own parse errors.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The exit code a thrown value maps to: usage errors and invalid configs 2, everything else 1. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof UsageError || isConfigError(error)) return EXIT_CODES.usage;
  return EXIT_CODES.failure;
}

/**
 * A thrown value as ONE line a user can act on. ConfigError's per-field lines are joined with "; "; DataError
 * already names file, row, field, expected and found.
 *
 * @example
 * describeError(new UsageError('no such file: x.png'));   // 'no such file: x.png'
 */
export function describeError(error: unknown): string {
  if (isConfigError(error)) {
    const issues = error.issues.map((i) => `${i.path === '' ? '(root)' : i.path}: ${i.rule}; received ${i.received}`);
    return `invalid ${error.what}: ${issues.join('; ')}`;
  }
  if (isDataError(error) || error instanceof UsageError) return oneLine(error.message);
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const path = (error as NodeJS.ErrnoException).path;
    if (code === 'ENOENT' && path !== undefined) return `no such file or folder: ${path}`;
    if (code === 'EACCES' && path !== undefined) return `permission denied: ${path}`;
    return oneLine(`${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`);
  }
  return oneLine(String(error));
}

/** Collapses whitespace runs (newlines included) into single spaces. */
export function oneLine(text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
