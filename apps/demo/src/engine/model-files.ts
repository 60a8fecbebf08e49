import { DataError } from '@multichexnet/core/base';
import { verifyModelBytes, type ModelMetadata } from '@multichexnet/runtime';

/** One file the user gave (or the page fetched): its name and bytes. */
export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/** A verified model the page can run: one `model.onnx` graph, or the two graphs of a gated export. */
export type ModelFiles =
  | { kind: 'single'; name: string; bytes: Uint8Array; metadata: ModelMetadata; checksum: string; sizeBytes: number }
  | {
      kind: 'gated';
      name: string;
      stage1: Uint8Array;
      stage2: Uint8Array | null;
      metadata: ModelMetadata;
      checksum: string;
      sizeBytes: number;
    };

/**
 * Verifies model files (ONNX format, MultiCheXNet metadata, checksum) and tells which kind they are: a single
 * `model.onnx` (role `model`, from `multichexnet export`) or a gated pair (`model.stage1.onnx` and, optionally,
 * `model.stage2.onnx`). Throws a DataError naming the file and the failed check.
 *
 * @example
 * const model = await readModelFiles([{ name: 'model.onnx', bytes }]);
 * model.kind; // 'single'
 */
export async function readModelFiles(files: readonly NamedBytes[]): Promise<ModelFiles> {
  if (files.length === 0 || files.length > 2) {
    throw new DataError('Choose one model.onnx, or the two files of a gated export', {
      field: 'model files',
      expected: 'model.onnx, or model.stage1.onnx + model.stage2.onnx',
      found: `${files.length} files`,
    });
  }
  const verified = await Promise.all(files.map(async (f) => ({ ...f, ...(await verifyModelBytes(f.bytes, f.name)) })));
  const sizeBytes = files.reduce((n, f) => n + f.bytes.byteLength, 0);
  const single = verified.find((v) => v.metadata.role === 'model');
  if (single !== undefined) {
    if (verified.length > 1) {
      throw new DataError('A single-graph model.onnx runs on its own', {
        file: single.name,
        expected: 'one file',
        found: `${verified.length} files`,
      });
    }
    return {
      kind: 'single',
      name: single.name,
      bytes: single.bytes,
      metadata: single.metadata,
      checksum: single.checksum,
      sizeBytes,
    };
  }
  const stage1 = verified.find((v) => v.metadata.role === 'stage1');
  const stage2 = verified.find((v) => v.metadata.role === 'stage2') ?? null;
  if (stage1 === undefined) {
    throw new DataError('A gated export needs its stage-1 graph', {
      file: verified[0]!.name,
      field: 'multichexnet.role',
      expected: 'model or stage1',
      found: verified.map((v) => v.metadata.role).join(', '),
    });
  }
  if (verified.length === 2 && stage2 === null) {
    throw new DataError('A gated export is one stage-1 and one stage-2 graph', {
      file: verified[1]!.name,
      field: 'multichexnet.role',
      expected: 'stage2',
      found: verified[1]!.metadata.role,
    });
  }
  if (stage2 !== null && stage2.metadata.pairedWith !== stage1.checksum) {
    throw new DataError('These two graphs were not exported together', {
      file: stage2.name,
      field: 'multichexnet.pairedWith',
      expected: stage1.checksum,
      found: stage2.metadata.pairedWith ?? 'nothing',
    });
  }
  return {
    kind: 'gated',
    name: stage2 === null ? stage1.name : `${stage1.name} + ${stage2.name}`,
    stage1: stage1.bytes,
    stage2: stage2?.bytes ?? null,
    metadata: stage1.metadata,
    checksum: stage1.checksum,
    sizeBytes,
  };
}
