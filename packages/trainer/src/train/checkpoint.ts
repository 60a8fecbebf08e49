import {
  CHECKPOINT_FILES,
  DataError,
  LEGACY_WEIGHTS_FILE_EXTENSION,
  WEIGHTS_FILE_EXTENSION,
  encodeBlockWeights,
  loadBlockWeightsFromBytes,
  writeFileAtomic,
} from '@multichexnet/core';
import { decodeTensorBundle, encodeTensorBundle, sha256Hex } from '../io/tensor-bundle';
import type { LossWeightingState } from '../losses/loss-weighting';
import type { MultiCheXNet } from '@multichexnet/model';
import type { OptimizerState } from '../optim/optimizer';

/** The optimizer moments of a checkpoint (safetensors); checkpoints written before it hold `optimizer.bin`. */
const OPTIMIZER_FILE = CHECKPOINT_FILES.optimizer;
const LEGACY_OPTIMIZER_FILE = CHECKPOINT_FILES.legacyOptimizer;
const MANIFEST = CHECKPOINT_FILES.manifest;
const STATE = CHECKPOINT_FILES.state;

/** Where a run stands: the next step to run is `step` of phase `phaseIndex`. */
export interface RunPosition {
  phaseIndex: number;
  phase: string;
  /** Steps of that phase completed. */
  step: number;
  /** Steps completed over the whole plan. */
  globalStep: number;
}

/** Best validation score of the current phase. */
export interface BestState {
  phase: string;
  step: number;
  score: number;
  metric: string;
}

/** The trainer state a checkpoint carries besides the weights and the optimizer moments. */
export interface CheckpointState {
  weighting: LossWeightingState | null;
  optimizer: { type: OptimizerState['type']; steps: Record<string, number> } | null;
  best: BestState | null;
  gateThreshold: number | null;
  /** Training seconds spent before this checkpoint (for time-left estimates after a resume). */
  elapsedSeconds: number;
}

/** The `manifest.json` of a checkpoint folder. */
export interface CheckpointManifest {
  format: 'multichexnet-checkpoint';
  formatVersion: 1;
  plan: { name: string; sha256: string };
  position: RunPosition;
  /** SHA-256 of every file of the folder, checked on load. */
  files: Record<string, string>;
}

const POINTER = CHECKPOINT_FILES.pointer;

/** Folder name of a checkpoint: sortable by position. */
export function checkpointName(pos: RunPosition): string {
  return `p${String(pos.phaseIndex).padStart(2, '0')}-s${String(pos.step).padStart(7, '0')}`;
}

/**
 * Writes a checkpoint atomically: every file into a temporary sibling folder (each fsynced), the folder renamed
 * into place, then `latest.json` (which also holds the manifest's SHA-256) replaced atomically. A crash at any
 * point leaves `latest.json` naming a complete, verified checkpoint. `pointer: false` writes the folder only
 * (the best-weights checkpoint). Node only.
 */
export async function saveCheckpoint(
  root: string,
  name: string,
  args: {
    model: MultiCheXNet;
    position: RunPosition;
    plan: { name: string; sha256: string };
    state: CheckpointState;
    optimizer: OptimizerState | null;
    pointer?: boolean;
  },
): Promise<string> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  await fs.mkdir(root, { recursive: true });
  const final = join(root, name);
  const tmp = join(root, `.tmp-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  await fs.mkdir(tmp);
  try {
    const files: Record<string, string> = {};
    const put = async (file: string, data: Uint8Array | string): Promise<void> => {
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      await writeFileAtomic(join(tmp, file), bytes);
      files[file] = await sha256Hex(bytes);
    };
    for (const [block, b] of args.model.blocks())
      await put(`${block}${WEIGHTS_FILE_EXTENSION}`, await encodeBlockWeights(b));
    if (args.optimizer !== null) {
      await put(
        OPTIMIZER_FILE,
        await encodeTensorBundle(
          args.optimizer.slots.map((s) => ({ name: `${s.key}#${s.slot}`, shape: s.shape, values: s.values })),
        ),
      );
    }
    await put(STATE, `${JSON.stringify(args.state, null, 2)}\n`);
    const manifest: CheckpointManifest = {
      format: 'multichexnet-checkpoint',
      formatVersion: 1,
      plan: args.plan,
      position: args.position,
      files,
    };
    const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
    await writeFileAtomic(join(tmp, MANIFEST), manifestText);
    await removeFolder(root, name);
    await fs.rename(tmp, final);
    if (args.pointer !== false) {
      const pointer = { checkpoint: name, manifestSha256: await sha256Hex(new TextEncoder().encode(manifestText)) };
      await writeFileAtomic(join(root, POINTER), `${JSON.stringify(pointer, null, 2)}\n`);
    }
    return final;
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** A checkpoint read back and verified. */
export interface LoadedCheckpoint {
  path: string;
  manifest: CheckpointManifest;
  state: CheckpointState;
  optimizer: OptimizerState | null;
  blocks: Map<string, Uint8Array>;
}

