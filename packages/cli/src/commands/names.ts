/*
 * Names the help texts list. They mirror @multichexnet/trainer's BUILTIN_PLANS and PLAN_SIZES and @multichexnet/experiments' VARIANTS (a test
 * keeps them equal) so that `--help` and usage errors answer without loading the trainer and tfjs.
 */

/** The trainer's built-in plans. */
export const BUILTIN_PLAN_NAMES = [
  'multichexnet-joint',
  'multichexnet-alternating',
  'bigbang',
  'single-cls',
  'single-det',
  'single-seg',
] as const;
/** The trainer's plan sizes. */
export const PLAN_SIZE_NAMES = ['tiny', 'small', 'full'] as const;
/** The variants the experiments train. */
export const VARIANT_NAMES = [
  'single-cls',
  'single-det',
  'single-seg',
  'stage1-cls',
  'stage2-det',
  'stage3-seg',
  'bigbang',
  'multichexnet-joint',
  'multichexnet-alternating',
  'multichexnet-joint-gradnorm',
  'multichexnet-joint-pcgrad',
] as const;
/** The experiments `multichexnet experiment` runs. */
export const EXPERIMENTS = ['table1', 'table2', 'table3', 'table4', 'freeze'] as const;
