import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors';

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(value);
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** Turns one zod issue into a rule in words. */
function ruleOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small': {
      const op = issue.inclusive ? '>=' : '>';
      const unit = issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : '';
      return `must be ${op} ${String(issue.minimum)}${unit}`;
    }
    case 'too_big': {
      const op = issue.inclusive ? '<=' : '<';
      const unit = issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : '';
      return `must be ${op} ${String(issue.maximum)}${unit}`;
    }
    case 'invalid_type':
      return `must be of type ${issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    default:
      return issue.message;
  }
}

/**
 * Validates `input` against a zod schema once and returns the resolved config (`z.output`).
 * On failure throws a {@link ConfigError} whose message names each field, the rule and the value received,
 * e.g. `growthRate: must be > 0; received -1`.
 *
 * @example
 * const cfg = parseConfig(EncoderConfigSchema, { preset: 'densenet-tiny' }, 'encoder config');
 */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, what = 'config'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues: ConfigIssue[] = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const received =
      issue.code === 'unrecognized_keys'
        ? show(Object.fromEntries(issue.keys.map((k) => [k, valueAt(input, [...issue.path, k])])))
        : show(valueAt(input, issue.path));
    return { path, rule: ruleOf(issue), received };
  });
  throw new ConfigError(what, issues);
}

const channels = z.number().int().positive();

/**
 * Channel counts of the encoder levels c2..c5 (`encoder.featureChannels`): the `featureChannels` field of every head's
 * and the gate head's config.
 */
export const FeatureChannelsSchema = z.object({ c2: channels, c3: channels, c4: channels, c5: channels }).strict();

export { z };

/** A seed of the project's RNGs: an unsigned 32-bit integer. Add `.default(...)` where a config has one. */
export const SeedSchema = z
  .number()
  .int()
  .nonnegative()
  .max(2 ** 32 - 1);

/** A block name (prefix of every layer name): a letter, then letters, digits, `_` and `-`. */
export const BlockNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'must start with a letter and hold only letters, digits, _ and -');
