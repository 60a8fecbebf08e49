import { DataError, type AnyTaskSpec, type TaskSpec } from '@multichexnet/core';
import { clsTask } from '@multichexnet/head-cls';
import { detTask } from '@multichexnet/head-det';
import { segTask } from '@multichexnet/head-seg';

/**
 * The built-in task table, in block order: CheXCls, CheXDet, CheXSeg. A model, a plan, an export and the runtime
 * find a task's head, targets, loss, decoder, metrics and outputs here, by name.
 */
export const BUILTIN_TASKS: readonly AnyTaskSpec[] = Object.freeze([clsTask, detTask, segTask]);

/** The head type of a task spec. */
export type HeadOf<S> = S extends TaskSpec<infer H, infer _T, infer _P, infer _S, infer _M, infer _R> ? H : never;

/**
 * The built-in table followed by `extra` specs (a user's own tasks), each name once: a duplicate name is a DataError
 * (a task cannot mean two things in one model).
 *
 * @example
 * const table = taskTable([lungTask]);   // cls, det, seg, lung
 */
export function taskTable(extra: readonly AnyTaskSpec[] = []): readonly AnyTaskSpec[] {
  const out = [...BUILTIN_TASKS];
  for (const spec of extra) {
    if (spec === null || typeof spec !== 'object' || typeof spec.name !== 'string') {
      throw new DataError('Not a task spec', {
        field: 'tasks',
        expected: 'task specs (defineTaskSpec)',
        found: String(spec),
      });
    }
    if (out.some((s) => s.name === spec.name)) {
      if (out.includes(spec)) continue;
      throw new DataError('Two task specs share a name', {
        field: `tasks.${spec.name}`,
        expected: 'one spec per task name',
        found: `a second "${spec.name}" spec`,
      });
    }
    if (spec.name === 'encoder' || spec.name === 'gate') {
      throw new DataError('A task cannot take a block name the model reserves', {
        field: 'tasks',
        expected: 'a name other than encoder and gate',
        found: spec.name,
      });
    }
    out.push(spec);
  }
  return Object.freeze(out);
}

/** The spec of task `name` in `table`, or a DataError naming the tasks the table knows. */
export function specOf(table: readonly AnyTaskSpec[], name: string, field: string): AnyTaskSpec {
  const spec = table.find((s) => s.name === name);
  if (spec === undefined) {
    throw new DataError('No task spec for this task', {
      field,
      expected: `one of ${table.map((s) => s.name).join(', ')} (or pass its spec in "tasks")`,
      found: JSON.stringify(name),
    });
  }
  return spec;
}
