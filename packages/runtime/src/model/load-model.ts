import { DataError } from '@multichexnet/core/base';
import { scanModelProto } from '../onnx/onnx-proto';
import { modelChecksum } from './checksum';
import { nodeFs } from './node-only';
import { CHECKSUM_KEY, metadataFromProps, type ModelMetadata } from './metadata';
import {
  createSession,
  resolveBackend,
  type OrtBackend,
  type OrtSessionLike,
  type SessionOptions,
} from './ort-session';

/** A loaded, verified model with its onnxruntime session. */
export interface OnnxModel {
  /** What the file says about itself (validated). */
  readonly metadata: ModelMetadata;
  /** The verified SHA-256 (see the README, "Model files"). */
  readonly checksum: string;
  readonly backend: OrtBackend;
  /** Where it was loaded from (a path, a URL, or `<bytes>`). */
  readonly source: string;
  /** The session; {@link runModel} is the typed way to use it. */
  readonly session: OrtSessionLike;
  /** Releases the session. */
  dispose(): Promise<void>;
}

/** Options of {@link loadModel}. */
export interface LoadModelOptions extends SessionOptions {
  /** `auto` (default): onnxruntime-node in Node, onnxruntime-web in browsers. */
  backend?: OrtBackend | 'auto';
}

/** What {@link verifyModelBytes} finds in a valid file. */
export interface VerifiedModel {
  metadata: ModelMetadata;
  checksum: string;
}

async function readSource(source: string): Promise<Uint8Array> {
  const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
  if (isNode && !/^https?:\/\//.test(source)) {
    const fs = await nodeFs();
    try {
      return new Uint8Array(await fs.readFile(source));
    } catch (e) {
      throw new DataError('Cannot read model file', { file: source, found: (e as Error).message }, { cause: e });
    }
  }
  const res = await fetch(source);
  if (!res.ok)
    throw new DataError('Cannot fetch model file', { file: source, expected: 'HTTP 200', found: `HTTP ${res.status}` });
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Checks that bytes are a MultiCheXNet ONNX model: a parseable ONNX protobuf (a ModelProto starts with its
 * ir_version field, byte 0x08), our metadata, and a checksum that matches. Throws a DataError saying which
 * check failed; does not create a session.
 */
export async function verifyModelBytes(bytes: Uint8Array, file = '<bytes>'): Promise<VerifiedModel> {
  if (bytes.byteLength < 16 || bytes[0] !== 0x08) {
    throw new DataError('Not an ONNX model file', {
      file,
      expected: 'an ONNX ModelProto (first byte 0x08, the ir_version field)',
      found:
        bytes.byteLength < 16
          ? `${bytes.byteLength} bytes`
          : `first bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')}`,
    });
  }
  let scan;
  try {
    scan = scanModelProto(bytes);
  } catch (e) {
    throw new DataError(
      'Corrupt or truncated ONNX file',
      { file, expected: 'a complete ONNX protobuf', found: (e as Error).message },
      { cause: e },
    );
  }
  if (scan.graphRange === null || scan.irVersion === null) {
    throw new DataError('Not an ONNX model file', {
      file,
      expected: 'ir_version and graph fields',
      found: scan.graphRange === null ? 'no graph' : 'no ir_version',
    });
  }
  const metadata = metadataFromProps(scan.metadataProps, file);
  const stored = scan.metadataProps.find((p) => p.key === CHECKSUM_KEY)?.value;
  if (stored === undefined) {
    throw new DataError('Model file has no checksum', {
      file,
      field: CHECKSUM_KEY,
      expected: 'a SHA-256 hex string',
      found: 'none',
    });
  }
  const actual = await modelChecksum(bytes.subarray(scan.graphRange[0], scan.graphRange[1]), scan.metadataProps);
  if (actual !== stored) {
    throw new DataError('Model checksum mismatch: the file was altered or truncated after export; re-export it', {
      file,
      field: CHECKSUM_KEY,
      expected: stored,
      found: actual,
    });
  }
  return { metadata, checksum: stored };
}

/**
 * Loads a model exported by {@link exportOnnx} from bytes, a file path (Node) or a URL, verifies it (format,
 * metadata, checksum) and opens an onnxruntime session on it.
 *
 * @example
 * const model = await loadModel('runs/exp1/model.onnx');           // onnxruntime-node in Node
 * const web = await loadModel(bytes, { backend: 'web', threads: 1 }); // onnxruntime-web (wasm)
 * console.log(model.metadata.classNames, model.metadata.outputs.map((o) => o.name));
 */
export async function loadModel(
  source: Uint8Array | ArrayBuffer | string,
  options: LoadModelOptions = {},
): Promise<OnnxModel> {
  const file = typeof source === 'string' ? source : '<bytes>';
  const bytes =
    typeof source === 'string'
      ? await readSource(source)
      : source instanceof Uint8Array
        ? source
        : new Uint8Array(source);
  const { metadata, checksum } = await verifyModelBytes(bytes, file);
  const backend = resolveBackend(options.backend ?? 'auto');
  let session: OrtSessionLike;
  try {
    session = await createSession(backend, bytes, options);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError('onnxruntime refused the model', { file, found: (e as Error).message }, { cause: e });
  }
  const missing = metadata.outputs.map((o) => o.name).filter((n) => !session.outputNames.includes(n));
  if (missing.length > 0) {
    await session.release();
    throw new DataError('Model outputs differ from its metadata', {
      file,
      expected: missing.join(', '),
      found: session.outputNames.join(', '),
    });
  }
  let released = false;
  return {
    metadata,
    checksum,
    backend,
    source: file,
    session,
    dispose: async () => {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}
