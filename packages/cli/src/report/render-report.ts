import type { TopLevelSpec } from 'vega-lite';
import {
  aurocBarsSpec,
  diceHistogramSpec,
  gateRocSpec,
  lossCurvesSpec,
  prCurveSpec,
  rocPanelsSpec,
  validationCurvesSpec,
} from './charts';
import { renderChartSvg } from './render-chart';
import { clsTask } from '@multichexnet/head-cls';
import { BUILTIN_TASKS } from '@multichexnet/model';
import { taskMetrics } from '@multichexnet/trainer';
import { probabilitySection } from './probability-section';
import type { GalleryItem, ReportData, ResultTable, TestEvaluation } from './report-data';
import { settingsWords, taskHeadlines } from './task-headlines';

const esc = (s: unknown): string =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: unknown, d = 3): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const bytes = (n: number): string =>
  n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(0)} KiB` : `${n} B`;

async function chart(spec: TopLevelSpec | null, caption = ''): Promise<string> {
  if (spec === null) return '';
  return `<figure class="chart-box">${await renderChartSvg(spec)}${caption ? `<figcaption>${caption}</figcaption>` : ''}</figure>`;
}

function card(label: string, value: string, note: string): string {
  return `<div class="card"><div class="card-label">${esc(label)}</div><div class="card-value">${esc(value)}</div><div class="card-note">${esc(note)}</div></div>`;
}

function headline(test: TestEvaluation | null, validation: Record<string, unknown> | null): string {
  const m = test?.metrics ?? (validation?.validation as TestEvaluation['metrics'] | undefined) ?? {};
  const split = test !== null ? `${test.split} split` : 'validation split';
  const cards: string[] = [];
  for (const h of taskHeadlines(m)) cards.push(card(h.label, num(h.value), h.detail));
  if (m.gate)
    cards.push(
      card(
        'Gate sensitivity / specificity',
        `${num(m.gate.sensitivity, 2)} / ${num(m.gate.specificity, 2)}`,
        `threshold ${num(m.gate.threshold)}, AUROC ${num(m.gate.auroc)}`,
      ),
    );
  if (cards.length === 0)
    return '<p class="muted">No evaluation yet: run <code>multichexnet eval</code> on this run folder.</p>';
  const semantics = BUILTIN_TASKS.some((s) => s.routed && m[s.name] !== undefined)
    ? `, gated pipeline semantics (${esc(test?.gating ?? 'gate')}): det and seg predict only for images the gate passes`
    : '';
  return `<div class="cards">${cards.join('')}</div><p class="muted">Metrics on the ${esc(split)}${semantics}.</p>${calibrationLine(test)}${dataLine(test?.data ?? (validation?.data as TestEvaluation['data']))}`;
}

/** The decision settings behind the headline cards: chosen on the validation split, as Table 1 chooses them. */
function calibrationLine(test: TestEvaluation | null): string {
  if (test === null || test.calibration === undefined) return '';
  const c = test.calibration;
  if (c === null)
    return '<p class="muted" id="calibration">Decision settings: defaults (F1 threshold 0.5, the det head\'s box score threshold, no minimum mask area): the run has no validation images to choose them on.</p>';
  const parts = settingsWords(c.tasks).map(esc);
  const thresholds = (c.tasks[clsTask.name] as { thresholds?: Record<string, number> } | undefined)?.thresholds;
  if (thresholds !== undefined)
    parts.push(
      `per class: ${Object.entries(thresholds)
        .map(([k, v]) => `${esc(k)} ${num(v, 2)}`)
        .join(', ')}`,
    );
  const same =
    test.split === 'val'
      ? ' The split evaluated here is the one they were chosen on, so these numbers are optimistic.'
      : '';
  return `<p class="muted" id="calibration">Decision settings chosen on the validation split (gating ${esc(c.gating)}) and applied unchanged here, as in Table 1; the exported model decodes with the same ones: ${parts.join('; ') || 'none'}.${same}</p>`;
}

/** What the data lost: bad label rows and images skipped under --on-bad-sample skip (the metrics cover the rest). */
function dataLine(data: TestEvaluation['data']): string {
  if (data === undefined) return '';
  if (data.totalSkipped === 0)
    return `<p class="muted" id="skipped-samples">Skipped samples: 0 (bad-sample policy: ${esc(data.onBadSample)}).</p>`;
  const per = Object.entries(data.skipped)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([s, n]) => `${esc(s)} ${n}`)
    .join(', ');
  return `<p id="skipped-samples"><span class="flag">Skipped samples: ${data.totalSkipped}</span> ${per}: bad label rows or images left out under the bad-sample policy <code>${esc(data.onBadSample)}</code>; the metrics cover the rest. Their files are named in the training log.</p>`;
}

function table(t: ResultTable): string {
  const best = new Map<number, number>();
  const reference = new Set(t.referenceRows ?? []);
  for (const c of t.highlight ?? []) {
    const vals = t.rows
      .filter((_, i) => !reference.has(i))
      .map((r) => r[c])
      .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    // Nothing is best when every value is the same.
    if (vals.length > 1 && Math.max(...vals) > Math.min(...vals)) best.set(c, Math.max(...vals));
  }
  const rowBest = (row: number, c: number): boolean => {
    const group = (t.highlightAcross ?? []).find((g) => g.includes(c));
    if (group === undefined) return false;
    const vals = group
      .map((k) => t.rows[row]![k])
      .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    return vals.length > 1 && Math.max(...vals) > Math.min(...vals) && t.rows[row]![c] === Math.max(...vals);
  };
  const cell = (v: string | number | null, c: number, row: number): string => {
    if (v === null) return '<td class="num muted">-</td>';
    if (typeof v === 'number')
      return `<td class="num${!reference.has(row) && (best.get(c) === v || rowBest(row, c)) ? ' best' : ''}">${num(v, t.decimals?.[c] ?? 3)}</td>`;
    return `<td>${esc(v)}</td>`;
  };
  return `<div class="table-wrap"><table><caption><b>${esc(t.title)}.</b> ${esc(t.caption)}</caption><thead><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${t.rows
    .map((r, i) => `<tr${reference.has(i) ? ' class="ref"' : ''}>${r.map((v, c) => cell(v, c, i)).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}

function galleryItem(item: GalleryItem, images: Record<string, string>): string {
  const S = item.size;
  const img = images[item.image];
  const layer = item.maskLayer !== null ? images[item.maskLayer] : undefined;
  const cam = item.cam !== undefined ? images[item.cam.layer] : undefined;
  const rects = item.boxes
    .map(
      (b) =>
        `<rect class="bx ${b.status}" x="${b.x.toFixed(1)}" y="${b.y.toFixed(1)}" width="${b.width.toFixed(1)}" height="${b.height.toFixed(1)}"/>${b.score !== undefined ? `<text class="bx-label ${b.status}" x="${(b.x + 2).toFixed(1)}" y="${Math.max(9, b.y - 2).toFixed(1)}">${b.score.toFixed(2)}</text>` : ''}`,
    )
    .join('');
  const g = item.gate;
  const gateText = `gate ${g.probability.toFixed(2)} ${g.positive ? 'positive' : 'negative'}${g.truth === null ? '' : g.truth === g.positive ? ' ✓' : g.truth ? ' ✗ missed' : ' ✗ false alarm'}`;
  const gateClass = g.truth === null ? 'neutral' : g.truth === g.positive ? 'ok' : 'bad';
  const flags = item.flags.map((f) => `<span class="flag">${esc(f)}</span>`).join('');
  return `<figure class="xr">
<div class="frame">${img ? `<img alt="${esc(item.id)}" src="data:image/png;base64,${img}">` : ''}${layer ? `<img class="layer" alt="" src="data:image/png;base64,${layer}">` : ''}${cam ? `<img class="cam" alt="heatmap ${esc(item.cam!.class)}" src="data:image/png;base64,${cam}">` : ''}<svg viewBox="0 0 ${S} ${S}" preserveAspectRatio="none">${rects}</svg><span class="gate ${gateClass}">${esc(gateText)}</span></div>
<figcaption><div class="xr-id">${esc(item.source.toUpperCase())} · ${esc(item.id)}</div>${flags ? `<div>${flags}</div>` : ''}
<div class="probs">${item.top.map((t) => `<span class="${item.truthLabels.includes(t.class) ? 'true-label' : ''}">${esc(t.class)} ${t.probability.toFixed(2)}</span>`).join(' · ')}</div>
<div class="truth">truth: ${item.truthLabels.length > 0 ? esc(item.truthLabels.join(', ')) : 'no finding'}${item.dice !== null ? ` · Dice ${item.dice.toFixed(2)}` : ''}</div>${item.cam !== undefined ? `<div class="muted">heatmap: ${esc(item.cam.class)}</div>` : ''}</figcaption></figure>`;
}

const CSS = `
:root{--ink:#1f2933;--muted:#616e7c;--line:#d0d7de;--bg:#f6f8fa;--accent:#2563eb}
*{box-sizing:border-box}body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#0f172a;color:#e2e8f0;padding:22px 36px}header h1{margin:0 0 4px;font-size:22px;font-weight:650;color:#fff}header .sub{color:#94a3b8;font-size:13px}
nav{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid var(--line);padding:8px 36px;display:flex;gap:18px;flex-wrap:wrap;font-size:13px}nav a{color:var(--accent);text-decoration:none}
main{max-width:1320px;margin:0 auto;padding:12px 36px 48px}section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:18px 22px;margin:18px 0}
h2{margin:0 0 10px;font-size:17px}h3{font-size:14px;margin:16px 0 6px}.muted{color:var(--muted)}code{background:#eef1f4;padding:1px 5px;border-radius:4px;font-size:12.5px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:12px;margin:6px 0 8px}.card{border:1px solid var(--line);border-radius:8px;padding:12px 14px;background:#fbfcfd}
.card-label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}.card-value{font-size:28px;font-weight:650;font-variant-numeric:tabular-nums}.card-note{font-size:12px;color:var(--muted)}
.charts{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}.chart-box{margin:0;max-width:100%}.chart-box figcaption{font-size:12px;color:var(--muted);max-width:560px}svg.chart{display:block}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:14px}.xr{margin:0;border:1px solid var(--line);border-radius:8px;overflow:hidden;background:#fff}
.frame{position:relative;aspect-ratio:1/1;background:#000}.frame img,.frame svg{position:absolute;inset:0;width:100%;height:100%}.frame img{image-rendering:auto}
.bx{fill:none;stroke-width:1.6;vector-effect:non-scaling-stroke}.bx.tp{stroke:#22c55e}.bx.fp{stroke:#f97316;stroke-dasharray:5 3}.bx.pred{stroke:#facc15}.bx.hit{stroke:#38bdf8;stroke-width:1}.bx.miss{stroke:#e11d48;stroke-dasharray:2 2;stroke-width:2}
.bx-label{font:9px system-ui,sans-serif;paint-order:stroke;stroke:#000;stroke-width:2px}.bx-label.tp{fill:#22c55e}.bx-label.fp{fill:#f97316}.bx-label.pred{fill:#facc15}
.gate{position:absolute;left:6px;top:6px;font-size:11px;padding:1px 7px;border-radius:10px;background:rgba(15,23,42,.8);color:#e2e8f0}.gate.ok{box-shadow:inset 0 0 0 1px #22c55e}.gate.bad{background:#be123c;color:#fff}
figcaption{padding:8px 10px;font-size:12px}.xr-id{font-weight:600;font-size:11.5px;color:var(--muted);word-break:break-all}.probs{margin-top:3px}.true-label{font-weight:650;color:#15803d}.truth{color:var(--muted)}
.frame img.cam{opacity:.55}#cam-toggle:not(:checked)~.gallery img.cam{display:none}
.flag{display:inline-block;margin:3px 4px 0 0;padding:0 6px;border-radius:9px;background:#fee2e2;color:#991b1b;font-size:11px}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;margin:4px 0 12px;color:var(--muted)}.sw{display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:-1px;border-radius:2px}
.table-wrap{overflow-x:auto}table{border-collapse:collapse;margin:8px 0 18px;font-size:13px;min-width:520px}caption{text-align:left;padding:0 0 6px;color:var(--ink);max-width:980px}
th,td{border-bottom:1px solid var(--line);padding:5px 12px;text-align:left}th{background:#f1f4f7;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}td.best{font-weight:700;color:#15803d}tr.ref td{color:var(--muted);font-style:italic}
pre{background:#0f172a;color:#e2e8f0;padding:14px;border-radius:6px;overflow:auto;max-height:520px;font-size:12px}details summary{cursor:pointer;color:var(--accent)}
.files td:last-child{text-align:right}footer{color:var(--muted);font-size:12px;text-align:center;padding:10px}
`;

/**
 * The run's report as one self-contained HTML page: headline metrics, training curves per loss and phase,
 * ROC per class, detection precision-recall, Dice histogram, gate ROC, a gallery of predictions over the films
 * (boxes, masks, gate decision; false positives and misses marked), paper-style tables and the run's config.
 * Charts are Vega-Lite rendered to inline SVG and images are base64 PNGs: nothing is fetched when it opens.
 *
 * @example
 * const html = await renderReport(await loadReportData('runs/quickstart'));
 */
export async function renderReport(d: ReportData): Promise<string> {
  const plan = (d.plan ??
    (d.transfer !== null
      ? {
          name: 'fine-tuning',
          description: `Transfer to ${((d.transfer.config as { classes?: string[] } | undefined)?.classes ?? []).join(', ')}`,
          imageSize: d.transfer.imageSize,
        }
      : null)) as {
    name?: string;
    description?: string;
    imageSize?: number;
    seed?: number;
    phases?: { name: string; steps: number; description?: string }[];
  } | null;
  const t = d.test;
  const sections: { id: string; title: string; html: string }[] = [];
  // An experiment folder holds tables (and the variants' own run folders), not a run of its own.
  const isRun = d.plan !== null || d.transfer !== null || t !== null || d.validation !== null || d.metrics.length > 0;
  if (isRun) {
    sections.push({ id: 'summary', title: 'Summary', html: headline(t, d.validation) + phasesTable(plan) });
    const training =
      (await chart(
        lossCurvesSpec(d.metrics),
        'Task losses logged during training (masked BCE for cls, box + objectness for det, BCE + Dice for seg), by phase of the plan.',
      )) + (await chart(validationCurvesSpec(d.metrics), 'Validation scores the trainer computed during each phase.'));
    sections.push({
      id: 'training',
      title: 'Training',
      html: training ? `<div class="charts">${training}</div>` : '<p class="muted">No metrics.jsonl in this run.</p>',
    });
  }
  if (t?.curves.roc) {
    const rocs = t.curves.roc;
    const missing = rocs.filter((r) => !Number.isFinite(r.auroc)).map((r) => r.name);
    sections.push({
      id: 'cls',
      title: 'Classification (CheXCls)',
      html: `<div class="charts">${await chart(aurocBarsSpec(rocs, taskMetrics(t, clsTask)?.meanAuroc ?? Number.NaN))}${await chart(rocPanelsSpec(rocs))}</div>${missing.length > 0 ? `<p class="muted">No ROC for ${esc(missing.join(', '))}: the test split lacks positives or negatives of these classes.</p>` : ''}`,
    });
  }
  const noBoxes =
    t?.curves.pr !== undefined && t.curves.pr.points.length === 0
      ? `<p class="muted">CheXDet predicted no box at or above its score threshold on the ${t.curves.pr.truthCount} truth boxes of the test split (RSNA mAP ${num(t.metrics.det?.mAP)}): no precision-recall curve.</p>`
      : '';
  const detSeg = [
    t?.curves.pr
      ? await chart(
          prCurveSpec(t.curves.pr),
          `RSNA mAP (IoU 0.4-0.75) ${num(t.metrics.det?.mAP)}; boxes at or above the deployed score threshold.`,
        )
      : '',
    t?.curves.dice
      ? await chart(
          diceHistogramSpec(t.curves.dice),
          `SIIM mean Dice ${num(t.metrics.seg?.dice)} (an empty prediction on an empty truth scores 1).`,
        )
      : '',
    t?.curves.gateRoc
      ? await chart(
          gateRocSpec(t.curves.gateRoc),
          "The first-stage gate keeps negatives away from CheXDet and CheXSeg; its threshold was chosen on validation data for the plan's sensitivity.",
        )
      : '',
  ].join('');
  if (detSeg || noBoxes)
    sections.push({
      id: 'detseg',
      title: 'Detection, segmentation and gate',
      html: `${noBoxes}<div class="charts">${detSeg}</div>`,
    });
  // calibration (ECE, reliability diagrams) and OOD refusal: report/probability-section.ts
  const probability = await probabilitySection(d.temperature ?? null, d.ood ?? null, chart);
  if (probability)
    sections.push({ id: 'calibration', title: 'Calibration and out-of-distribution refusal', html: probability });
  if (d.gallery !== null && d.gallery.items.length > 0) {
    sections.push({
      id: 'gallery',
      title: 'Prediction gallery',
      html: `<p class="muted">Test images through the exported ONNX pipeline (${esc(d.gallery.model)}), boxes and masks mapped back to the film.</p><div class="legend"><span><i class="sw" style="background:#22c55e"></i>box / mask pixels: correct</span><span><i class="sw" style="background:#f97316"></i>false-positive box</span><span><i class="sw" style="background:#e11d48"></i>missed truth box</span><span><i class="sw" style="background:#38bdf8"></i>truth box found</span><span><i class="sw" style="background:#ef4444;opacity:.6"></i>false-positive mask pixels</span><span><i class="sw" style="background:#3b82f6;opacity:.6"></i>missed mask pixels</span><span><b>✗</b> gate decision differs from the truth</span></div>${d.gallery.items.some((i) => i.cam !== undefined) ? '<input type="checkbox" id="cam-toggle" checked><label for="cam-toggle"> class activation map of the most probable finding (blue to red: no to most evidence)</label>' : ''}<div class="gallery">${d.gallery.items.map((i) => galleryItem(i, d.galleryImages)).join('')}</div>`,
    });
  }
  if (d.transfer !== null)
    sections.push({ id: 'transfer', title: 'Transfer (fine-tuning)', html: transferSection(d.transfer) });
  if (d.tables.length > 0)
    sections.push({ id: 'tables', title: 'Experiments (paper tables)', html: d.tables.map(table).join('') });
  sections.push({
    id: 'config',
    title: 'Configuration and files',
    html: `${d.files.length > 0 ? `<table class="files"><thead><tr><th>file</th><th>size</th></tr></thead><tbody>${d.files.map((f) => `<tr><td><code>${esc(f.name)}</code></td><td>${bytes(f.bytes)}</td></tr>`).join('')}</tbody></table>` : ''}${d.plan !== null ? `<details><summary>Resolved training plan (plan.json)</summary><pre>${esc(JSON.stringify(d.plan, null, 2))}</pre></details>` : ''}`,
  });
  const title = isRun ? `MultiCheXNet run ${d.runName}` : `MultiCheXNet experiments ${d.runName}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title><style>${CSS}</style></head>
<body><header><h1>${esc(title)}</h1><div class="sub">${esc(plan?.description ?? '')}${plan?.name ? ` · plan <b>${esc(plan.name)}</b>` : ''}${plan?.imageSize ? ` · ${plan.imageSize} px` : ''}${plan?.seed !== undefined ? ` · seed ${plan.seed}` : ''}</div></header>
<nav>${sections.map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join('')}</nav>
<main>${sections.map((s) => `<section id="${s.id}"><h2>${esc(s.title)}</h2>${s.html}</section>`).join('\n')}</main>
<footer>${esc(d.generatedBy)} · ${esc(d.runDir)}</footer></body></html>
`;
}

/** A fine-tuning run: what was transferred, how it learned, and the per-class metrics on validation and test. */
function transferSection(t: Record<string, unknown>): string {
  const cfg = (t.config ?? {}) as Record<string, unknown>;
  const imb = (t.imbalance ?? {}) as { mode?: string; trainSamples?: number; trainPositives?: Record<string, number> };
  const count = (v: unknown): string => (Array.isArray(v) ? String(v.length) : v === undefined ? '?' : String(v));
  const tr = (t.trainable ?? {}) as { trainable?: unknown; transferred?: unknown; fresh?: unknown };
  const facts: [string, string][] = [
    ['source model', String(t.from ?? '(in memory)')],
    ['new classes', ((cfg.classes ?? []) as string[]).join(', ')],
    [
      'what learns',
      `${String(cfg.freeze)}: ${count(tr.trainable)} variables (${count(tr.transferred)} transferred at lr x ${String(cfg.lrMultiplier)}, ${count(tr.fresh)} new)`,
    ],
    [
      'training',
      `${String(cfg.steps)} steps, batch ${String(cfg.batchSize)}, ${String(imb.trainSamples ?? '?')} images, imbalance: ${String(imb.mode)} (positives ${Object.entries(
        imb.trainPositives ?? {},
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    ],
    [
      'gate threshold',
      t.gateThreshold === null || t.gateThreshold === undefined ? 'no cls-path gate' : num(t.gateThreshold),
    ],
  ];
  const report = (name: string, r: unknown): string => {
    const rep = r as {
      perClass?: Record<
        string,
        {
          auroc: number;
          f1: number;
          f1Threshold: number;
          sensitivity: number;
          specificity: number;
          positives: number;
          negatives: number;
        }
      >;
      specificityTarget?: number;
      images?: number;
    } | null;
    if (!rep?.perClass) return '';
    return `<h3>${esc(name)} (${String(rep.images ?? '?')} images)</h3><table><thead><tr><th>class</th><th>AUROC</th><th>F1</th><th>F1 threshold</th><th>sensitivity @ spec ≥ ${esc(rep.specificityTarget ?? '')}</th><th>positives / negatives</th></tr></thead><tbody>${Object.entries(
      rep.perClass,
    )
      .map(
        ([c, m]) =>
          `<tr><td>${esc(c)}</td><td class="num">${num(m.auroc)}</td><td class="num">${num(m.f1)}</td><td class="num">${num(m.f1Threshold)}</td><td class="num">${num(m.sensitivity)}</td><td class="num">${m.positives} / ${m.negatives}</td></tr>`,
      )
      .join('')}</tbody></table>`;
  };
  return `<table><tbody>${facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>${report('Test split', t.test)}${report('Validation split', t.validation)}`;
}

function phasesTable(plan: { phases?: { name: string; steps: number; description?: string }[] } | null): string {
  if (!plan?.phases?.length) return '';
  return `<h3>Plan</h3><table><thead><tr><th>#</th><th>phase</th><th>steps</th><th>what it trains</th></tr></thead><tbody>${plan.phases
    .map(
      (p, i) =>
        `<tr><td>${i + 1}</td><td><code>${esc(p.name)}</code></td><td class="num">${p.steps}</td><td>${esc(p.description ?? '')}</td></tr>`,
    )
    .join('')}</tbody></table>`;
}
