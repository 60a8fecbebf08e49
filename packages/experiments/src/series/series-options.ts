import { z } from '@multichexnet/core';

/** The options every series command takes: its folder, the protocol's series and seeds, the protocol file. */
export const SERIES_FIELDS = {
  /** Series folder: seed-<n>/ per seed (data, one run folder per variant, seed-tables12.json), table1/2.{json,md}. */
  out: z.string().min(1),
  /** A series of the protocol (`tiny`, `small`, a learnability series): size, step scale, seeds, variants. */
  series: z.string().min(1).default('tiny'),
  /**
   * Seeds to run in this call; default the series' planned seeds (the first `seeds` of the protocol's final
   * seeds). The tables cover every finished seed of the folder.
   */
  seeds: z.array(z.number().int().nonnegative()).min(1).optional(),
  /** Protocol file; default the package's `protocol.json`. */
  protocol: z.string().min(1).optional(),
  /** Run with an unfrozen protocol (tuning, smoke tests): the tables then say so. */
  allowUnfrozen: z.boolean().default(false),
};
