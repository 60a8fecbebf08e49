import type { CommandContext } from '../context';
import { routeLibraryLogs } from './prepare';
import { writeReport } from '../report/load-run';

/** The `report` verb. */
export async function reportAction(ctx: CommandContext, run: string): Promise<void> {
  routeLibraryLogs(ctx);
  const r = await writeReport(ctx.path(run));
  ctx.emit({ report: r.path, bytes: r.bytes }, `report written to ${r.path} (${(r.bytes / 1024).toFixed(0)} KiB)`);
}
