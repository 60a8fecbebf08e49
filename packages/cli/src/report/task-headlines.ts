import type { TaskHeadline } from '@multichexnet/core';
import { BUILTIN_TASKS } from '@multichexnet/model';

/**
 * The headline numbers of an evaluation's metrics, by the task table: each task present, in table order, in its spec's
 * words (`CheXDet RSNA mAP 0.41`, AP@0.5 beside it).
 *
 * @example
 * taskHeadlines({ cls: { meanAuroc: 0.71, macroF1: 0.3, images: 40 } });   // [{ label: 'CheXCls mean AUROC', value: 0.71, ... }]
 */
export function taskHeadlines(metrics: Readonly<Record<string, unknown>>): TaskHeadline[] {
  return BUILTIN_TASKS.flatMap((spec) =>
    metrics[spec.name] !== undefined && metrics[spec.name] !== null ? spec.evaluation.headline(metrics[spec.name]) : [],
  );
}

/**
 * Chosen decision settings in words, task by task in table order (`14 per-class F1 thresholds`, `box score >= 0.3`).
 */
export function settingsWords(tasks: Readonly<Record<string, Record<string, unknown>>>): string[] {
  return BUILTIN_TASKS.flatMap((spec) =>
    tasks[spec.name] !== undefined ? (spec.evaluation.describeSettings?.(tasks[spec.name]) ?? []) : [],
  );
}