/**
 * Reads a checkpoint folder and verifies every file against the manifest's SHA-256 (and the manifest against
 * `expectedManifestSha256` when given): a truncated or altered file is refused with a DataError naming it.
 */
export async function loadCheckpoint(path: string, expectedManifestSha256?: string): Promise<LoadedCheckpoint> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const read = async (file: string): Promise<Uint8Array> => {
    try {
      return new Uint8Array(await fs.readFile(join(path, file)));
    } catch (e) {
      throw new DataError(
        'Checkpoint file is missing',
        { file: join(path, file), found: (e as Error).message },
        { cause: e },
      );
    }
  };
  const manifestBytes = await read(MANIFEST);
  if (expectedManifestSha256 !== undefined) {
    const sum = await sha256Hex(manifestBytes);
    if (sum !== expectedManifestSha256) {
      throw new DataError('Checkpoint manifest checksum mismatch: the checkpoint was altered', {
        file: join(path, MANIFEST),
        field: 'manifestSha256',
        expected: expectedManifestSha256,
        found: sum,
      });
    }
  }
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as CheckpointManifest;
  } catch (e) {
    throw new DataError('Checkpoint manifest is not valid JSON', { file: join(path, MANIFEST) }, { cause: e });
  }
  if (manifest.format !== 'multichexnet-checkpoint') {
    throw new DataError('Not a MultiCheXNet checkpoint', {
      file: join(path, MANIFEST),
      field: 'format',
      expected: 'multichexnet-checkpoint',
      found: String(manifest.format),
    });
  }
  const contents = new Map<string, Uint8Array>();
  for (const [file, expected] of Object.entries(manifest.files)) {
    const bytes = await read(file);
    const sum = await sha256Hex(bytes);
    if (sum !== expected) {
      throw new DataError('Checkpoint file checksum mismatch: the file was altered or damaged', {
        file: join(path, file),
        field: 'sha256',
        expected,
        found: sum,
      });
    }
    contents.set(file, bytes);
  }
  const state = JSON.parse(new TextDecoder().decode(contents.get(STATE)!)) as CheckpointState;
  let optimizer: OptimizerState | null = null;
  const optFile = contents.has(OPTIMIZER_FILE) ? OPTIMIZER_FILE : LEGACY_OPTIMIZER_FILE;
  const opt = contents.get(optFile);
  if (opt !== undefined && state.optimizer !== null) {
    const entries = await decodeTensorBundle(opt, join(path, optFile));
    optimizer = {
      type: state.optimizer.type,
      steps: state.optimizer.steps,
      slots: entries.map((e) => {
        const cut = e.name.lastIndexOf('#');
        return { key: e.name.slice(0, cut), slot: e.name.slice(cut + 1), shape: e.shape, values: e.values };
      }),
    };
  }
  const blocks = new Map<string, Uint8Array>();
  for (const [file, bytes] of contents) {
    for (const ext of [WEIGHTS_FILE_EXTENSION, LEGACY_WEIGHTS_FILE_EXTENSION]) {
      if (file.endsWith(ext) && file !== OPTIMIZER_FILE) blocks.set(file.slice(0, -ext.length), bytes);
    }
  }
  return { path, manifest, state, optimizer, blocks };
}

/** Loads the weights of a checkpoint into the model's blocks (every block of the model must be present). */
export async function restoreBlocks(model: MultiCheXNet, ckpt: LoadedCheckpoint): Promise<void> {
  for (const [name, block] of model.blocks()) {
    const bytes = ckpt.blocks.get(name);
    if (bytes === undefined) {
      throw new DataError('Checkpoint lacks a block of the model', {
        file: ckpt.path,
        field: name,
        expected: `${name}${WEIGHTS_FILE_EXTENSION}`,
        found: [...ckpt.blocks.keys()].join(', '),
      });
    }
    await loadBlockWeightsFromBytes(block, bytes, `${ckpt.path}/${name}${WEIGHTS_FILE_EXTENSION}`);
  }
}

