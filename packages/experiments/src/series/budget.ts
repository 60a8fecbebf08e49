import type { TrainingData, TrainingPlan } from '@multichexnet/trainer';

/** What one head got in training: optimizer steps whose loss included it, and labelled rows it saw. */
export interface HeadBudget {
  steps: number;
  /**
   * Expected labelled images that reached the head's loss: per step, batch size times the share of the batch from
   * datasets carrying the head's label (a mixed batch draws from the concatenated training sets, so each
   * dataset's share is its share of the training images). Teacher forcing then routes most of them; the count is
   * before routing.
   */
  images: number;
}

/** The budget of a variant per head. */
export type Budget = Partial<Record<'cls' | 'det' | 'seg', HeadBudget>>;

/** Datasets whose rows carry each head's label: CheXCls reads NIH's 14 labels and RSNA's / SIIM's finding. */
const LABELLED: Record<'cls' | 'det' | 'seg', readonly string[]> = {
  cls: ['nih', 'rsna', 'siim'],
  det: ['rsna'],
  seg: ['siim'],
};

/**
 * Steps and images seen per head over the phases that trained a variant (the shared pre-training included).
 *
 * @example
 * budgetOf(trained.phases, data);   // { cls: { steps: 760, images: 12160 }, det: { steps: 450, images: 3693 }, ... }
 */
export function budgetOf(phases: TrainingPlan['phases'], data: TrainingData): Budget {
  const size = (d: string): number => data[d as 'nih' | 'rsna' | 'siim']?.train.size ?? 0;
  const out: Budget = {};
  for (const head of ['cls', 'det', 'seg'] as const) {
    let steps = 0;
    let images = 0;
    for (const p of phases) {
      if (!p.trainable.includes(head)) continue;
      const recipes = p.batches;
      recipes.forEach((r, k) => {
        if (!r.tasks.includes(head)) return;
        // Alternating phases cycle through their recipes: recipe k gets steps k, k + n, ...
        const n = Math.floor(p.steps / recipes.length) + (k < p.steps % recipes.length ? 1 : 0);
        const total = r.datasets.reduce((s, d) => s + size(d), 0);
        const labelled = r.datasets.filter((d) => LABELLED[head].includes(d)).reduce((s, d) => s + size(d), 0);
        steps += n;
        images += total === 0 ? 0 : (n * p.batchSize * labelled) / total;
      });
    }
    if (steps > 0) out[head] = { steps, images: Math.round(images) };
  }
  return out;
}
