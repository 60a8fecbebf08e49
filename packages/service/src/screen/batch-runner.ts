import type { GrayImage } from '@multichexnet/core';
import type { DecodedImage } from '@multichexnet/data';
import type { Pipeline, PipelineResult } from '@multichexnet/runtime';

interface Pending {
  image: GrayImage | DecodedImage;
  resolve: (r: PipelineResult) => void;
  reject: (e: unknown) => void;
}

/**
 * Groups the images of concurrently running jobs into one `pipeline.runBatch` call (onnxruntime is faster per
 * image on a batch). An image waits at most `waitMs` for company; a full batch runs at once. Should a batch fail,
 * its images are run one by one, so one bad image fails only its own job.
 */
export class BatchRunner {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly maxBatch: number,
    private readonly waitMs: number,
  ) {}

  /** The pipeline's result for one image, computed in a batch with others. */
  run(image: GrayImage | DecodedImage): Promise<PipelineResult> {
    if (this.maxBatch <= 1) return this.pipeline.run(image);
    return new Promise((resolve, reject) => {
      this.pending.push({ image, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.waitMs);
    });
  }

  private flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending.splice(0, this.maxBatch);
    if (this.pending.length > 0) this.timer = setTimeout(() => this.flush(), this.waitMs);
    if (batch.length === 0) return;
    this.pipeline.runBatch(batch.map((p) => p.image)).then(
      (results) => batch.forEach((p, i) => p.resolve(results[i]!)),
      () => {
        for (const p of batch) this.pipeline.run(p.image).then(p.resolve, p.reject);
      },
    );
  }
}
