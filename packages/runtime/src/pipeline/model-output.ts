import { DataError } from '@multichexnet/core/base';
import type { TensorData } from '../model/run-model';

/**
 * The model output `name`, or a DataError listing the outputs there are; `why` says where the name comes from when
 * it is not fixed (e.g. `metadata.ood`).
 */
export function modelOutput(outputs: Record<string, TensorData>, name: string, why?: string): TensorData {
  const t = outputs[name];
  if (t === undefined)
    throw new DataError('Model output missing', {
      field: name,
      expected: `an output named ${name}${why !== undefined ? ` (${why})` : ''}`,
      found: Object.keys(outputs).join(', ') || '(none)',
    });
  return t;
}
