import { DataError } from '@multichexnet/core';

/** One tensor of a checkpoint, read lazily: only the tensors an importer maps are ever converted. */
export interface CheckpointTensor {
  /** Shape as stored (PyTorch's NCHW / [out, in] order). */
  shape: number[];
  /** The element type as the file names it (`F32`, `FloatStorage`, ...). */
  dtype: string;
  /** The values, row-major, as float32 (a copy). */
  values(): Float32Array;
}

/** A state dict: tensor names in file order (JS Maps keep insertion order). */
export type StateDict = Map<string, CheckpointTensor>;

/** Where a state dict came from: what the one-line errors name. */
export interface CheckpointSource {
  /** The file (path or URL) as the user gave it. */
  file: string;
  /** `torch-zip` (`torch.save`, PyTorch >= 1.6) or `safetensors`. */
  format: 'torch-zip' | 'safetensors';
}

function pyQuote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The one-line Python command that turns a checkpoint this package cannot read (a pickled module, the legacy
 * pre-1.6 `torch.save` format) into a state_dict safetensors file, run where that checkpoint's own code is
 * installed (torch, safetensors, and the model's package, e.g. torchxrayvision).
 *
 * @example
 * conversionCommand('model.pth.tar');   // python -c "import torch; ... save_file(..., 'model.safetensors')"
 */
export function conversionCommand(file: string): string {
  const base = file.replace(/\.(pth\.tar|pth|pt|tar|bin|ckpt)$/i, '');
  const out = `${base === file ? file : base}.safetensors`;
  return (
    `python -c "import torch; from safetensors.torch import save_file; ` +
    `o = torch.load(${pyQuote(file)}, map_location='cpu', weights_only=False); ` +
    `sd = o.state_dict() if hasattr(o, 'state_dict') else o.get('state_dict', o); ` +
    `save_file({k: v.detach().contiguous().clone() for k, v in sd.items() if torch.is_tensor(v)}, ${pyQuote(out)})"`
  );
}

/**
 * The error for a checkpoint that needs arbitrary Python to load: one line naming the file, what was found and the
 * exact command that converts it.
 */
export function needsPythonError(file: string, found: string): DataError {
  return new DataError(
    `Checkpoint needs Python to load (file ${file}): found ${found}, expected a plain state_dict of tensors; convert it once with: ${conversionCommand(file)}`,
  );
}
