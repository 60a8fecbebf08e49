import { DataError } from '../errors';

/** How one decision setting is checked: what it must be (in words, for the error) and the test. */
export interface SettingRule {
  expected: string;
  check(value: unknown): boolean;
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new DataError('Decode settings must be an object', {
      field,
      expected: 'an object of settings',
      found: JSON.stringify(value),
    });
  }
  return value as Record<string, unknown>;
}

/**
 * A decoder's settings: `defaults`, then what the model recorded, then the caller's overrides; keys set to
 * `undefined` change nothing. Every key given must pass its rule; an override of a key without a rule is a mistake
 * (a DataError naming `field.key`), a recorded one is left out (a file written by a newer version).
 *
 * @example
 * resolveSettings('det', { scoreThreshold: 0.25 }, recorded, { scoreThreshold: 0.4 }, { scoreThreshold: probabilityRule });
 */
export function resolveSettings<S extends object>(
  field: string,
  defaults: S,
  recorded: unknown,
  overrides: unknown,
  rules: { readonly [K in keyof S]-?: SettingRule },
): S {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  const apply = (source: Record<string, unknown>, strict: boolean): void => {
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined) continue;
      const rule = (rules as Record<string, SettingRule | undefined>)[key];
      if (rule === undefined) {
        if (strict)
          throw new DataError('Unknown decode setting', {
            field: `${field}.${key}`,
            expected: `one of ${Object.keys(rules).join(', ') || '(none)'}`,
            found: key,
          });
        continue;
      }
      if (!rule.check(value))
        throw new DataError('Decode setting out of range', {
          field: `${field}.${key}`,
          expected: rule.expected,
          found: JSON.stringify(value),
        });
      out[key] = value;
    }
  };
  apply(record(recorded, field), false);
  apply(record(overrides, field), true);
  return out as S;
}

/** A probability in [0, 1]. */
export const probabilityRule: SettingRule = {
  expected: 'a number in [0, 1]',
  check: (v) => typeof v === 'number' && v >= 0 && v <= 1,
};
