#!/usr/bin/env node
// Prints the Markdown tables of the core README's "Measured" section from a bench JSON (sections densenet121,
// stock-layers, encoder-presets), so that every number there comes from the committed file:
//   node bench/tools/results-tables.mjs bench/results/issue-22.json
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node bench/tools/results-tables.mjs <bench.json>\n');
  process.exit(2);
}
const doc = JSON.parse(readFileSync(file, 'utf8'));
const S = doc.sections;
const ms = (v) => (typeof v === 'number' ? `${Math.round(v).toLocaleString('en-US')} ms` : '-');
const x = (v, d = 2) => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(d)}x` : '-');
const n1 = (v, d = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '-');
const out = [];
const load = (v) => (Array.isArray(v) ? v.map((l) => n1(l)).join(' / ') : n1(v));

const dn = S.densenet121;
if (dn && !dn.error) {
  out.push(
    `DenseNet-121 + pool + dense 14 + BCE, Adam, one step (${file}, section densenet121; ${dn.backend.threads} threads, relaxed SIMD ${dn.backend.relaxedSimd ? 'on' : 'off'}):`,
    '',
  );
  out.push(
    '| batch x size | before (main) | ours | PyTorch | ratio | ratio before | 1 thread CPU: ours / PyTorch / ratio | ours GFLOP/s | load 1 min |',
  );
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const s of dn.steps) {
    const before = s.before
      ? s.before.medianMs !== undefined
        ? ms(s.before.medianMs)
        : `fails: ${String(s.before.error).slice(0, 60)}`
      : '-';
    const ours =
      s.ours.medianMs !== undefined ? ms(s.ours.medianMs) : `WasmHeapError: batch <= ${s.ours.fittingBatchSize}`;
    const one = s.oneThreadCpu
      ? `${ms(s.oneThreadCpu.oursMs)} / ${ms(s.oneThreadCpu.pytorchMs)} / ${x(s.oneThreadCpu.ratio)}`
      : '-';
    const ratio =
      s.medianRatio !== undefined
        ? `${x(s.ratio)} (median of ${1 + (s.alternating?.length ?? 0)}: ${x(s.medianRatio)})`
        : x(s.ratio);
    out.push(
      `| ${s.batch} x ${s.size} | ${before} | ${ours} | ${ms(s.pytorch.medianMs)} | ${ratio} | ${x(s.ratioBefore)} | ${one} | ${n1(s.ours.gflops)} | ${n1(s.ours.loadBefore)} |`,
    );
  }
  const g = dn.gemmPeak;
  out.push('', `GEMM peak, tf.matMul ${g.n}^3 (tfjs stock at 1024^3), GFLOP/s:`, '');
  out.push('| | ours, relaxed SIMD | ours, SIMD128 | tfjs-backend-wasm stock | PyTorch |', '|---|---|---|---|---|');
  out.push(
    `| 1 thread, CPU time | ${n1(g.oursOneThread.cpuGflops)} | ${n1(g.oursSimd128OneThread.cpuGflops)} | ${n1(g.tfjsStockOneThread.cpuGflops)} | ${n1(g.pytorchOneThread?.cpuGflops)} |`,
  );
  out.push(
    `| ${g.ours.threads} threads, wall | ${n1(g.ours.wallGflops)} | - | ${n1(g.tfjsStock.wallGflops)} | ${n1(g.pytorch?.wallGflops)} |`,
  );
  const p = dn.profile;
  if (p && !p.error) {
    out.push(
      '',
      `Profile of one ${p.batch} x ${p.size} step, 1 thread, CPU time: ${ms(p.stepMs)} (kernels ${ms(p.kernelMs)}, JS and engine ${ms(p.otherMs)}); one thread copies ${n1(p.copyGBps)} GB/s:`,
      '',
    );
    out.push('| kernel | ms | calls | share | GB/s (inputs + outputs) |', '|---|---|---|---|---|');
    for (const k of p.kernels.slice(0, 10))
      out.push(
        `| ${k.kernel} | ${Math.round(k.ms)} | ${k.calls} | ${(100 * k.share).toFixed(1)}% | ${n1(k.gbPerS, 2)} |`,
      );
  }
}

const st = S['stock-layers'];
if (st && !st.error) {
  out.push(
    '',
    `Nets written with stock tfjs layers (${file}, section stock-layers; batch 16 probe net, batch 8 seg net, 2 threads each side):`,
    '',
  );
  out.push(
    '| net | before | ours | PyTorch | ratio (goal) | ratio before | 1 thread CPU ratio | load 1 min |',
    '|---|---|---|---|---|---|---|---|',
  );
  const row = (name, e) =>
    out.push(
      `| ${name} | ${ms(e.before?.medianMs)} | ${ms(e.ours.medianMs)} | ${ms(e.pytorch?.medianMs)} | ${x(e.ratio)} (<= ${e.goal?.ratio}) | ${x(e.ratioBefore, 1)} | ${x(e.oneThreadCpu?.ratio)} | ${load(e.ours.loadAvg1m)} |`,
    );
  row('probe net, 128 px', st.probeNet['128']);
  row('probe net, 256 px', st.probeNet['256']);
  row('DenseNet + seg decoder, 256 px', st.segNet);
}

const ep = S['encoder-presets'];
if (ep && !ep.error) {
  out.push(
    '',
    `Training step time per CheXEnc preset (+ pool + dense 14, Adam; ${file}, section encoder-presets):`,
    '',
  );
  const sizes = [...new Set(ep.rows.map((r) => r.size))];
  out.push(
    `| backend | preset | batch | ${sizes.map((s) => `${s} px`).join(' | ')} |`,
    `|---|---|---|${sizes.map(() => '---').join('|')}|`,
  );
  const keys = [...new Set(ep.rows.map((r) => `${r.backend}|${r.preset}|${r.batch}`))];
  for (const k of keys) {
    const [backend, preset, batch] = k.split('|');
    const cells = sizes.map((s) => {
      const r = ep.rows.find((q) => `${q.backend}|${q.preset}|${q.batch}` === k && q.size === s);
      return r?.medianMs !== undefined
        ? `${ms(r.medianMs)} (${n1(r.imagesPerSecond)} img/s, load ${n1(r.loadBefore)})`
        : (r?.error ?? '-');
    });
    out.push(
      `| ${backend} (${ep.rows.find((q) => q.backend === backend)?.threads} threads) | ${preset} | ${batch} | ${cells.join(' | ')} |`,
    );
  }
  if (!ep.nativeBackend.available)
    out.push(`| tensorflow (@tensorflow/tfjs-node) | all | - | ${sizes.map(() => 'not installed here').join(' | ')} |`);
}
process.stdout.write(`${out.join('\n')}\n`);
