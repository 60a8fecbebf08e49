import type { CommandContext } from '../context';
import { routeLibraryLogs } from './prepare';
import { exportRunModel } from '../run/export-model';
import { openRun } from '../run/run-folder';

/** Options of `multichexnet export`. */
export interface ExportOptions {
  out?: string;
}

/** The `export` verb. */
export async function exportAction(ctx: CommandContext, run: string, o: ExportOptions): Promise<void> {
  routeLibraryLogs(ctx);
  const runDir = ctx.path(run);
  const { plan, model } = await openRun(runDir);
  try {
    const files = await exportRunModel(model, plan, o.out !== undefined ? ctx.path(o.out) : runDir, ctx.reporter);
    ctx.emit(files, [`model.onnx: ${files.model} (${(files.bytes / 1024).toFixed(0)} KiB, sha256 ${files.checksum.slice(0, 16)}...)`, `pipeline: ${files.stage1}${files.stage2 ? ` + ${files.stage2}` : ''}`]);
  } finally {
    model.dispose();
  }
}
