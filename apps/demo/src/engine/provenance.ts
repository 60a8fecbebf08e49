/** Where the bundled model came from: written next to it by `npm run demo:model` (scripts/copy-model.mjs). */
export interface ModelProvenance {
  /** Run folder name, e.g. `quickstart`. */
  run: string;
  /** The command that trained and exported it. */
  command: string;
  /** When the run's model.onnx was written (ISO 8601). */
  exportedAt: string;
  /** When it was copied into the app (ISO 8601). */
  copiedAt: string;
  /** SHA-256 recorded in the model (its `multichexnet.sha256`). */
  checksum: string;
  /** Final evaluation metrics of the run, name -> value, as the run recorded them. */
  metrics: Record<string, number>;
  /** Free-form facts about the run (data, epochs, encoder), for people. */
  notes?: string[];
}

/** Reads provenance JSON loosely: the page shows what is there and ignores the rest. */
export function parseProvenance(value: unknown): ModelProvenance | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const str = (k: string): string => (typeof v[k] === 'string' ? (v[k] as string) : '');
  const metrics: Record<string, number> = {};
  if (typeof v.metrics === 'object' && v.metrics !== null) {
    for (const [k, m] of Object.entries(v.metrics as Record<string, unknown>))
      if (typeof m === 'number' && Number.isFinite(m)) metrics[k] = m;
  }
  const notes = Array.isArray(v.notes) ? v.notes.filter((n): n is string => typeof n === 'string') : undefined;
  return {
    run: str('run'),
    command: str('command'),
    exportedAt: str('exportedAt'),
    copiedAt: str('copiedAt'),
    checksum: str('checksum'),
    metrics,
    ...(notes ? { notes } : {}),
  };
}
