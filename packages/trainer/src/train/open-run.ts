import { DataError, log, runFolder, writeFileAtomic, type RunFolder } from '@multichexnet/core';
import type { MultiCheXNet } from '@multichexnet/model';
import { sha256Hex } from '../io/tensor-bundle';
import type { LossWeightingState } from '../losses/loss-weighting';
import type { OptimizerState } from '../optim/optimizer';
import {
  loadResumeCheckpoint,
  restoreBlocks,
  type BestState,
  type LoadedCheckpoint,
  type RunPosition,
} from './checkpoint';
import type { TrainEventHandler } from './events';
import { createMemoryMetricsLog, openMetricsLog, type MetricsLog } from './metrics-log';
import type { RunnerContext } from './phase-runner';

/** What a run is: the checkpoints of a run folder belong to one identity (the SHA-256 of its text). */
export interface RunIdentity {
  /** The plan's name (the checkpoints' `plan.name`). */
  name: string;
  /** The canonical text of what is trained (a plan's JSON): a resumed run must have the same. */
  text: string;
  /** Which file of the run folder holds the text (`plan` for a training plan), or none. */
  file?: 'plan';
}

/** A run folder opened for training: its paths, its identity, its metrics log and the checkpoint to resume from. */
export interface OpenedRun {
  folder: RunFolder;
  id: { name: string; sha256: string };
  metrics: MetricsLog;
  /** The checkpoint a resumed run continues from (null: a new run, or nothing saved yet). */
  checkpoint: LoadedCheckpoint | null;
}

async function readText(file: string): Promise<string | null> {
  const fs = await import('node:fs/promises');
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Opens (creates) a run folder. A folder that holds another identity is refused; a folder that already holds
 * checkpoints is refused unless `resume` (then its newest intact checkpoint is loaded, and must belong to the same
 * identity). The metrics log is cut back to the checkpoint's step (to nothing for a new run). Node only.
 */
export async function openRunFolder(
  dir: string,
  identity: RunIdentity,
  options: { resume: boolean },
): Promise<OpenedRun> {
  const fs = await import('node:fs/promises');
  const folder = runFolder(dir);
  const sha256 = await sha256Hex(new TextEncoder().encode(identity.text));
  await fs.mkdir(dir, { recursive: true });
  const identityFile = identity.file !== undefined ? folder[identity.file] : null;
  const existing = identityFile !== null ? await readText(identityFile) : null;
  if (identityFile !== null && existing !== null && existing !== identity.text) {
    throw new DataError('The run folder holds another plan', {
      file: identityFile,
      expected: `plan ${identity.name} (sha256 ${sha256.slice(0, 12)})`,
      found: 'a different plan.json; use a new run folder',
    });
  }
  const checkpoint = options.resume ? await loadResumeCheckpoint(folder.checkpoints, (m) => log.warn(m)) : null;
  if (
    !options.resume &&
    (identityFile === null || existing !== null) &&
    (await readText(folder.checkpointPointer)) !== null
  ) {
    throw new DataError('The run folder already holds checkpoints', {
      file: folder.checkpointPointer,
      expected: 'resume: true, or a new run folder',
      found: 'an existing run',
    });
  }
  if (identityFile !== null) await writeFileAtomic(identityFile, identity.text);
  const metrics = await openMetricsLog(folder.metrics);
  if (checkpoint !== null && checkpoint.manifest.plan.sha256 !== sha256) {
    throw new DataError('The checkpoint belongs to another plan', {
      file: checkpoint.path,
      field: 'plan.sha256',
      expected: sha256,
      found: checkpoint.manifest.plan.sha256,
    });
  }
  // A run that crashed before its first checkpoint starts over: its log starts over too.
  await metrics.truncateAfter(checkpoint?.manifest.position.globalStep ?? 0);
  return { folder, id: { name: identity.name, sha256 }, metrics, checkpoint };
}

/** Where a run starts: the position, best score and clock of its checkpoint, or the beginning. */
export interface RunStart {
  position: RunPosition;
  best: BestState | null;
  /** Training seconds of the calls before this one. */
  elapsedSeconds: number;
  lastCheckpoint: string | null;
  /** The optimizer moments and loss-weighting state to continue the checkpoint's phase with. */
  optimizer: OptimizerState | null;
  weighting: LossWeightingState | null;
}

/** Loads a checkpoint into the model (weights, gate threshold) and says where the run goes on; the beginning without one. */
export async function resumeRun(
  model: MultiCheXNet,
  checkpoint: LoadedCheckpoint | null,
  firstPhase: string,
): Promise<RunStart> {
  if (checkpoint === null) {
    return {
      position: { phaseIndex: 0, phase: firstPhase, step: 0, globalStep: 0 },
      best: null,
      elapsedSeconds: 0,
      lastCheckpoint: null,
      optimizer: null,
      weighting: null,
    };
  }
  await restoreBlocks(model, checkpoint);
  const { state } = checkpoint;
  if (state.gateThreshold !== null && model.gate !== null) model.gate.setThreshold(state.gateThreshold);
  return {
    position: checkpoint.manifest.position,
    best: state.best,
    elapsedSeconds: state.elapsedSeconds,
    lastCheckpoint: checkpoint.path,
    optimizer: checkpoint.optimizer,
    weighting: state.weighting,
  };
}

/** What {@link createRunnerContext} needs besides the opened folder and the start. */
export interface RunnerOptions {
  model: MultiCheXNet;
  /** Steps of the whole run (for progress and the gate-threshold record). */
  totalSteps: number;
  /** Progress events (default: none). */
  emit?: TrainEventHandler;
  signal?: AbortSignal;
  /** A step record every this many steps (default 1). */
  logEvery?: number;
  /** Position checkpoints kept (default 2). */
  keepCheckpoints?: number;
  /** `performance.now()` when this call started (default: now). */
  started?: number;
}

/**
 * The phase runner's context for a run: checkpoints and metrics.jsonl in the opened folder (`null`: no folder, no
 * checkpoints, the metrics kept in memory), starting where `start` stands.
 */
export function createRunnerContext(opened: OpenedRun | null, start: RunStart, o: RunnerOptions): RunnerContext {
  return {
    model: o.model,
    folder: opened?.folder ?? null,
    id: opened?.id ?? { name: start.position.phase, sha256: '' },
    metrics: opened?.metrics ?? createMemoryMetricsLog(),
    emit: o.emit ?? (() => {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
    logEvery: o.logEvery ?? 1,
    keepCheckpoints: o.keepCheckpoints ?? 2,
    totalSteps: o.totalSteps,
    clock: { started: o.started ?? performance.now(), elapsedBefore: start.elapsedSeconds },
    state: { position: start.position, best: start.best, lastCheckpoint: start.lastCheckpoint },
  };
}
