import type { DecodedImage } from '@multichexnet/data/decode';
import type { ModelMetadata } from '@multichexnet/runtime';
import type { DemoResult, ExecutionBackend } from './demo-result';

/** Options of one run. */
export interface RunOptions {
  /** false shows det/seg outputs even for images the gate stops (the gated export then runs stage 2 anyway). */
  gated: boolean;
  /** true: an image whose OOD score exceeds the model's threshold gets no findings (`refused`); false: flagged only. */
  refuseOod?: boolean;
}

/** A loaded model, ready to run images in this browser. */
export interface DemoEngine {
  readonly metadata: ModelMetadata;
  /** The execution provider the session actually runs on. */
  readonly backend: ExecutionBackend;
  /** `single`: one graph, every head on every image; `gated`: stage 2 only for images the gate passes. */
  readonly kind: 'single' | 'gated';
  /** Milliseconds it took to create the session(s). */
  readonly loadMs: number;
  run(image: DecodedImage, options: RunOptions): Promise<DemoResult>;
  dispose(): Promise<void>;
}

export const now = (): number => performance.now();
