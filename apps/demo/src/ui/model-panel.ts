import type { ModelMetadata } from '@multichexnet/runtime';
import type { ModelProvenance } from '../engine/provenance';
import { el, formatMs, replaceChildren } from './dom';

/** What the model panel shows. */
export interface ModelInfo {
  /** `bundled` (the app's quickstart model) or `user` (a file the user opened). */
  origin: 'bundled' | 'user';
  name: string;
  kind: 'single' | 'gated';
  sizeBytes: number;
  checksum: string;
  metadata: ModelMetadata;
  loadMs: number;
  provenance: ModelProvenance | null;
}

function row(label: string, ...value: (Node | string)[]): HTMLElement {
  return el('div', { class: 'kv' }, el('dt', {}, label), el('dd', {}, ...value));
}

/** Model metadata: origin, classes, versions, preprocessing, gate, decoding and, when bundled, provenance. */
export function renderModelInfo(container: HTMLElement, info: ModelInfo): void {
  const m = info.metadata;
  const pre = m.preprocessing;
  const versions = Object.entries(m.versions)
    .map(([k, v]) => `${k.replace('@multichexnet/', '')} ${v}`)
    .join(' · ');
  const encoder = m.blocks.find((b) => b.className.startsWith('core-encoder/'));
  const preset = (encoder?.config as { preset?: string } | undefined)?.preset;
  const rows: HTMLElement[] = [
    row(
      'Model',
      el('span', { 'data-testid': 'model-name' }, info.name),
      ' ',
      el(
        'span',
        { class: `tag ${info.origin === 'bundled' ? 'tag-bundled' : 'tag-user'}` },
        info.origin === 'bundled' ? 'bundled' : 'your file',
      ),
    ),
    row(
      'Graph',
      info.kind === 'single'
        ? 'single graph (all heads every image)'
        : 'gated pair (stage 2 only after a positive gate)',
    ),
    row('Size', `${(info.sizeBytes / 1e6).toFixed(2)} MB · ready in ${formatMs(info.loadMs)}`),
    row(
      'Checksum',
      el('code', { title: info.checksum }, `sha256 ${info.checksum.slice(0, 16)}…`),
      ' ',
      el('span', { class: 'ok' }, 'verified'),
    ),
    row('Blocks', m.blocks.map((b) => b.className).join(', ') + (preset ? ` (${preset})` : '')),
  ];
  if (pre !== null) {
    const num = (v: number | number[]): string => (Array.isArray(v) ? `[${v.join(', ')}]` : String(v));
    const fit = pre.fit === 'crop' ? `centre crop ${pre.crop ?? 1}` : pre.fit;
    rows.push(
      row(
        'Preprocessing',
        `${pre.size} × ${pre.size} px · ${fit} · ${pre.interpolation} · ${pre.channels === 3 ? 'grey as RGB · ' : ''}(x − ${num(pre.mean)}) / ${num(pre.std)}`,
      ),
    );
  }
  if (m.gate !== null) {
    const t = Number(m.gate.threshold.toFixed(3));
    rows.push(
      row('Gate', m.gate.source === 'cls' ? `max p(${m.gate.classes.join(', ')}) ≥ ${t}` : `${m.gate.output} ≥ ${t}`),
    );
  }
  // The decision settings the built-in heads' decoders record (see their `/decode` entries).
  const decode = m.decode as {
    det?: { scoreThreshold: number; nmsIoU: number; maxDetections: number } | null;
    seg?: { threshold: number; minArea?: number } | null;
    cls?: { thresholds?: Record<string, number> } | null;
  };
  const dec = [
    decode.det
      ? `boxes: score ≥ ${decode.det.scoreThreshold}, NMS IoU ${decode.det.nmsIoU}, ≤ ${decode.det.maxDetections}`
      : null,
    decode.seg
      ? `mask: p > ${decode.seg.threshold}${decode.seg.minArea ? `, smallest mask kept ${decode.seg.minArea} px (model grid)` : ''}`
      : null,
    // Thresholds chosen on validation: the count tells the user which findings the model itself decides.
    decode.cls?.thresholds ? `findings: ${Object.keys(decode.cls.thresholds).length} per-class thresholds` : null,
  ].filter((s): s is string => s !== null);
  if (dec.length > 0) rows.push(row('Decoding', dec.join(' · ')));
  if (versions) rows.push(row('Versions', versions));
  const p = info.provenance;
  if (info.origin === 'bundled' && p !== null) {
    rows.push(
      row(
        'Trained by',
        el('code', {}, p.command || p.run),
        p.exportedAt ? ` · exported ${p.exportedAt.slice(0, 10)}` : '',
      ),
    );
    const metrics = Object.entries(p.metrics);
    if (metrics.length > 0) {
      rows.push(
        row(
          'Test metrics',
          el(
            'span',
            { class: 'metric-chips' },
            ...metrics.map(([k, v]) => el('span', { class: 'chip' }, `${k} `, el('b', {}, v.toFixed(3)))),
          ),
        ),
      );
    }
    if ((p.notes ?? []).length > 0)
      rows.push(row('Notes', el('ul', { class: 'notes' }, ...(p.notes ?? []).map((n) => el('li', {}, n)))));
  }
  replaceChildren(
    container,
    el('dl', { class: 'kv-list', 'data-testid': 'model-info' }, ...rows),
    el(
      'div',
      { class: 'chips', 'aria-label': 'classes' },
      ...m.classNames.map((c) => el('span', { class: 'chip' }, c.replace(/_/g, ' '))),
    ),
  );
}
