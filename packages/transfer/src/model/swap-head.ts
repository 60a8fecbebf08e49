import { DataError, type AnyTaskSpec, type TaskHead } from '@multichexnet/core';
import { createGate, type Gate, type GateConfig } from '@multichexnet/gating';
import { BUILTIN_TASKS, createMultiCheXNet, type MultiCheXNet } from '@multichexnet/model';

/**
 * What becomes of a `cls-path` gate when the head of the task it reads changes (the gate reads that task's
 * probabilities by class name: CheXCls's, unless it says otherwise).
 * `undefined` (default): keep the gate's classes when the new head still has all of them, else a DataError;
 * `null`: drop the gate (det / seg then run ungated: `predict(x, { gating: 'none' })`); an object: a new cls-path
 * gate over these classes of the new head (threshold and reduce default to the old gate's).
 * A `binary-head` gate reads the encoder features and is kept as it is.
 */
export type ClsGateChoice = null | { classes: string[]; threshold?: number; reduce?: 'max' | 'any' };

/** Options of {@link swapHead} and {@link addHead}. */
export interface HeadChangeOptions {
  gate?: ClsGateChoice;
  /** addHead: the spec of a task outside the model's and the built-in table (a user's own task). */
  spec?: AnyTaskSpec;
}

type ClsPathConfig = Extract<GateConfig, { kind: 'cls-path' }>;

function specFor(model: MultiCheXNet, task: string, head: unknown, extra?: AnyTaskSpec): AnyTaskSpec {
  const table = [...model.taskSpecs, ...BUILTIN_TASKS, ...(extra !== undefined ? [extra] : [])];
  const spec = table.find((s) => s.name === task);
  if (spec === undefined) {
    throw new DataError('Unknown task slot', {
      field: 'task',
      expected: `one of ${[...new Set(table.map((s) => s.name))].join(', ')} (or pass its spec)`,
      found: JSON.stringify(task),
    });
  }
  const className = (head as { className?: unknown } | null)?.className;
  if (head === null || typeof head !== 'object' || className !== spec.headClassName) {
    throw new DataError('The new head does not do this task', {
      field: 'newHead',
      expected: `a ${spec.headClassName} (task ${JSON.stringify(task)})`,
      found: head === null || typeof head !== 'object' ? String(head) : JSON.stringify(className),
    });
  }
  return spec;
}

/** The gate of the changed model: a cls-path gate reading the changed task follows the choice; any other is kept. */
function gateFor(
  model: MultiCheXNet,
  spec: AnyTaskSpec,
  newHead: TaskHead,
  choice: ClsGateChoice | undefined,
): Gate | null {
  const old = model.gate;
  const reads = old?.kind === 'cls-path' ? (old.config as ClsPathConfig).task : 'cls';
  if (spec.name !== reads || spec.classesOf === undefined) return old;
  const classNames = [...spec.classesOf(newHead)];
  if (choice === null) return old?.kind === 'cls-path' ? null : old;
  if (choice !== undefined) {
    const prev = old?.kind === 'cls-path' ? (old.config as ClsPathConfig) : null;
    const missing = choice.classes.filter((c) => !classNames.includes(c));
    if (missing.length > 0) {
      throw new DataError('The gate classes must be classes of the new head', {
        field: 'options.gate.classes',
        expected: `some of ${classNames.join(', ')}`,
        found: missing.join(', '),
      });
    }
    if (old !== null && old.kind !== 'cls-path') {
      throw new DataError('The model has a binary-head gate; a cls-path gate cannot replace it here', {
        field: 'options.gate',
        expected: 'undefined (keep the binary-head gate)',
        found: JSON.stringify(choice),
      });
    }
    return createGate({
      kind: 'cls-path',
      task: spec.name,
      classes: choice.classes,
      classNames,
      threshold: choice.threshold ?? prev?.threshold ?? 0.5,
      reduce: choice.reduce ?? prev?.reduce ?? 'max',
    });
  }
  if (old === null || old.kind !== 'cls-path') return old;
  const cfg = old.config as ClsPathConfig;
  const missing = cfg.classes.filter((c) => !classNames.includes(c));
  if (missing.length > 0) {
    throw new DataError('The cls-path gate reads classes the new head does not have', {
      field: 'options.gate',
      expected: `a new head with ${cfg.classes.join(', ')}, or options.gate = { classes: [...] } (classes of the new head) or null (no gate)`,
      found: `new head classes ${classNames.join(', ')}`,
    });
  }
  return createGate({ ...cfg, classNames });
}

function recompose(
  model: MultiCheXNet,
  spec: AnyTaskSpec,
  newHead: TaskHead,
  options: HeadChangeOptions,
): MultiCheXNet {
  for (const [name, block] of model.blocks()) {
    if ((block as unknown) === newHead) {
      throw new DataError('The new head is already a block of this model', {
        field: 'newHead',
        expected: 'a head not in the model',
        found: `the model's ${name} block`,
      });
    }
  }
  const gate = gateFor(model, spec, newHead, options.gate);
  const heads = { ...model.heads, [spec.name]: newHead };
  const tasks = [...model.taskSpecs, spec].filter((s) => !BUILTIN_TASKS.includes(s));
  return createMultiCheXNet({ encoder: model.encoder, heads, gate, tasks });
}

/**
 * Replaces the `task` head of a trained MultiCheXNet and returns the new model. Every other block (encoder,
 * other heads, a binary-head gate) is the same object with the same variables: nothing is copied, re-initialised
 * or retrained, so their weights stay bit-identical. The new head must be built on the encoder's
 * `featureChannels` (checked). A `cls-path` gate follows {@link HeadChangeOptions.gate}.
 *
 * Ownership: the returned model and `model` share those blocks; keep using one of them. The replaced head is not
 * disposed (it still belongs to `model`); dispose it when `model` is no longer needed.
 *
 * @example
 * const covidHead = createClsHead({ classes: ['COVID-19'], featureChannels: model.encoder.featureChannels, seed: 1 });
 * const covidModel = swapHead(model, 'cls', covidHead, { gate: { classes: ['COVID-19'] } });
 * covidModel.forward(images).cls;   // [B, 1] logits; covidModel.heads.det === model.heads.det
 */
export function swapHead(
  model: MultiCheXNet,
  task: string,
  newHead: TaskHead,
  options: HeadChangeOptions = {},
): MultiCheXNet {
  if (model.heads[task] === undefined) {
    throw new DataError('The model has no head for this task to replace', {
      field: `heads.${task}`,
      expected: `a ${task} head (use addHead to add one)`,
      found: 'none',
    });
  }
  return recompose(model, specFor(model, task, newHead), newHead, options);
}

/**
 * Adds a head for a task the model does not have yet (e.g. a segmentation head on a cls + det model) and returns
 * the new model; every existing block is shared untouched, as in {@link swapHead}.
 *
 * @example
 * const withSeg = addHead(model, 'seg', createSegHead({ featureChannels: model.encoder.featureChannels, seed: 3 }));
 */
export function addHead(
  model: MultiCheXNet,
  task: string,
  head: TaskHead,
  options: HeadChangeOptions = {},
): MultiCheXNet {
  if (model.heads[task] !== undefined) {
    throw new DataError('The model already has a head for this task', {
      field: `heads.${task}`,
      expected: 'no head (use swapHead to replace it)',
      found: `a ${task} head`,
    });
  }
  return recompose(model, specFor(model, task, head, options.spec), head, options);
}
