#!/usr/bin/env node
// Prints the Markdown tables of the root README ("Which sizes train in what time here") and of the core-encoder
// README (memory of the memory-efficient DenseNet) from a training-sizes bench JSON, so that every number there
// comes from the committed file:
//   node bench/tools/training-sizes-tables.mjs bench/results/training-sizes.json
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node bench/tools/training-sizes-tables.mjs <bench.json>\n');
  process.exit(2);
}
const section = JSON.parse(readFileSync(file, 'utf8')).sections['training-sizes'];
if (!section || section.error) {
  process.stderr.write(`${file}: no training-sizes section${section?.error ? ` (${section.error})` : ''}\n`);
  process.exit(1);
}
const mb = (v) => `${Math.round(v).toLocaleString('en-US')} MB`;
const f2 = (v) => v.toFixed(2);
const variant = (s) =>
  [s.memoryEfficient ? 'memory-efficient' : 'plain', s.accumulate > 1 ? `\`accumulate: ${s.accumulate}\`` : null]
    .filter(Boolean)
    .join(', ');
const batch = (s) => (s.accumulate > 1 ? `${s.batch} (${s.accumulate} x ${s.batch / s.accumulate})` : String(s.batch));
const load = (s) => {
  const a = s.load1.before.toFixed(1);
  const b = s.load1.after.toFixed(1);
  return a === b ? a : `${a}-${b}`;
};
const failure = (s) => String(s.error).split('\n')[0].replace(/:$/, '');

const out = [
  'Root README:',
  '',
  '| encoder | px | batch | wall s / step | CPU s / step | peak RSS | load |',
  '|---|---|---|---|---|---|---|',
];
for (const s of section.steps) {
  const enc = `\`${s.preset}\`${s.preset === 'densenet121' || s.memoryEfficient ? `, ${variant(s)}` : ''}`;
  if (s.error) out.push(`| ${enc} | ${s.size} | ${batch(s)} | fails: ${failure(s)} | - | - | ${load(s)} |`);
  else
    out.push(
      `| ${enc} | ${s.size} | ${batch(s)} | ${f2(s.secondsPerStep)} | ${f2(s.cpuSecondsPerStep)} | ${mb(s.peakRssMB)} | ${load(s)} |`,
    );
}
out.push(
  '',
  'core-encoder README:',
  '',
  '| encoder, batch x px | wasm heap | peak RSS | CPU s / step |',
  '|---|---|---|---|',
);
for (const s of section.steps) {
  if (s.size !== 256 || s.preset === 'densenet-tiny') continue;
  const name = `\`${s.preset}\`, ${s.batch} x ${s.size}, ${variant(s)}`;
  if (s.error) out.push(`| ${name} | fails: ${failure(s)} | - | - |`);
  else out.push(`| ${name} | ${mb(s.wasmHeapMB)} | ${mb(s.peakRssMB)} | ${f2(s.cpuSecondsPerStep)} |`);
}
const q = section.quickstart ?? {};
out.push('', 'Quickstart estimate:');
for (const size of ['tiny', 'small']) {
  const e = q[size];
  if (!e || e.error) out.push(`- ${size}: ${e?.error ?? q.error ?? 'not measured'}`);
  else
    out.push(
      `- ${size}: ${e.steps} steps, ${e.trainingCpuMinutes.toFixed(1)} CPU minutes, ${e.trainingMinutes.toFixed(1)} min wall`,
    );
}
process.stdout.write(`${out.join('\n')}\n`);
