import { InvalidArgumentError, Option, type Command } from 'commander';

/** Commander parser for a whole number option. */
export function intArg(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return Number(value);
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
};

/** Commander parser for a byte size: `1048576`, `512k`, `32mb`, `1g`. */
export function bytesArg(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = m?.[2]?.toLowerCase() ?? '';
  if (m === null || !(unit in UNITS))
    throw new InvalidArgumentError(`expected a size such as 1048576, 512k or 32mb, got "${value}"`);
  return Math.round(Number(m[1]) * UNITS[unit]!);
}

/** Default Redis URL: `MULTICHEXNET_REDIS`, else the local server. */
export const DEFAULT_REDIS = process.env.MULTICHEXNET_REDIS ?? 'redis://127.0.0.1:6379';

/** What the options of {@link withInferenceOptions} parse to. */
export interface InferenceCliOptions {
  concurrency: number;
  threads?: number;
  ood?: 'refuse' | 'flag' | 'off';
}

/**
 * Adds the options of a command that runs the model, `-c, --concurrency`, `--threads` and `--ood`, in that order;
 * `inferenceSettings` reads them back.
 */
export function withInferenceOptions(
  cmd: Command,
  help: { concurrency: string; defaultConcurrency: number; threads: string },
): Command {
  return cmd
    .option('-c, --concurrency <n>', help.concurrency, intArg, help.defaultConcurrency)
    .option('--threads <n>', help.threads, intArg)
    .addOption(
      new Option(
        '--ood <policy>',
        'images unlike the training films: refuse (default when the model records OOD statistics), flag or off',
      ).choices(['refuse', 'flag', 'off']),
    );
}

/** The settings of {@link withInferenceOptions}' options, those not given left out (the defaults apply). */
export function inferenceSettings(o: InferenceCliOptions): InferenceCliOptions {
  return {
    concurrency: o.concurrency,
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.ood !== undefined ? { ood: o.ood } : {}),
  };
}