/**
 * The checkpoint `latest.json` points to (verified), or null when the folder has none. A `latest.json` that exists
 * but cannot be read is a DataError, not "no checkpoint": a resumed run must never start over silently.
 */
export async function loadLatestCheckpoint(root: string): Promise<LoadedCheckpoint | null> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  let text: string;
  try {
    text = await fs.readFile(join(root, POINTER), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DataError(
      'Checkpoint pointer cannot be read',
      { file: join(root, POINTER), found: (e as Error).message },
      { cause: e },
    );
  }
  let pointer: { checkpoint?: unknown; manifestSha256?: unknown };
  try {
    pointer = JSON.parse(text) as typeof pointer;
  } catch (e) {
    throw new DataError(
      'Checkpoint pointer is damaged',
      { file: join(root, POINTER), expected: 'JSON naming the latest checkpoint', found: (e as Error).message },
      { cause: e },
    );
  }
  if (
    typeof pointer.checkpoint !== 'string' ||
    !/^p\d{2}-s\d{7}$/.test(pointer.checkpoint) ||
    typeof pointer.manifestSha256 !== 'string'
  ) {
    throw new DataError('Checkpoint pointer is damaged', {
      file: join(root, POINTER),
      field: 'checkpoint',
      expected: 'a checkpoint name and its manifest SHA-256',
      found: JSON.stringify(pointer).slice(0, 120),
    });
  }
  return loadCheckpoint(join(root, pointer.checkpoint), pointer.manifestSha256);
}

/**
 * The checkpoint a resumed run continues from. Normally the one `latest.json` names. When that one (or the pointer
 * itself) is damaged, the newest older position checkpoint that verifies is used instead and `warn` says which was
 * damaged and which is used: training is a pure function of the plan and the checkpoint, so the run still ends
 * exactly where an uninterrupted one would, only later. With no intact checkpoint left the damage is thrown: a run
 * never starts over silently. Stale temporary folders of saves a crash interrupted are removed. Node only.
 */
export async function loadResumeCheckpoint(
  root: string,
  warn: (message: string) => void,
): Promise<LoadedCheckpoint | null> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  let names: string[] = [];
  try {
    names = await fs.readdir(root);
  } catch {
    return null;
  }
  // only one process writes a run folder: any temporary folder left now belongs to a save that a crash cut short
  for (const n of names.filter((x) => x.startsWith('.tmp-')))
    await fs.rm(join(root, n), { recursive: true, force: true });
  let damage: DataError;
  try {
    return await loadLatestCheckpoint(root);
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    damage = e;
  }
  const candidates = names
    .filter((n) => /^p\d{2}-s\d{7}$/.test(n))
    .sort()
    .reverse();
  for (const name of candidates) {
    if (damage.context.file?.includes(`${name}`) === true) continue;
    try {
      const ckpt = await loadCheckpoint(join(root, name));
      warn(
        `${damage.message}; resuming from ${name}, the newest intact checkpoint (the run ends with the same result)`,
      );
      return ckpt;
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
    }
  }
  throw new DataError(
    `No intact checkpoint to resume from: ${damage.message}`,
    {
      file: root,
      expected: 'a checkpoint whose files match their checksums',
      found: `${candidates.length} checkpoint folder(s), none intact`,
    },
    { cause: damage },
  );
}

/** Removes all but the newest `keep` position checkpoints (the pointer's target always stays). */
export async function pruneCheckpoints(root: string, keep: number): Promise<void> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const names = (await fs.readdir(root)).filter((n) => /^p\d{2}-s\d{7}$/.test(n)).sort();
  let current: string | null = null;
  try {
    current = (JSON.parse(await fs.readFile(join(root, POINTER), 'utf8')) as { checkpoint: string }).checkpoint;
  } catch {
    /* no pointer yet */
  }
  for (const n of names.slice(0, Math.max(0, names.length - keep))) if (n !== current) await removeFolder(root, n);
}

/**
 * Removes a checkpoint folder without ever showing it half-deleted: it is first renamed (atomically) to a `.tmp-`
 * name, which every reader ignores and a resume clears, then deleted. A recursive delete in place, cut short by a
 * crash, would leave a visible folder missing some of its files.
 */
async function removeFolder(root: string, name: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const trash = join(root, `.tmp-removed-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    await fs.rename(join(root, name), trash);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await fs.rm(trash, { recursive: true, force: true });
}
