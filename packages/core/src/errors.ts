/**
 * The two error classes that carry every user-facing failure of the project.
 *
 * - {@link ConfigError}: a configuration did not validate; the message lists each field path, the rule broken
 *   and the value received.
 * - {@link DataError}: a file, row, field or tensor was not what was expected; the message names where, what
 *   was expected and what was found.
 */

/** One problem found in a configuration. */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. `blocks.1.growthRate` (empty for the root). */
  path: string;
  /** The rule that failed, in words (`must be > 0`). */
  rule: string;
  /** The value received, printed as JSON (or `undefined`). */
  received: string;
}

/** A configuration failed validation. `issues` holds each problem; `message` is readable on its own. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: ConfigIssue[];
  readonly what: string;
  constructor(what: string, issues: ConfigIssue[]) {
    const lines = issues.map((i) => `  - ${i.path === '' ? '(root)' : i.path}: ${i.rule}; received ${i.received}`);
    super(`Invalid ${what}:\n${lines.join('\n')}`);
    this.what = what;
    this.issues = issues;
  }
}

/** Where a data problem was found. All fields optional; give as many as are known. */
export interface DataErrorContext {
  /** File path (or URL, or tensor name). */
  file?: string;
  /** 1-based row (CSV line) or sample index. */
  row?: number;
  /** Column, tag, field or tensor name. */
  field?: string;
  /** What was expected, in words. */
  expected?: string;
  /** What was found, in words. */
  found?: string;
}

/**
 * Bad input: a file, row, field or tensor that is not what it should be. The message always has the shape
 * `<what went wrong> (file F, row R, field X): expected E, found G`.
 */
export class DataError extends Error {
  override readonly name = 'DataError';
  readonly context: DataErrorContext;
  constructor(message: string, context: DataErrorContext = {}, options?: { cause?: unknown }) {
    const where: string[] = [];
    if (context.file !== undefined) where.push(`file ${context.file}`);
    if (context.row !== undefined) where.push(`row ${context.row}`);
    if (context.field !== undefined) where.push(`field ${context.field}`);
    let text = message;
    if (where.length > 0) text += ` (${where.join(', ')})`;
    if (context.expected !== undefined || context.found !== undefined) {
      text += `: expected ${context.expected ?? '?'}, found ${context.found ?? '?'}`;
    }
    super(text, options);
    this.context = context;
  }
}

/** Shape check for tensors and arrays: throws a {@link DataError} naming the tensor and both shapes. */
export function assertShape(
  name: string,
  found: readonly (number | null)[],
  expected: readonly (number | null)[],
): void {
  const ok =
    found.length === expected.length &&
    expected.every((e, i) => e === null || e === -1 || found[i] === null || e === found[i]);
  if (!ok) {
    throw new DataError('Tensor has the wrong shape', {
      field: name,
      expected: `[${expected.map((e) => (e === null || e === -1 ? '?' : e)).join(', ')}]`,
      found: `[${found.join(', ')}]`,
    });
  }
}
