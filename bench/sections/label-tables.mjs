// Label-table parsing speed of @multichexnet/data: parseNihIndex over the real 112,120-row
// Data_Entry_2017_v2020.csv (read and gunzipped once, outside the timing), against a reference measured in the same
// run on the same text: a bare `split('\n')` + `split(',')` of every line, the least any CSV reader must do. The
// ratio is the number to watch (the unit test in packages/data/test/nih.test.ts checks the parse is right, never how
// fast it is: a timed assertion fails on a loaded machine).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const name = 'label-tables';
export const description = 'parseNihIndex on the real 112,120-row NIH index: median ms, ratio to a bare split';
export const packages = ['core', 'data'];

const INDEX = 'Data_Entry_2017_v2020.csv.gz';

export async function run(ctx) {
  const file = join(ctx.repoRoot, '..', 'shared', 'realdata', INDEX);
  if (!existsSync(file)) return { skipped: `${file} is absent` };
  const data = await ctx.importPackage('data');
  const text = new TextDecoder().decode(gunzipSync(readFileSync(file)));
  const onBad = (err) => {
    throw err;
  };
  let rows = 0;
  const iterations = ctx.quick ? 3 : 9;
  const parse = await ctx.measure(
    () => {
      rows = data.parseNihIndex(text, INDEX, onBad).length;
    },
    { warmup: 1, iterations },
  );
  let cells = 0;
  const reference = await ctx.measure(
    () => {
      cells = 0;
      for (const line of text.split('\n')) cells += line.split(',').length;
    },
    { warmup: 1, iterations },
  );
  const [ours, bare] = [parse.medianMs, reference.medianMs].map((ms) => ms.toFixed(0));
  ctx.log(`parseNihIndex ${ours} ms for ${rows} rows; bare split ${bare} ms`);
  return {
    rows,
    parseNihIndex: { medianMs: parse.medianMs, p10Ms: parse.p10Ms, p90Ms: parse.p90Ms },
    reference: { what: "text.split('\\n') then line.split(',')", cells, medianMs: reference.medianMs },
    ratioToReference: parse.medianMs / reference.medianMs,
  };
}
